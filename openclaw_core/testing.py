"""A pytest plugin for people who write openclaw plugins (loaded automatically
through the ``pytest11`` entry point when openclaw-core is installed).

Fixtures:

``openclaw_state_dir``
    an empty state dir in ``tmp_path``, with ``OPENCLAW_STATE_DIR`` pointing at it.
``register_openclaw_plugin``
    ``register_openclaw_plugin(plugin, name=None)`` registers a module or
    object with the process-wide plugin manager for the duration of the test
    (the CLI run in-process sees it), then unregisters it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest


@pytest.fixture
def openclaw_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "openclaw-state"
    state.mkdir()
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    return state


@pytest.fixture
def register_openclaw_plugin() -> Iterator[Callable[..., Any]]:
    from openclaw_core.plugins import get_plugin_manager
    from openclaw_core.store.writer import close_writers

    pm = get_plugin_manager()
    registered: list[Any] = []

    def register(plugin: Any, name: str | None = None) -> Any:
        plugin_name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if not pm.register_plugin(plugin, plugin_name):
            raise RuntimeError(f"plugin {plugin_name!r} did not register (see the warning above)")
        pm.check_plugins()
        registered.append(plugin)
        return plugin

    yield register
    close_writers()  # writers cache hook results per commit; start the next test clean
    for plugin in registered:
        if pm.is_registered(plugin):
            name = pm.get_name(plugin)
            pm.unregister(plugin)
            pm.infos.pop(name, None)
