"""The Gateway under hostile peers and hostile stores (issue 18, items 3, 6, 7,
8 and 11): real ``openclaw gateway run`` processes, real sockets (raw TCP
clients that finish the WebSocket handshake and then stop reading), real
stores and signals.

* config.get never returns a secret, whatever the scope;
* clients that never read cost a bounded amount of memory, another client's
  ``health`` is answered quickly meanwhile, a connection over
  ``policy.maxBufferedBytes`` is closed (1008) and logged, a lagging
  subscriber's events are dropped and replaced by one resync;
* SIGTERM finishes (exit 0, writes durable) even with such a client, and the
  drain is bounded;
* a store holding lone UTF-16 surrogates is served, patched and deleted from;
* a failing handler (or connect) is an answer, never a silence.
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import time
from pathlib import Path

import pytest
from conftest import enable_only, now_ms, write_store
from fault_support import free_port, make_state, rss_bytes
from gateway_support import (
    OPENCLAW,
    TOKEN,
    closed_with,
    gateway_env,
    handshake,
    read_store,
    recv_json,
    request,
    start_gateway,
)
from plugin_support import make_distribution, pythonpath_with
from slow_client import RawClient

REDACTED = "__OPENCLAW_REDACTED__"


def new_state(tmp_path: Path, config: dict | None = None, entries: dict | None = None) -> Path:
    state = tmp_path / "state"
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(json.dumps(config or {}))
    if entries is not None:
        write_store(state / "agents" / "main" / "sessions" / "sessions.json", entries)
    return state


# --- item 3: config.get redaction --------------------------------------------------------------

SECRET_CONFIG = {
    "session": {"mainKey": "main", "postgres": {"dsn": "postgresql://oc:pg-Pa55@db.internal:5432/oc"}},
    "gateway": {"auth": {"mode": "token", "token": "gw-secret-token"}},
    "channels": {
        "slack": {"enabled": True, "appToken": "xapp-SECRET", "signingSecret": "slack-signing-SECRET",
                  "userToken": "xoxp-SECRET", "botToken": "xoxb-SECRET"},
        "msteams": {"appId": "app-id-visible", "appPassword": "teams-SECRET", "client_secret": "cs-SECRET"},
    },
    "hooks": {"webhookSecret": "hook-SECRET", "url": "https://hooker:hook-Pw@hooks.example/x?token=q-SECRET&v=1"},
    "models": {"providers": {"acme": {
        "baseUrl": "https://api.acme.example/v1",
        "headers": {"Authorization": "Bearer hdr-SECRET", "X-Org": "org-SECRET"},
        "apiKeys": ["key-one-SECRET", "key-two-SECRET"],
        "maxTokens": 8192, "contextTokens": 200000, "keyPrefix": "oc:", "credentials": {"user": "u-SECRET", "port": 1},
    }}},
}


def test_config_get_redacts_every_secret_for_a_read_and_an_admin_client(tmp_path):
    state = new_state(tmp_path, SECRET_CONFIG)
    gw = start_gateway(state, free_port())
    try:
        for scopes in (["operator.read"], ["operator.admin"]):
            ws, hello = handshake(gw.port, scopes=scopes)
            assert hello["ok"], hello
            reply = request(ws, "config.get")
            ws.close()
            assert reply["ok"], reply
            text = json.dumps(reply["payload"])
            assert "SECRET" not in text and "pg-Pa55" not in text and "hook-Pw" not in text, (scopes, text)
            assert "gw-secret-token" not in text
            config = reply["payload"]["parsed"]  # the file as read (every view is redacted: text checked above)
            assert config["session"]["postgres"]["dsn"] == REDACTED
            slack = config["channels"]["slack"]
            assert [slack[k] for k in ("appToken", "signingSecret", "userToken", "botToken")] == [REDACTED] * 4
            assert slack["enabled"] is True
            assert config["channels"]["msteams"] == {"appId": "app-id-visible", "appPassword": REDACTED,
                                                     "client_secret": REDACTED}
            assert config["hooks"] == {"webhookSecret": REDACTED,
                                       "url": f"https://hooker:{REDACTED}@hooks.example/x?token={REDACTED}&v=1"}
            acme = config["models"]["providers"]["acme"]
            assert acme["headers"] == {"Authorization": REDACTED, "X-Org": REDACTED}
            assert acme["apiKeys"] == [REDACTED, REDACTED]
            # Counters and names that only look like secrets stay.
            assert (acme["maxTokens"], acme["contextTokens"], acme["keyPrefix"]) == (8192, 200000, "oc:")
            assert acme["baseUrl"] == "https://api.acme.example/v1"
            assert acme["credentials"] == {"user": REDACTED, "port": 1}
            assert config["session"]["mainKey"] == "main"
            assert config["gateway"]["auth"] == {"mode": "token", "token": REDACTED}
    finally:
        assert gw.stop() == 0, gw.log()


# --- item 6: clients that never read -------------------------------------------------------------

def rss(gw) -> int:
    return rss_bytes(gw.proc.pid)


def health_latency(ws) -> float:
    started = time.monotonic()
    assert request(ws, "health", timeout=30)["ok"]
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.alone
def test_clients_that_never_read_keep_memory_flat_and_others_are_served(tmp_path):
    """Four clients pipelining sessions.list (3,000 rows, ~2 MB each answer) and
    twenty subscribers, none of them reading, while a normal client patches:
    RSS stays within 4 x (8 MiB in-flight budget + 2 answers being built) + 20 x
    the 1 MiB lag limit + slack, and health stays fast."""
    store = make_state(tmp_path, entries=3000)
    gw = start_gateway(store.parents[3], free_port())
    raw: list[RawClient] = []
    try:
        ws, _ = handshake(gw.port)
        assert request(ws, "sessions.list", {"limit": 3000})["payload"]["count"] == 3000  # store loaded
        before = rss(gw)
        for _ in range(4):
            client = RawClient(gw.port, token=TOKEN)
            client.pipeline("sessions.list", {"limit": 3000})
            raw.append(client)
        for _ in range(20):
            client = RawClient(gw.port, token=TOKEN)
            client.send("sessions.subscribe")
            raw.append(client)
        latencies, peak = [], before
        for round_ in range(12):
            for j in range(60):  # each patch is a sessions.changed to all twenty subscribers
                patch = {"key": f"hostile-{round_}-{j}", "label": f"{round_}-{j}-" + "x" * 300}
                assert request(ws, "sessions.patch", patch)["ok"]
            latencies.append(health_latency(ws))
            peak = max(peak, rss(gw))
            time.sleep(0.5)
        assert all(c.sent >= 1000 for c in raw[:4]), [c.sent for c in raw[:4]]  # they did pipeline
        print(f"\nRSS {before / 2**20:.0f} -> peak {peak / 2**20:.0f} MiB; health p50 "
              f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
        assert peak - before < 160 * 2**20
        assert statistics.median(latencies) < 0.5 and max(latencies) < 3.0
        # The twenty subscribers were too far behind for events: dropped, not queued.
        assert not any(" failed: " in line for line in gw.lines), gw.log()
        ws.close()
    finally:
        for client in raw:
            client.close()
        assert gw.stop() == 0, gw.log()


def test_a_connection_over_max_buffered_bytes_is_closed_and_logged(tmp_path):
    store = make_state(tmp_path, entries=3000)
    gw = start_gateway(store.parents[3], free_port(),
                       extra_env={"OPENCLAW_GATEWAY_MAX_BUFFERED_BYTES": str(256 * 1024)})
    client = RawClient(gw.port, token=TOKEN)
    try:
        assert client.hello["payload"]["policy"]["maxBufferedBytes"] == 256 * 1024
        client.pipeline("sessions.list", {"limit": 3000})  # each answer is ~2 MB: never fits
        deadline = time.monotonic() + 20
        while client.is_open() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not client.is_open()
        assert any("closing slow consumer" in line and "policy.maxBufferedBytes" in line for line in gw.lines), \
            gw.log()
        ws, _ = handshake(gw.port)  # everyone else carries on
        assert request(ws, "health")["ok"]
        ws.close()
    finally:
        client.close()
        assert gw.stop() == 0, gw.log()


@pytest.mark.slow
def test_a_lagging_subscriber_misses_events_and_gets_one_resync(tmp_path):
    store = make_state(tmp_path, entries=10)
    gw = start_gateway(store.parents[3], free_port(),
                       extra_env={"OPENCLAW_GATEWAY_MAX_BUFFERED_BYTES": str(256 * 1024)})
    subscriber = RawClient(gw.port, token=TOKEN, rcvbuf=4096)
    try:
        subscriber.send("sessions.subscribe")
        ws, _ = handshake(gw.port)
        # ~7 MB of events: more than the kernel buffers (4 MB) and our 64 KiB lag limit. On 100
        # keys, so the store stays small (10,000 new keys made every commit O(n): 130 s).
        patches = 10_000
        for first in range(0, patches, 100):  # pipelined 100 at a time, every answer read
            for i in range(first, first + 100):
                ws.send(json.dumps({"type": "req", "id": f"r{i}", "method": "sessions.patch",
                                    "params": {"key": f"lag-{i % 100}", "label": f"{i}-" + "y" * 450}}))
            answered = 0
            while answered < 100:
                frame = recv_json(ws, 30)
                if frame.get("type") == "res":
                    assert frame["ok"], frame
                    answered += 1
        ws.close()
        changed, resyncs = 0, []
        subscriber.sock.settimeout(3)
        try:
            while True:
                frame = subscriber.recv_json()
                if frame.get("event") == "sessions.changed":
                    if frame["payload"]["reason"] == "resync":
                        resyncs.append(frame["payload"]["missed"])
                    else:
                        changed += 1
        except TimeoutError:
            pass
        print(f"\n{changed} of {patches} events delivered, resyncs {resyncs}")
        assert changed < patches
        assert len(resyncs) >= 1 and changed + sum(resyncs) == patches
    finally:
        subscriber.close()
        assert gw.stop() == 0, gw.log()


# --- item 7: SIGTERM with a client that does not read -----------------------------------------------

HANG_PLUGIN = '''
import asyncio

from openclaw_core import hookimpl
from openclaw_core.adapters.gateway.methods import GatewayMethod


async def hang(call):
    await asyncio.sleep(3600)


def not_json(call):
    return {"ids": {1, 2}}


def boom(call):
    raise KeyError("boom")


@hookimpl
def openclaw_gateway_methods():
    return [GatewayMethod("test.hang", hang, scope="operator.read"),
            GatewayMethod("test.notjson", not_json, scope="operator.read"),
            GatewayMethod("test.boom", boom, scope="operator.read")]
'''


def hang_plugin(root: Path) -> str:
    return pythonpath_with(make_distribution(root, "oc_hostile_methods", HANG_PLUGIN, {"hostile": "oc_hostile_methods"}))


@pytest.mark.alone
def test_sigterm_with_a_client_that_does_not_read_exits_0_and_writes_are_durable(tmp_path):
    store = make_state(tmp_path, entries=3000)
    gw = start_gateway(store.parents[3], free_port())
    client = RawClient(gw.port, token=TOKEN)
    client.pipeline("sessions.list", {"limit": 3000})
    try:
        time.sleep(2)  # its answers pile up unread
        ws, _ = handshake(gw.port)
        assert request(ws, "sessions.patch", {"key": "before-sigterm", "label": "kept"})["ok"]
        ws.close()
        started = time.monotonic()
        gw.proc.send_signal(signal.SIGTERM)
        code = gw.proc.wait(30)
        took = time.monotonic() - started
        assert code == 0, gw.log()
        assert took < 15, (took, gw.log())
        assert read_store(store)["agent:main:before-sigterm"]["label"] == "kept"
    finally:
        client.close()
        gw.stop()


def test_the_drain_at_sigterm_is_bounded_by_the_drain_timeout(tmp_path):
    state = new_state(tmp_path, entries={"agent:main:main": {"sessionId": "s", "updatedAt": now_ms()}})
    gw = start_gateway(state, free_port(), extra_env={"PYTHONPATH": hang_plugin(tmp_path / "site"),
                                                      "OPENCLAW_DISABLE_PLUGINS": enable_only("hostile"),
                                                      "OPENCLAW_GATEWAY_DRAIN_TIMEOUT_MS": "1500"})
    try:
        ws, _ = handshake(gw.port)
        ws.send(json.dumps({"type": "req", "id": "hang", "method": "test.hang"}))
        assert request(ws, "sessions.patch", {"key": "durable", "label": "yes"})["ok"]
        started = time.monotonic()
        gw.proc.send_signal(signal.SIGTERM)
        code = gw.proc.wait(30)
        assert code == 0, gw.log()
        assert 1.4 < time.monotonic() - started < 12, gw.log()
        assert any("drain timeout" in line for line in gw.lines), gw.log()
        assert read_store(state / "agents" / "main" / "sessions" / "sessions.json")["agent:main:durable"]["label"] \
            == "yes"
    finally:
        gw.stop()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-1"])
def test_non_finite_or_non_positive_timeouts_are_refused(tmp_path, value):
    state = new_state(tmp_path)
    for name in ("OPENCLAW_HANDSHAKE_TIMEOUT_MS", "OPENCLAW_GATEWAY_DRAIN_TIMEOUT_MS"):
        env = gateway_env(state, extra={name: value})
        result = subprocess.run([OPENCLAW, "gateway", "run", "--port", str(free_port())], env=env,
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 1, (name, result)
        lines = result.stderr.strip().splitlines()
        assert "Traceback" not in result.stderr, (name, result.stderr)
        assert len(lines) == 1 and "timeout: must be" in lines[0], (name, result.stderr)


# --- item 8: lone surrogates -------------------------------------------------------------------

CUT_KEY = "agent:main:cut-\ud83d"          # an emoji cut in half: the high surrogate alone
CUT_LABEL = "half \ude00 an emoji"


def test_a_store_with_lone_surrogates_is_served_patched_and_deleted_from(tmp_path):
    state = new_state(tmp_path, entries={
        "agent:main:main": {"sessionId": "m", "updatedAt": now_ms()},
        CUT_KEY: {"sessionId": "c", "updatedAt": now_ms() - 5, "label": CUT_LABEL, "chatType": "direct"},
    })
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    assert "\\ud83d" in store.read_text()  # written as OpenClaw writes it
    gw = start_gateway(state, free_port())
    try:
        ws, _ = handshake(gw.port)
        ws.send(json.dumps({"type": "req", "id": "list", "method": "sessions.list", "params": {}}))
        while True:
            text = ws.recv(timeout=10)
            if '"id":"list"' in text:
                break
        assert "\\ud83d" in text and "\\ude00" in text  # escaped as JSON.stringify does
        listed = json.loads(text)
        assert listed["ok"] and CUT_KEY in [row["key"] for row in listed["payload"]["sessions"]]
        health = request(ws, "health")
        assert health["ok"] and CUT_KEY in [r["key"] for r in health["payload"]["sessions"]["recent"]]
        patched = request(ws, "sessions.patch", {"key": CUT_KEY, "thinkingLevel": "low"})
        assert patched["ok"], patched
        assert patched["payload"]["entry"]["label"] == CUT_LABEL
        assert read_store(store)[CUT_KEY]["thinkingLevel"] == "low"
        deleted = request(ws, "sessions.delete", {"key": CUT_KEY, "deleteTranscript": False})
        assert deleted["ok"] and deleted["payload"]["deleted"] is True, deleted
        assert CUT_KEY not in read_store(store)
        ws.close()
    finally:
        assert gw.stop() == 0, gw.log()


# --- item 11 (part): failures are answers --------------------------------------------------------

def test_failing_handlers_are_error_answers_and_logged(tmp_path):
    state = new_state(tmp_path, entries={"agent:main:main": {"sessionId": "s", "updatedAt": now_ms()}})
    gw = start_gateway(state, free_port(), extra_env={"PYTHONPATH": hang_plugin(tmp_path / "site"),
                                                      "OPENCLAW_DISABLE_PLUGINS": enable_only("hostile")})
    try:
        ws, _ = handshake(gw.port, scopes=["operator.read"])
        boom = request(ws, "test.boom")
        assert boom["ok"] is False and boom["error"]["code"] == "UNAVAILABLE" and "boom" in boom["error"]["message"]
        not_json = request(ws, "test.notjson")
        assert not_json["ok"] is False and not_json["error"]["code"] == "UNAVAILABLE", not_json
        assert "not JSON" in not_json["error"]["message"]
        assert request(ws, "health")["ok"]  # the connection lives on
        ws.close()
        assert any("test.boom failed" in line for line in gw.lines), gw.log()
        assert any("test.notjson failed" in line for line in gw.lines), gw.log()
    finally:
        assert gw.stop() == 0, gw.log()


def test_a_connect_that_fails_inside_is_answered_and_closed_with_a_reason(tmp_path):
    """session.mainKey = 3: either the Gateway refuses the config at start (one
    line), or a connect is answered with an error and closed with a reason; never
    a silent drop."""
    state = new_state(tmp_path, {"session": {"mainKey": 3}})
    port = free_port()
    try:
        gw = start_gateway(state, port)
    except RuntimeError as exc:
        assert "mainKey" in str(exc)
        return
    try:
        from gateway_support import challenge, connect_params, open_ws

        ws = open_ws(port)
        challenge(ws)
        ws.send(json.dumps({"type": "req", "id": "c1", "method": "connect", "params": connect_params()}))
        reply = recv_json(ws)
        if reply.get("ok"):
            assert request(ws, "sessions.list")["type"] == "res"  # served, or an answered error
            ws.close()
        else:
            assert reply["id"] == "c1" and reply["error"]["message"], reply
            code, reason = closed_with(ws)
            assert code == 1011 and reason == "internal error", (code, reason)
            assert any("connect failed" in line for line in gw.lines), gw.log()
    finally:
        assert gw.stop() == 0, gw.log()

