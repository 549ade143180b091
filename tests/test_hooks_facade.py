"""The typed hook facade (openclaw_core/contract/hooks.py) and the rule that
every caller uses the Hooks it was handed, never a process-wide manager.

* collect hooks go through pluggy's own loop: a ``wrapper=True``
  implementation wraps the call and sees the results, monitoring sees it;
* a plain implementation that raises is skipped with one warning naming it,
  and each result is attributed to the plugin that gave it;
* a Gateway built on its own Hooks runs ``sessions.cleanup`` with *those*
  plugins (it once ran on the global manager), and a row backend opened with
  a Hooks asks that Hooks for its protection column.
"""

from __future__ import annotations

import asyncio
import json

from conftest import DAY_MS, now_ms, write_store
from gateway_support import TOKEN, handshake, next_response, read_store
from openclaw_core import app
from openclaw_core.hookspecs import hookimpl

OLD = 40 * DAY_MS


class Methods:
    def __init__(self, *names: str) -> None:
        self.names = names

    @hookimpl
    def openclaw_gateway_methods(self):
        from openclaw_core.adapters.gateway.methods import GatewayMethod

        return [GatewayMethod(name, lambda call: {}) for name in self.names]


def private_hooks(*plugins: tuple[object, str]):
    hooks = app.new_hooks(disabled=["third-party"])
    for plugin, name in plugins:
        assert hooks.pm.register_plugin(plugin, name)
    hooks.pm.check_plugins()
    return hooks


def test_a_wrapper_of_a_collect_hook_wraps_the_call_and_sees_every_result():
    seen = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def openclaw_gateway_methods(self):
            results = yield
            seen.append(sorted(m.name for result in results for m in result))
            return results

    hooks = private_hooks((Methods("x.one"), "one"), (Wrapper(), "wrapper"))
    given = hooks.gateway_methods()
    # The wrapper is not a result (a generator object once was), and it saw the others'.
    assert all(isinstance(result, list) for _plugin, result in given)
    assert seen and "x.one" in seen[0] and "sessions.patch" in seen[0]


def test_monitoring_sees_collect_hook_calls():
    hooks = private_hooks((Methods("x.one"), "one"))
    calls = []
    undo = hooks.pm.add_hookcall_monitoring(lambda name, impls, kwargs: calls.append(name),
                                            lambda outcome, name, impls, kwargs: None)
    try:
        hooks.maintenance_policies()
        hooks.gateway_methods()
    finally:
        undo()
    assert calls == ["openclaw_maintenance_policies", "openclaw_gateway_methods"]


def test_a_failing_collect_implementation_is_skipped_and_the_rest_are_attributed(capsys):
    class Broken:
        @hookimpl
        def openclaw_gateway_methods(self):
            raise RuntimeError("boom")

    hooks = private_hooks((Methods("x.one"), "one"), (Broken(), "broken"))
    given = dict((plugin, [m.name for m in result]) for plugin, result in hooks.gateway_methods())
    assert given["one"] == ["x.one"]
    assert "broken" not in given and "openclaw_core" in given
    assert 'plugin "broken" failed in openclaw_gateway_methods: RuntimeError: boom' in capsys.readouterr().err


class KeepAll:
    """Protects every entry: only a caller using *this* Hooks keeps the old one."""

    @hookimpl(tryfirst=True)
    def openclaw_entry_protected(self, key, entry, store_path):
        return True


def _stale_state(tmp_path, monkeypatch):
    state = tmp_path / "state"
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    state.mkdir()
    (state / "openclaw.json").write_text(json.dumps({"session": {"maintenance": {"pruneAfter": "30d"}}}))
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    write_store(store, {"agent:main:main": {"sessionId": "s1", "updatedAt": now_ms()},
                        "agent:main:old": {"sessionId": "s2", "updatedAt": now_ms() - OLD}})
    return store


def test_the_gateway_cleans_up_with_the_hooks_it_was_built_on(tmp_path, monkeypatch, free_port):
    from openclaw_core.adapters.gateway.server import GatewayServer

    store = _stale_state(tmp_path, monkeypatch)
    hooks = private_hooks((KeepAll(), "keep-all"))
    answers = []

    async def main() -> None:
        server = GatewayServer(app.load_config(), hooks, hosts=["127.0.0.1"], port=free_port, token=TOKEN,
                               log=lambda line: None)
        await server.start()
        try:
            def client() -> None:
                ws, res = handshake(free_port, scopes=["operator.admin"])
                assert res["ok"], res
                ws.send(json.dumps({"type": "req", "id": "c", "method": "sessions.cleanup",
                                    "params": {"enforce": True}}))
                answers.append(next_response(ws, timeout=30))
                ws.close()

            await asyncio.get_running_loop().run_in_executor(None, client)
        finally:
            await server.stop()

    asyncio.run(main())
    assert answers[0]["ok"], answers[0]
    # The process's own hooks would prune it (nothing protects a plain direct key that old).
    assert "agent:main:old" in read_store(store)


def test_without_the_protecting_plugin_the_same_cleanup_prunes(tmp_path, monkeypatch):
    # The control for the test above: the entry is stale for the built-in rule.
    from openclaw_core.services.cleanup import run_cleanup

    store = _stale_state(tmp_path, monkeypatch)
    run_cleanup(app.load_config(), enforce=True, hooks=private_hooks())
    assert "agent:main:old" not in read_store(store)


def test_a_row_backend_asks_the_hooks_it_was_opened_with(tmp_path, monkeypatch):
    import sqlite3

    from openclaw_core.engine.store.writer import close_writers, get_writer

    state = tmp_path / "state"
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    state.mkdir()
    (state / "openclaw.json").write_text(json.dumps({"session": {"backend": "sqlite"}}))
    config = app.load_config()
    path = str(config.store_path("main"))
    for hooks, expected in ((private_hooks(), 0), (private_hooks((KeepAll(), "keep-all")), 1)):
        try:
            get_writer(path, config, hooks).run(
                lambda store: store.__setitem__("agent:main:x", {"sessionId": "s", "updatedAt": now_ms()}))
        finally:
            close_writers()
        db = sqlite3.connect(path.removesuffix(".json") + ".sqlite")
        try:
            assert db.execute("SELECT protected FROM entries").fetchone()[0] == expected
        finally:
            db.close()
        (state / "agents").rename(tmp_path / f"agents-{expected}")
