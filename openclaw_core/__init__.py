"""openclaw-core: the session stores of OpenClaw-style agents and their single writer.

Public API::

    from openclaw_core import load_session_store, update_session_store, update_session_store_entry
    from openclaw_core import hookimpl   # for plugins

Attributes are imported on first use so that ``import openclaw_core`` (and the
CLI's ``--help``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "hookimpl",
    "load_session_store",
    "merge_session_entry",
    "update_session_store",
    "update_session_store_entry",
]

# hookimpl too: importing it imports pluggy, which the cached `openclaw --help`
# (openclaw_core.adapters.helpcache) never needs.
_LAZY = {
    "hookimpl": "openclaw_core.hookspecs",
    # bound to the process's hooks by the composition root
    "load_session_store": "openclaw_core.app",
    "update_session_store": "openclaw_core.app",
    "update_session_store_entry": "openclaw_core.app",
    "merge_session_entry": "openclaw_core.adapters.api",
}

if TYPE_CHECKING:
    from openclaw_core.hookspecs import hookimpl
    from openclaw_core.adapters.api import (
        load_session_store,
        merge_session_entry,
        update_session_store,
        update_session_store_entry,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'openclaw_core' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
