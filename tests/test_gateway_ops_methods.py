"""The operator methods the real CLI's everyday commands call (health, status,
channels.status, doctor.memory.status, device.pair.list, system-presence,
last-heartbeat, logs.tail, diagnostics.stability, usage.cost) and the health
and presence events, against our real Gateway on the state of the reference's
Gateway experiment, compared with what OpenClaw 2026.5.4's Gateway answered
there (tests/fixtures/gateway-ops/, normalised by tests/ops_normalise.py)."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest

from conftest import CASES, _free_port, build_case, requires_reference_cases
from gateway_support import (
    connect_params,
    handshake,
    next_event,
    open_ws,
    request,
    challenge,
    signed_device,
    start_gateway,
)
from ops_normalise import gateway_self, normalise

FIXTURES = Path(__file__).parent / "fixtures" / "gateway-ops"
CASE_TOKEN = "oracle-test-token-0123456789"  # cases/30-gateway's gateway.auth.token

pytestmark = requires_reference_cases


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def recorded_py(name: str) -> dict:
    return json.loads((FIXTURES / "py-calls.json").read_text())[name]


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    home = tmp_path_factory.mktemp("ops") / "home"
    (home / ".openclaw").mkdir(parents=True)
    build_case(CASES / "30-gateway", home / ".openclaw", home)
    server = start_gateway(home / ".openclaw", _free_port(), token=None, args=("--verbose",),
                           extra_env={"HOME": str(home)})
    server.home = home  # type: ignore[attr-defined]
    yield server
    server.stop()


def connect(gw, scopes=("operator.read",), **kw):
    ws, res = handshake(gw.port, token=CASE_TOKEN, scopes=list(scopes), **kw)
    assert res["ok"], res
    return ws


def call(gw, method, params=None, scopes=("operator.read",)):
    ws = connect(gw, scopes)
    try:
        return request(ws, method, params if params is not None else {})
    finally:
        ws.close()


def norm(gw, value):
    return normalise(value, str(gw.home), (gw.port,))


@pytest.mark.parametrize("method", ["health", "status", "channels.status", "doctor.memory.status",
                                    "last-heartbeat", "usage.cost"])
def test_answers_match_the_reference(gw, method):
    """What `openclaw gateway call <method> --json` got from OpenClaw's Gateway (read scope)."""
    res = call(gw, method)
    assert res["ok"], res
    assert norm(gw, res["payload"]) == fixture(f"call-{method}")["answer"]


def test_health_has_the_event_loop_and_per_agent_heartbeat(gw):
    payload = call(gw, "health")["payload"]
    loop = payload["eventLoop"]
    assert set(loop) == {"degraded", "reasons", "intervalMs", "delayP99Ms", "delayMaxMs", "utilization",
                         "cpuCoreRatio"} and isinstance(loop["degraded"], bool)
    assert [a["agentId"] for a in payload["agents"]] == ["main", "work", "ops", "lab", "solo", "spare", "spare2"]
    assert payload["agents"][0]["heartbeat"] == {**fixture("call-health")["answer"]["agents"][0]["heartbeat"]}
    assert payload["agents"][0]["heartbeat"]["every"] == "0m" and payload["heartbeatSeconds"] == 0


def test_status_for_an_admin_shows_paths_and_recent_sessions(gw):
    res = call(gw, "status", scopes=("operator.admin",))
    assert norm(gw, res["payload"]) == recorded_py("a-status")["answer"]


def test_read_scope_status_redacts_store_paths(gw):
    sessions = call(gw, "status")["payload"]["sessions"]
    assert sessions["paths"] == [] and sessions["recent"] == []
    assert {a["path"] for a in sessions["byAgent"]} == {"[redacted]"} and sessions["count"] == 28


def test_usage_cost_days_and_device_pair_list(gw):
    assert norm(gw, call(gw, "usage.cost", {"days": 7})["payload"]) == recorded_py("a-usage")["answer"]
    assert call(gw, "device.pair.list", scopes=("operator.admin",))["payload"] == recorded_py("a-pair")["answer"]
    assert call(gw, "diagnostics.stability", {"limit": 1})["payload"]["events"][0]["type"] == \
        "diagnostic.phase.completed"


@pytest.mark.parametrize("name,method,params,scopes", [
    ("a-chan-bad", "channels.status", {"bogus": 1}, ("operator.admin",)),
    ("a-logs-bad", "logs.tail", {"bogus": 1}, ("operator.admin",)),
    ("a-logs-big", "logs.tail", {"limit": 100000, "maxBytes": 100000000}, ("operator.admin",)),
    ("n-status", "status", {}, ("operator.approvals",)),
    ("n-logs", "logs.tail", {"limit": 1}, ("operator.approvals",)),
    ("n-usage", "usage.cost", {}, ("operator.approvals",)),
    ("n-diag", "diagnostics.stability", {}, ("operator.approvals",)),
    ("n-hb", "last-heartbeat", {}, ("operator.approvals",)),
    ("n-mem", "doctor.memory.status", {}, ("operator.approvals",)),
    ("n-chan", "channels.status", {}, ("operator.approvals",)),
    ("n-pair", "device.pair.list", {}, ("operator.read",)),
])
def test_refusals_match_the_reference(gw, name, method, params, scopes):
    res = call(gw, method, params, scopes)
    assert not res["ok"] and res["error"] == recorded_py(name)["answer"]["error"]


def test_open_params_are_ignored_as_the_reference_does(gw):
    for name, method in (("a-status-bad", "status"), ("a-mem-bad", "doctor.memory.status"),
                         ("a-hb-bad", "last-heartbeat"), ("a-usage-bad", "usage.cost")):
        res = call(gw, method, {"bogus": 1}, ("operator.admin",))
        assert res["ok"] and norm(gw, res["payload"]) == recorded_py(name)["answer"], name


def test_health_event_follows_hello_ok(gw):
    ws = connect(gw)
    try:
        event = next_event(ws, "health")
        assert set(event) == set(fixture("events")["health"])  # type, event, payload, seq, stateVersion
        assert norm(gw, event["payload"]) == fixture("events")["health"]["payload"]
    finally:
        ws.close()


def test_presence_events_on_connect_and_disconnect(gw):
    watcher = connect(gw)
    try:
        next_event(watcher, "health")
        instance = str(uuid.uuid4())
        other = open_ws(gw.port)
        challenge(other)
        params = connect_params(token=CASE_TOKEN, scopes=["operator.read"])
        params["client"]["instanceId"] = instance
        assert request(other, "connect", params)["ok"]
        arrived = next_event(watcher, "presence")
        entries = arrived["payload"]["presence"]
        assert entries[0]["mode"] == "gateway" and entries[0]["reason"] == "self"
        mine = next(e for e in entries if e.get("instanceId") == instance)
        recorded = next(e for e in fixture("events")["presence"]["payload"]["presence"] if e.get("mode") == "backend")
        assert list(mine) == list(recorded) and mine["reason"] == "connect" and mine["scopes"] == ["operator.read"]
        assert set(arrived["stateVersion"]) == {"presence", "health"}
        other.close()
        gone = next_event(watcher, "presence")
        assert next(e for e in gone["payload"]["presence"] if e.get("instanceId") == instance)["reason"] == "disconnect"
        listed = request(watcher, "system-presence", {})["payload"]
        assert list(gateway_self(listed[0])) == list(gateway_self(fixture("call-system-presence")["answer"][0]))
        assert any(e.get("instanceId") == instance for e in listed)
    finally:
        watcher.close()


def test_presence_events_only_reach_clients_that_may_read_presence(gw):
    probe, res = handshake(gw.port, token=CASE_TOKEN, scopes=["operator.read"], client_id="cli", mode="probe")
    assert res["ok"] and res["payload"]["auth"]["scopes"] == []  # a device-less CLI probe keeps no scopes
    reader = connect(gw)
    try:
        next_event(reader, "health")
        connect(gw).close()  # someone comes and goes
        assert next_event(reader, "presence")["payload"]["presence"]
        with pytest.raises(TimeoutError):
            next_event(probe, "presence", timeout=1.5)
    finally:
        probe.close()
        reader.close()


def test_cli_mode_clients_are_not_in_presence(gw):
    from openclaw_core.engine.wire.identity import load_or_create_identity

    identity = load_or_create_identity(gw.home / "cli-device")
    ws = open_ws(gw.port)
    nonce = challenge(ws)
    instance = str(uuid.uuid4())
    params = connect_params(token=CASE_TOKEN, scopes=["operator.read"], client_id="cli", mode="cli")
    params["client"]["instanceId"] = instance
    params["device"] = signed_device(identity, params, nonce)
    assert request(ws, "connect", params)["ok"]
    try:
        assert not any(e.get("instanceId") == instance for e in request(ws, "system-presence", {})["payload"])
    finally:
        ws.close()


def test_logs_tail_reads_the_gateways_own_log_bounded(gw):
    log = gw.home / ".openclaw" / "logs" / "core-gateway.log"
    call(gw, "health")
    whole = call(gw, "logs.tail")["payload"]
    assert whole["file"] == str(log) and whole["size"] == whole["cursor"] <= log.stat().st_size
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    fields = set(fixture("call-logs.tail")["answer"]["firstLineFields"]) - {"hostname"}  # no host name in ours
    first = json.loads(whole["lines"][0])
    assert fields <= set(first) and "ready on" in first["message"]
    assert any("res health ok" in json.loads(line)["message"] for line in whole["lines"])
    small = call(gw, "logs.tail", {"maxBytes": 300})["payload"]
    assert small["truncated"] and sum(len(line.encode()) + 1 for line in small["lines"]) <= 300
    assert len(call(gw, "logs.tail", {"limit": 2})["payload"]["lines"]) == 2
    after = call(gw, "logs.tail", {"cursor": log.stat().st_size + 10**9})["payload"]
    assert after["reset"] is True and after["cursor"] == after["size"]


def test_logs_tail_from_a_cursor_returns_only_what_came_after(gw):
    ws = connect(gw)
    try:
        first = request(ws, "logs.tail", {})["payload"]
        request(ws, "health", {})  # logs a line (--verbose)
        later = request(ws, "logs.tail", {"cursor": first["cursor"]})["payload"]
        assert later["reset"] is False and later["lines"]
        assert all(line not in first["lines"] for line in later["lines"])
    finally:
        ws.close()


def test_log_file_rotates_past_its_cap(tmp_path):
    from openclaw_core.adapters.gateway.logfile import GatewayLogFile, tail

    log = GatewayLogFile(tmp_path, max_bytes=2000)
    for i in range(100):
        log.write(f"[gateway] line {i}")
    log.close()
    assert log.path.stat().st_size <= 2000 and log.path.with_name("core-gateway.log.1").stat().st_size <= 2000
    lines = tail(log.path, cursor=None, limit=5000, max_bytes=1_000_000)["lines"]
    assert json.loads(lines[-1])["1"] == "line 99"


def test_an_unwritable_log_dir_does_not_stop_the_gateway(tmp_path):
    from openclaw_core.adapters.gateway.logfile import GatewayLogFile

    (tmp_path / "logs").write_text("not a directory")
    log = GatewayLogFile(tmp_path)
    log.write("[gateway] ready")
    assert log.disabled


def test_scope_less_probe_gets_health_but_not_status(gw):
    """What `gateway probe` meets: a device-less CLI probe keeps no scopes, as on the reference."""
    ws, res = handshake(gw.port, token=CASE_TOKEN, scopes=["operator.read"], client_id="cli", mode="probe")
    try:
        assert res["ok"] and res["payload"]["auth"]["scopes"] == []
        assert request(ws, "health", {})["ok"]
        assert request(ws, "status", {})["error"]["message"] == "missing scope: operator.read"
    finally:
        ws.close()
