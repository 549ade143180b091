"""The plugin contract: the manager that loads plugins inside error
boundaries (:mod:`.manager`) and the typed :class:`.hooks.Hooks` every caller
is handed. The specs themselves are :mod:`openclaw_core.hookspecs`."""
