"""A pytest plugin for people who write openclaw plugins (loaded automatically
through the ``pytest11`` entry point when openclaw-core is installed).

Fixtures:

``openclaw_state_dir``
    an empty state dir in ``tmp_path``, with ``OPENCLAW_STATE_DIR`` pointing at
    it, in an environment that cannot touch yours: ``HOME`` and
    ``XDG_DATA_HOME`` (the trash) in ``tmp_path`` too, a Gateway port nothing
    listens on (a Gateway-first command such as ``sessions cleanup`` runs
    offline instead of reaching a Gateway you have running), and no
    ``OPENCLAW_CONFIG_PATH``, ``OPENCLAW_HOME``, ``OPENCLAW_GATEWAY_URL`` or
    ``OPENCLAW_GATEWAY_TOKEN`` from your shell. Subprocesses inherit it.
``register_openclaw_plugin``
    ``register_openclaw_plugin(plugin, name=None)`` registers a module or
    object with the process-wide plugin manager for the duration of the test
    (the CLI run in-process sees it), then unregisters it. A plugin that is
    already registered (your installed plugin, loaded from its entry point)
    is left as it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

# what could point a test's commands at your own config, home or Gateway
ISOLATED_ENV = ("OPENCLAW_CONFIG_PATH", "OPENCLAW_HOME", "OPENCLAW_GATEWAY_URL", "OPENCLAW_GATEWAY_TOKEN")


@pytest.fixture
def openclaw_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    state = tmp_path / "openclaw-state"
    state.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    with _held_port() as port:
        monkeypatch.setenv("OPENCLAW_GATEWAY_PORT", str(port))
        yield state


@contextlib.contextmanager
def _held_port() -> Iterator[int]:
    """A port bound for the whole test but never listened on: a connect is refused, and
    no Gateway of a test running in parallel (pytest-xdist) can take it meanwhile."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


@pytest.fixture
def register_openclaw_plugin() -> Iterator[Callable[..., Any]]:
    from openclaw_core.app import get_plugin_manager
    from openclaw_core.engine.store.writer import close_writers

    pm = get_plugin_manager()
    registered: list[Any] = []

    def register(plugin: Any, name: str | None = None) -> Any:
        if pm.is_registered(plugin):
            return plugin  # already loaded from its entry point: nothing to undo afterwards
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
