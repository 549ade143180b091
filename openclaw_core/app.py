"""The composition root: the one module that knows every layer.

It builds the plugin manager (the core's own hook implementations, then
every entry point of the ``openclaw`` group), wraps it in
:class:`~openclaw_core.contract.hooks.Hooks` and hands that to whoever
starts work: the console entry point (:func:`main`), the public Python API
(``openclaw_core.load_session_store`` and friends, bound here) and the
pytest plugin. Nothing below asks for a manager; each is given one.

Kept cheap to import: the cached ``openclaw --help`` runs from here without
click or pluggy.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks
    from openclaw_core.contract.manager import OpenClawPluginManager

_hooks: Hooks | None = None
_lock = threading.Lock()


def new_plugin_manager(*, load_entrypoints: bool = True, disabled: Iterable[str] | None = None) -> OpenClawPluginManager:
    """A fresh manager: the core's own plugin, then the entry points."""
    from openclaw_core.adapters import core_plugin
    from openclaw_core.contract import manager

    pm = manager.OpenClawPluginManager()
    # The core's version comes with its built-in entry points' scan (no second search).
    pm.register_plugin(core_plugin, manager.CORE_PLUGIN_NAME, distribution=manager.CORE_DISTRIBUTION, builtin=True)
    if load_entrypoints:
        pm.load_entrypoints(manager.disabled_from_env() if disabled is None else disabled)
    core = pm.infos.get(manager.CORE_PLUGIN_NAME)  # absent if it failed to register
    if core is not None and core.version is None:
        core.version = manager.core_version()
    return pm


def new_hooks(pm: OpenClawPluginManager | None = None, **options: Any) -> Hooks:
    """:class:`Hooks` on ``pm``, or on a fresh manager (``options``: :func:`new_plugin_manager`'s)."""
    from openclaw_core.contract.hooks import Hooks

    return Hooks(pm if pm is not None else new_plugin_manager(**options))


def hooks() -> Hooks:
    """The process's hooks, built on first use."""
    global _hooks
    if _hooks is None:
        with _lock:
            if _hooks is None:
                _hooks = new_hooks()
                _startup_done()
    return _hooks


def _startup_done() -> None:
    # The process has its plugins: the rest is the command's own work.
    quick_exit = sys.modules.get("openclaw_core.base.quick_exit")
    if quick_exit is not None:
        quick_exit.startup_done()


def set_hooks(value: Hooks | None) -> Hooks | None:
    """Swap the process's hooks (tests, embedding); returns the previous ones."""
    global _hooks
    with _lock:
        previous, _hooks = _hooks, value
    return previous


def get_plugin_manager() -> OpenClawPluginManager:
    """The manager under :func:`hooks` (``openclaw plugins``-style inspection, tests)."""
    return hooks().pm


def set_plugin_manager(pm: OpenClawPluginManager | None) -> OpenClawPluginManager | None:
    """Swap the process's manager; returns the previous one (None if none was built)."""
    previous = set_hooks(new_hooks(pm) if pm is not None else None)
    return previous.pm if previous is not None else None


def current_config() -> Config:
    """The config of the process environment, checked against the plugins' sections (cached)."""
    from openclaw_core.config.model import current_config as load

    return load(sections=hooks())


def load_config(env: Mapping[str, str] | None = None, *, validate: bool = True) -> Config:
    """The config for ``env`` (default: the process environment), checked against the plugins' sections."""
    from openclaw_core.config.model import load_config as load

    return load(env, validate=validate, sections=hooks())


def _api() -> Any:
    from openclaw_core.adapters.api import StoreAPI

    return StoreAPI(hooks, current_config)


def __getattr__(name: str) -> Any:
    # The public store API (re-exported by openclaw_core), bound to this process's hooks.
    if name in {"load_session_store", "load_session_entry", "update_session_store", "update_session_store_entry"}:
        value = getattr(_api(), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'openclaw_core.app' has no attribute {name!r}")


def run_cli(argv: Sequence[str] | None = None) -> int:
    """The command line on this process's hooks (no help cache)."""
    from openclaw_core.adapters.cli import main as cli_main

    return cli_main(argv, hooks=hooks)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line in this process: the cached ``--help`` when it is still
    true, else the CLI (:func:`run` is the console script)."""
    try:
        from openclaw_core.adapters import helpcache

        return helpcache.main(argv, run_cli=run_cli)
    except KeyboardInterrupt:  # still importing: the CLI's own handling is not in place yet
        from openclaw_core.base.cancel import EXIT_CANCELLED, INTERRUPTED_MESSAGE

        sys.stderr.write(INTERRUPTED_MESSAGE + "\n")
        return EXIT_CANCELLED


def run() -> None:
    """The console script: :func:`main` as a one-shot process (:mod:`openclaw_core.base.quick_exit`)."""
    from openclaw_core.base import quick_exit

    quick_exit.begin()
    code = main()
    quick_exit.quick_exit(code)
    sys.exit(code)


if __name__ == "__main__":
    os.environ.setdefault("OPENCLAW_NO_HELP_CACHE", "")
    run()
