"""Adapters: the command line (:mod:`.cli`), the Gateway server and its
methods (:mod:`.gateway`), the public Python API (:mod:`.api`) and the demo.
Each asks the composition root (:mod:`openclaw_core.app`) for its Hooks once,
by being given them."""
