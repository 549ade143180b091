"""Maintenance asks ``openclaw_entry_protected`` for every entry it considers, so
it calls the implementations itself (Hooks.protection_calls) instead of
through pluggy per entry: the decisions must be pluggy's, in pluggy's order
(tryfirst, registration, trylast; first answer wins), with the arguments each
implementation declares, and pluggy must still do the calling when a wrapper
or a hook monitor is installed."""

from __future__ import annotations

import json

from openclaw_core import hookimpl
from openclaw_core.app import get_plugin_manager, hooks
from conftest import DAY_MS, now_ms, write_store

OLD = now_ms() - 90 * DAY_MS


class SaysFalseFirst:
    """tryfirst: unprotects the group 'a', no opinion elsewhere."""

    @hookimpl(tryfirst=True)
    def openclaw_entry_protected(self, key):
        return False if key.endswith(":group:a") else None


class PinsByStorePath:
    """Declares every argument: protects 'b' and 'a' of stores whose path it is given."""

    def __init__(self) -> None:
        self.paths: set[str] = set()

    @hookimpl
    def openclaw_entry_protected(self, store_path, entry, key):
        self.paths.add(store_path)
        return True if entry.get("label") in ("pin-a", "pin-b") else None


class Wrapper:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl(wrapper=True)
    def openclaw_entry_protected(self, key, entry):
        self.calls += 1
        return (yield)


def _store(state_dir):
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    write_store(path, {
        "agent:main:telegram:group:a": {"sessionId": "a", "updatedAt": OLD, "label": "pin-a"},
        "agent:main:telegram:direct:b": {"sessionId": "b", "updatedAt": OLD, "label": "pin-b"},
        "agent:main:telegram:group:c": {"sessionId": "c", "updatedAt": OLD},
        "agent:main:telegram:direct:d": {"sessionId": "d", "updatedAt": OLD},
    })
    (state_dir / "openclaw.json").write_text(json.dumps({"session": {"maintenance": {"mode": "enforce"}}}))
    return path


def _pluggy_decision(pm, key, entry, path):
    decision = pm.hook.openclaw_entry_protected(key=key, entry=entry, store_path=path)
    return bool(decision) if decision is not None else None


def test_direct_calls_decide_as_pluggy_does(cli, state_dir, register_openclaw_plugin):
    path = _store(state_dir)
    pins = register_openclaw_plugin(PinsByStorePath(), "pins")
    register_openclaw_plugin(SaysFalseFirst(), "false-first")
    pm = get_plugin_manager()
    calls = hooks().protection_calls(str(path))
    assert calls is not None and len(calls) == len(pm.hook.openclaw_entry_protected.get_hookimpls())
    for key, entry in json.loads(path.read_text()).items():
        direct = next((d for d in (call(key, entry) for call in calls) if d is not None), None)
        assert direct == _pluggy_decision(pm, key, entry, str(path)), key
    result = cli("sessions", "cleanup", "--store", path, "--enforce", "--json").json()
    # a: tryfirst said False before the pin; b: pinned; c: the built-in rule (a group); d: pruned
    assert set(json.loads(path.read_text())) == {"agent:main:telegram:direct:b", "agent:main:telegram:group:c"}
    assert result["pruned"] == 2
    assert pins.paths == {str(path)}


def test_a_wrapper_or_a_monitor_leaves_the_calling_to_pluggy(cli, state_dir, register_openclaw_plugin):
    pm = get_plugin_manager()
    assert hooks().protection_calls("x") is not None
    wrapper = register_openclaw_plugin(Wrapper(), "wrapper")
    assert hooks().protection_calls("x") is None
    path = _store(state_dir)
    result = cli("sessions", "cleanup", "--store", path, "--enforce", "--json").json()
    assert wrapper.calls >= 4  # every entry went through pluggy, the wrapper saw each
    assert set(json.loads(path.read_text())) == {"agent:main:telegram:group:a", "agent:main:telegram:group:c"}
    assert result["pruned"] == 2
    pm.unregister(wrapper)
    undo = pm.add_hookcall_monitoring(lambda *a: None, lambda *a: None)
    try:
        assert hooks().protection_calls("x") is None
    finally:
        undo()
    assert hooks().protection_calls("x") is not None
