"""The Gateway's methods on a real ``openclaw gateway run``: every mutation is
on disk when its response arrives, events reach subscribers, outside edits are
seen, SIGTERM finishes queued writes. Plugin methods come through the hook."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from openclaw_core.app import hooks
from conftest import DAY_MS, now_ms, write_store
from gateway_support import TOKEN, handshake, next_event, next_response, open_ws, read_store, recv_json, request, start_gateway


def seed(state: Path) -> Path:
    (state / "openclaw.json").write_text(json.dumps({
        "gateway": {"auth": {"token": "config-token-abc"}},
        "agents": {"list": [{"id": "main", "default": True}, {"id": "ops", "name": "Ops"}]},
        "session": {"maintenance": {"mode": "enforce", "pruneAfter": "3650d", "maxEntries": 100000}},
    }))
    t = now_ms()
    main = state / "agents" / "main" / "sessions" / "sessions.json"
    write_store(main, {
        "agent:main:main": {"sessionId": "00000001-0000-4000-8000-000000000001", "updatedAt": t - DAY_MS},
        "agent:main:telegram:direct:1": {"sessionId": "00000002-0000-4000-8000-000000000002",
                                         "updatedAt": t - 2 * DAY_MS, "label": "taken"},
        "agent:main:discord:channel:9": {"sessionId": "00000003-0000-4000-8000-000000000003",
                                         "updatedAt": t - 3 * DAY_MS},
    })
    (main.parent / "00000002-0000-4000-8000-000000000002.jsonl").write_text('{"type":"session"}\n')
    write_store(state / "agents" / "ops" / "sessions" / "sessions.json", {
        "agent:ops:main": {"sessionId": "00000011-0000-4000-8000-000000000011", "updatedAt": t - DAY_MS},
    })
    return main


@pytest.fixture
def gw(tmp_path, free_port):
    state = tmp_path / "state"
    state.mkdir()
    seed(state)
    gateway = start_gateway(state, free_port)
    yield gateway
    gateway.stop()


def main_store(gw) -> Path:
    return gw.state_dir / "agents" / "main" / "sessions" / "sessions.json"


def test_patch_is_on_disk_when_the_response_arrives(gw):
    ws, _ = handshake(gw.port)
    for i in range(5):
        res = request(ws, "sessions.patch", {"key": "agent:main:main", "label": f"L{i}", "sendPolicy": "deny"})
        assert res["ok"], res
        on_disk = read_store(main_store(gw))["agent:main:main"]
        assert on_disk["label"] == f"L{i}" and on_disk["sendPolicy"] == "deny"
    payload = res["payload"]
    assert payload["ok"] is True and payload["key"] == "agent:main:main"
    assert payload["path"] == str(main_store(gw))
    assert payload["entry"]["label"] == "L4" and payload["entry"]["sessionId"] == "00000001-0000-4000-8000-000000000001"
    assert payload["resolved"] == {"modelProvider": "openai", "model": "gpt-5.5",
                                   "agentRuntime": {"id": "pi", "source": "implicit"}}
    ws.close()


def test_patch_rules(gw):
    ws, _ = handshake(gw.port)
    assert request(ws, "sessions.patch", {"key": "main", "label": "taken"})["error"]["message"] == \
        "label already in use: taken"
    assert request(ws, "sessions.patch", {"key": "main", "thinkingLevel": "bogus"})["error"]["message"].startswith(
        "invalid thinkingLevel")
    assert request(ws, "sessions.patch", {"key": "main", "spawnDepth": 2})["error"]["message"] == \
        "spawnDepth is only supported for subagent:* or acp:* sessions"
    assert request(ws, "sessions.patch", {"key": "main", "responseUsage": "loud"})["error"]["message"].startswith(
        "invalid sessions.patch params: at /responseUsage")
    before = main_store(gw).read_bytes()
    assert request(ws, "sessions.patch", {"key": "main", "label": "taken"})["ok"] is False
    assert main_store(gw).read_bytes() == before  # a refused patch writes nothing
    res = request(ws, "sessions.patch", {"key": "MAIN", "thinkingLevel": "HIGH", "responseUsage": "on"})
    assert res["ok"] and res["payload"]["key"] == "agent:main:main"
    assert res["payload"]["entry"]["thinkingLevel"] == "high" and res["payload"]["entry"]["responseUsage"] == "full"
    res = request(ws, "sessions.patch", {"key": "agent:ops:new-thing", "label": "fresh"})
    assert res["ok"] and res["payload"]["path"].endswith("agents/ops/sessions/sessions.json")
    assert read_store(gw.state_dir / "agents" / "ops" / "sessions" / "sessions.json")["agent:ops:new-thing"]["label"] == "fresh"
    res = request(ws, "sessions.patch", {"key": "main", "label": None})
    assert "label" not in read_store(main_store(gw))["agent:main:main"]
    ws.close()


def test_list_rows_and_filters(gw):
    ws, _ = handshake(gw.port, scopes=["operator.read"])
    res = request(ws, "sessions.list", {})
    payload = res["payload"]
    assert payload["path"] == "(multiple)" and payload["count"] == 4 and payload["hasMore"] is False
    keys = [row["key"] for row in payload["sessions"]]
    assert set(keys[:2]) == {"agent:main:main", "agent:ops:main"}  # newest first
    row = next(r for r in payload["sessions"] if r["key"] == "agent:main:discord:channel:9")
    assert row["kind"] == "group" and row["modelProvider"] == "openai" and row["hasActiveRun"] is False
    assert row["thinkingOptions"] == ["off", "minimal", "low", "medium", "high", "xhigh"]
    res = request(ws, "sessions.list", {"agentId": "ops"})
    assert res["payload"]["path"].endswith("agents/ops/sessions/sessions.json")
    assert [r["key"] for r in res["payload"]["sessions"]] == ["agent:ops:main"]
    res = request(ws, "sessions.list", {"limit": 1})
    assert res["payload"]["count"] == 1 and res["payload"]["totalCount"] == 4 and res["payload"]["hasMore"]
    assert [r["key"] for r in request(ws, "sessions.list", {"label": "taken"})["payload"]["sessions"]] == \
        ["agent:main:telegram:direct:1"]
    ws.close()


def test_reset_archives_the_transcript_and_starts_a_new_session(gw):
    ws, _ = handshake(gw.port)
    res = request(ws, "sessions.reset", {"key": "agent:main:telegram:direct:1"})
    assert res["ok"], res
    entry = res["payload"]["entry"]
    assert entry["sessionId"] != "00000002-0000-4000-8000-000000000002"
    assert entry["label"] == "taken" and entry["totalTokens"] == 0 and entry["systemSent"] is False
    assert read_store(main_store(gw))["agent:main:telegram:direct:1"]["sessionId"] == entry["sessionId"]
    sessions_dir = main_store(gw).parent
    names = sorted(p.name for p in sessions_dir.iterdir())
    assert any(n.startswith("00000002-0000-4000-8000-000000000002.jsonl.reset.") for n in names), names
    assert (sessions_dir / f"{entry['sessionId']}.jsonl").read_text().startswith('{"type":"session"')
    ws.close()


def test_delete_refuses_main_and_archives(gw):
    ws, _ = handshake(gw.port)
    assert request(ws, "sessions.delete", {"key": "main"})["error"]["message"] == \
        "Cannot delete the main session (agent:main:main)."
    res = request(ws, "sessions.delete", {"key": "agent:main:telegram:direct:1"})
    assert res["ok"] and res["payload"]["deleted"] is True and len(res["payload"]["archived"]) == 1
    assert ".jsonl.deleted." in res["payload"]["archived"][0]
    assert "agent:main:telegram:direct:1" not in read_store(main_store(gw))
    res = request(ws, "sessions.delete", {"key": "agent:main:telegram:direct:1"})
    assert res["payload"] == {"ok": True, "key": "agent:main:telegram:direct:1", "deleted": False, "archived": []}
    ws.close()


def test_subscribers_get_sessions_changed(gw):
    watcher, _ = handshake(gw.port, scopes=["operator.read"])
    assert request(watcher, "sessions.subscribe")["payload"] == {"subscribed": True}
    writer, _ = handshake(gw.port)
    assert request(writer, "sessions.patch", {"key": "main", "label": "evented"})["ok"]
    event = next_event(watcher, "sessions.changed")  # after the health and presence events
    assert event["type"] == "event" and event["event"] == "sessions.changed"
    assert event["payload"]["sessionKey"] == "agent:main:main" and event["payload"]["reason"] == "patch"
    assert event["payload"]["label"] == "evented" and isinstance(event["payload"]["ts"], int)
    assert request(writer, "sessions.list", {"limit": 1})["ok"]  # the writer did not subscribe: no event for it
    watcher.close()
    writer.close()


def test_outside_edit_is_seen_and_kept(gw):
    ws, _ = handshake(gw.port)
    assert request(ws, "sessions.patch", {"key": "main", "label": "mine"})["ok"]
    store = read_store(main_store(gw))
    store["agent:main:outside"] = {"sessionId": "00000009-0000-4000-8000-000000000009", "updatedAt": now_ms()}
    tmp = main_store(gw).with_suffix(".edit")
    tmp.write_text(json.dumps(store, indent=2))
    os.replace(tmp, main_store(gw))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        keys = [r["key"] for r in request(ws, "sessions.list", {"agentId": "main"})["payload"]["sessions"]]
        if "agent:main:outside" in keys:
            break
        time.sleep(0.05)
    assert "agent:main:outside" in keys
    assert request(ws, "sessions.patch", {"key": "main", "label": "after"})["ok"]
    on_disk = read_store(main_store(gw))
    assert "agent:main:outside" in on_disk and on_disk["agent:main:main"]["label"] == "after"
    ws.close()


def test_config_get_redacts_and_agents_list(gw):
    ws, _ = handshake(gw.port, scopes=["operator.read"])
    config = request(ws, "config.get")["payload"]
    assert config["config"]["gateway"]["auth"]["token"] == "__OPENCLAW_REDACTED__"
    assert config["path"] == str(gw.state_dir / "openclaw.json") and len(config["hash"]) == 64
    agents = request(ws, "agents.list")["payload"]
    assert agents["defaultId"] == "main" and agents["mainKey"] == "main" and agents["scope"] == "per-sender"
    assert [a["id"] for a in agents["agents"]] == ["main", "ops"] and agents["agents"][1]["name"] == "Ops"
    assert request(ws, "agents.delete", {"agentId": "main"})["error"]["message"] == "missing scope: operator.admin"
    ws.close()
    ws, _ = handshake(gw.port)
    assert request(ws, "agents.delete", {"agentId": "main"})["error"]["message"] == '"main" cannot be deleted'
    assert request(ws, "agents.delete", {"agentId": "Nope"})["error"]["message"] == 'agent "nope" not found'
    ws.close()


def test_concurrent_clients_all_land(gw):
    keys = ["agent:main:main", "agent:main:telegram:direct:1", "agent:main:discord:channel:9"]
    errors: list = []

    def client(n: int) -> None:
        ws, _ = handshake(gw.port)
        try:
            for i in range(15):
                res = request(ws, "sessions.patch", {"key": keys[n % 3], "sendPolicy": ("allow", "deny")[i % 2]})
                if not res["ok"]:
                    errors.append(res)
            res = request(ws, "sessions.patch", {"key": f"agent:main:client:{n}", "label": f"c{n}"})
            if not res["ok"]:
                errors.append(res)
        finally:
            ws.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = read_store(main_store(gw))
    assert all(store[f"agent:main:client:{n}"]["label"] == f"c{n}" for n in range(8))


def test_sigterm_finishes_queued_writes(tmp_path, free_port):
    state = tmp_path / "state"
    state.mkdir()
    seed(state)
    gw = start_gateway(state, free_port)
    sockets = []
    sent: dict[str, str] = {}
    for c in range(4):
        ws, res = handshake(gw.port)
        assert res["ok"]
        sockets.append(ws)
    for c, ws in enumerate(sockets):
        for i in range(25):  # pipelined: all in flight before the signal
            rid = f"{c}-{i}"
            sent[rid] = f"agent:main:drain:{c}:{i}"
            ws.send(json.dumps({"type": "req", "id": rid, "method": "sessions.patch",
                                "params": {"key": sent[rid], "label": rid}}))
    gw.proc.send_signal(signal.SIGTERM)
    acked = []
    for ws in sockets:
        try:
            while True:
                frame = recv_json(ws, timeout=10)
                if frame.get("type") == "res" and frame.get("ok"):
                    acked.append(frame["id"])
        except Exception:  # noqa: BLE001 - closed at shutdown
            pass
    assert gw.proc.wait(30) == 0, gw.log()
    store = read_store(main_store(gw))
    assert acked, gw.log()
    for rid in acked:
        assert store[sent[rid]]["label"] == rid
    assert "[gateway] stopped" in gw.log()


# --- plugin methods through the hook (in-process server, so the test's plugin is seen) ----------

def test_hook_gateway_methods_plugin_method_is_served(tmp_path, monkeypatch, register_openclaw_plugin, free_port):
    from openclaw_core import hookimpl
    from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodError

    state = tmp_path / "state"
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    write_store(state / "agents" / "main" / "sessions" / "sessions.json",
                {"agent:main:main": {"sessionId": "s1", "updatedAt": now_ms()}})

    async def count_sessions(call):
        return {"count": await call.read_store(call.store_path(call.params.get("agentId")), len)}

    def refuse(call):
        raise MethodError("nope, not today")

    class Plugin:
        @hookimpl
        def openclaw_gateway_methods(self):
            return [GatewayMethod("sessions.count", count_sessions, scope="operator.read"),
                    GatewayMethod("demo.refuse", refuse, scope=None), "not a method"]

    register_openclaw_plugin(Plugin(), "count-plugin")
    results = run_in_process_gateway(free_port, [("sessions.count", {}), ("demo.refuse", {})])
    assert results[0] == {"type": "res", "id": "r0", "ok": True, "payload": {"count": 1}}
    assert results[1]["error"] == {"code": "INVALID_REQUEST", "message": "nope, not today"}


def run_in_process_gateway(port: int, calls: list[tuple[str, dict]]) -> list[dict]:
    from oc import load_config
    from openclaw_core.adapters.gateway.server import GatewayServer
    from openclaw_core.app import get_plugin_manager

    out: list[dict] = []

    async def main() -> None:
        server = GatewayServer(load_config(), hooks(), hosts=["127.0.0.1"], port=port, token=TOKEN,
                               log=lambda line: None)
        await server.start()
        try:
            assert "sessions.count" in server.methods

            def client() -> None:
                ws, res = handshake(port, scopes=["operator.read"])
                assert res["ok"], res
                for i, (method, params) in enumerate(calls):
                    ws.send(json.dumps({"type": "req", "id": f"r{i}", "method": method, "params": params}))
                    out.append(next_response(ws))  # the health/presence events skipped
                ws.close()

            await asyncio.get_running_loop().run_in_executor(None, client)
        finally:
            await server.stop()

    asyncio.run(main())
    return out
