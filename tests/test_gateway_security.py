"""The Gateway against bad input and bad actors: every case gets the documented
error or close, and the server keeps serving the next client. A real
``openclaw gateway run`` on 127.0.0.1 (one per module; a short handshake
timeout so the slow-client case is quick)."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from gateway_support import (
    OPENCLAW,
    TOKEN,
    challenge,
    closed_with,
    connect_params,
    gateway_env,
    handshake,
    next_response,
    open_ws,
    recv_json,
    request,
    signed_device,
    start_gateway,
)


# The module-scoped Gateway is shared by the tests here (some check what earlier ones left):
# under pytest-xdist the module runs on one worker (make test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_gateway_security")


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    from ports import free_port

    state = tmp_path_factory.mktemp("gw-security")
    gateway = start_gateway(state, free_port(), extra_env={"OPENCLAW_HANDSHAKE_TIMEOUT_MS": "1500"})
    yield gateway
    assert gateway.stop() == 0, gateway.log()


def still_serving(gw) -> None:
    ws, res = handshake(gw.port)
    try:
        assert res["ok"], res
        assert request(ws, "health")["ok"]
    finally:
        ws.close()


def test_challenge_then_hello_ok_with_methods_and_policy(gw):
    ws = open_ws(gw.port)
    nonce = challenge(ws)
    assert len(nonce) == 36
    res = request(ws, "connect", connect_params())
    ws.close()
    assert res["ok"] is True
    hello = res["payload"]
    assert hello["type"] == "hello-ok" and hello["protocol"] == 3
    for method in ("health", "sessions.list", "sessions.patch", "sessions.reset", "sessions.delete",
                   "sessions.cleanup", "sessions.subscribe", "agents.list", "agents.delete", "config.get"):
        assert method in hello["features"]["methods"]
    assert "sessions.changed" in hello["features"]["events"]
    assert hello["policy"] == {"maxPayload": 26214400, "maxBufferedBytes": 52428800, "tickIntervalMs": 30000}
    assert hello["auth"] == {"role": "operator", "scopes": ["operator.admin"]}
    assert hello["snapshot"]["authMode"] == "token"


def test_wrong_token_is_refused_with_1008(gw):
    ws, res = handshake(gw.port, token="wrong-token")
    assert res["ok"] is False
    assert res["error"]["code"] == "INVALID_REQUEST"
    assert res["error"]["message"] == "unauthorized: gateway token mismatch (provide gateway auth token)"
    assert res["error"]["details"] == {"code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch",
                                       "canRetryWithDeviceToken": False,
                                       "recommendedNextStep": "update_auth_credentials"}
    assert closed_with(ws) == (1008, "unauthorized: gateway token mismatch (provide gateway auth token)")
    still_serving(gw)


def test_missing_token_without_device_needs_a_device(gw):
    ws, res = handshake(gw.port, token=None)
    assert res["ok"] is False
    assert res["error"] == {"code": "NOT_PAIRED", "message": "device identity required",
                            "details": {"code": "DEVICE_IDENTITY_REQUIRED"}}
    assert closed_with(ws) == (1008, "device identity required")
    still_serving(gw)


def test_missing_token_with_a_valid_device_is_unauthorized(gw, tmp_path):
    from openclaw_core.engine.wire.identity import load_or_create_identity

    identity = load_or_create_identity(tmp_path)
    ws = open_ws(gw.port)
    nonce = challenge(ws)
    params = connect_params(token=None, client_id="cli", mode="cli")
    params["device"] = signed_device(identity, params, nonce)
    res = request(ws, "connect", params)
    assert res["ok"] is False and res["error"]["details"]["code"] == "AUTH_TOKEN_MISSING"
    assert "gateway token missing" in res["error"]["message"]
    assert closed_with(ws)[0] == 1008


def test_signed_device_with_token_is_accepted_and_keeps_scopes(gw, tmp_path):
    from openclaw_core.engine.wire.identity import load_or_create_identity

    identity = load_or_create_identity(tmp_path)
    ws = open_ws(gw.port)
    nonce = challenge(ws)
    params = connect_params(client_id="cli", mode="cli", scopes=["operator.admin"])
    params["device"] = signed_device(identity, params, nonce)
    res = request(ws, "connect", params)
    assert res["ok"] is True, res
    assert res["payload"]["auth"]["scopes"] == ["operator.admin"]
    assert request(ws, "agents.list")["ok"]
    ws.close()


@pytest.mark.parametrize(("tamper", "code"), [
    ("signature", "DEVICE_AUTH_SIGNATURE_INVALID"),
    ("nonce", "DEVICE_AUTH_NONCE_MISMATCH"),
    ("stale", "DEVICE_AUTH_SIGNATURE_EXPIRED"),
    ("id", "DEVICE_AUTH_DEVICE_ID_MISMATCH"),
])
def test_a_bad_device_identity_is_refused(gw, tmp_path, tamper, code):
    from openclaw_core.engine.wire.identity import load_or_create_identity

    identity = load_or_create_identity(tmp_path)
    ws = open_ws(gw.port)
    nonce = challenge(ws)
    params = connect_params(client_id="cli", mode="cli")
    if tamper == "signature":  # signed for other scopes than it asks for
        device = signed_device(identity, {**params, "scopes": ["operator.read"]}, nonce)
    elif tamper == "nonce":
        device = signed_device(identity, params, "00000000-0000-4000-8000-000000000000")
        device["nonce"] = "00000000-0000-4000-8000-000000000000"
    elif tamper == "stale":
        device = signed_device(identity, params, nonce, signed_at=int(time.time() * 1000) - 10 * 60_000)
    else:
        device = signed_device(identity, params, nonce)
        device["id"] = "0" * 64
    params["device"] = device
    res = request(ws, "connect", params)
    assert res["ok"] is False and res["error"]["details"]["code"] == code, res
    assert closed_with(ws)[0] == 1008
    still_serving(gw)


def test_first_frame_must_be_connect(gw):
    ws = open_ws(gw.port)
    challenge(ws)
    res = request(ws, "health")
    assert res["error"] == {"code": "INVALID_REQUEST", "message": "invalid handshake: first request must be connect"}
    assert closed_with(ws) == (1008, "invalid handshake: first request must be connect")
    still_serving(gw)


def test_malformed_json_before_connect_closes_1008(gw):
    ws = open_ws(gw.port)
    challenge(ws)
    ws.send("{not json")
    assert closed_with(ws) == (1008, "invalid request frame")
    still_serving(gw)


def test_malformed_json_after_connect_is_answered_and_the_connection_lives(gw):
    ws, res = handshake(gw.port)
    assert res["ok"]
    ws.send("]]]")
    reply = next_response(ws)  # the health/presence events after hello-ok skipped
    assert reply["id"] == "invalid" and reply["error"]["message"] == "invalid request frame: not valid JSON"
    ws.send(json.dumps({"type": "req", "id": "x1", "method": "health", "extra": 1}))
    reply = next_response(ws)
    assert reply["id"] == "x1" and reply["error"]["message"] == "invalid request frame: at root: unexpected property 'extra'"
    assert request(ws, "health")["ok"]
    ws.close()


def test_unknown_connect_param_is_rejected(gw):
    ws = open_ws(gw.port)
    challenge(ws)
    res = request(ws, "connect", connect_params(sneaky=True))
    assert res["error"]["message"] == "invalid connect params: at root: unexpected property 'sneaky'"
    assert closed_with(ws)[0] == 1008


def test_protocol_mismatch_closes_1002(gw):
    ws = open_ws(gw.port)
    challenge(ws)
    res = request(ws, "connect", {**connect_params(), "minProtocol": 5, "maxProtocol": 6})
    assert res["error"] == {"code": "INVALID_REQUEST", "message": "protocol mismatch", "details": {
        "code": "PROTOCOL_MISMATCH", "clientMinProtocol": 5, "clientMaxProtocol": 6, "expectedProtocol": 4,
        "minimumProbeProtocol": 3}}
    assert closed_with(ws) == (1002, "protocol mismatch")


def test_oversized_frame_before_connect_closes_1009(gw):
    ws = open_ws(gw.port)
    challenge(ws)
    ws.send(json.dumps({"type": "req", "id": "1", "method": "connect", "params": {"pad": "x" * 70_000}}))
    assert closed_with(ws)[0] == 1009
    still_serving(gw)


def test_frame_over_max_payload_closes_1009(gw):
    ws, res = handshake(gw.port)
    assert res["ok"]
    ws.send(json.dumps({"type": "req", "id": "1", "method": "health", "params": {"pad": "x" * (25 * 1024 * 1024)}}))
    assert closed_with(ws, timeout=20)[0] == 1009
    still_serving(gw)


def test_unknown_method_and_missing_scope(gw):
    ws, res = handshake(gw.port)
    assert request(ws, "no.such.method")["error"] == {"code": "INVALID_REQUEST", "message": "unknown method: no.such.method"}
    ws.close()
    ws, res = handshake(gw.port, scopes=["operator.read"])
    assert res["ok"]
    assert request(ws, "sessions.cleanup", {"agent": "main"})["error"] == {
        "code": "INVALID_REQUEST", "message": "missing scope: operator.admin"}
    assert request(ws, "sessions.patch", {"key": "main", "label": "x"})["error"]["message"] == "missing scope: operator.admin"
    assert request(ws, "no.such.method")["error"]["message"] == "missing scope: operator.admin"
    assert request(ws, "sessions.list", {"limit": 1})["ok"]  # read scope is enough here
    ws.close()


def test_device_less_cli_client_loses_its_scopes(gw):
    # Scopes are bound to a device identity; only backend clients may go without one.
    ws, res = handshake(gw.port, client_id="cli", mode="cli")
    assert res["ok"] and res["payload"]["auth"]["scopes"] == []
    assert request(ws, "sessions.list")["error"]["message"] == "missing scope: operator.read"
    assert request(ws, "health")["ok"]
    ws.close()


def test_invalid_method_params_are_rejected_with_the_reference_wording(gw):
    ws, _ = handshake(gw.port)
    assert request(ws, "sessions.cleanup", {"dryRun": True})["error"]["message"] == \
        "invalid sessions.cleanup params: at root: unexpected property 'dryRun'"
    assert request(ws, "sessions.patch", {"label": "x"})["error"]["message"] == \
        "invalid sessions.patch params: must have required property 'key'"
    assert request(ws, "sessions.list", {"limit": 0})["error"]["message"] == \
        "invalid sessions.list params: at /limit: must be >= 1"
    assert request(ws, "connect", connect_params())["error"]["message"] == "connect is only valid as the first request"
    ws.close()


def test_slow_client_is_closed_and_others_are_served_meanwhile(gw):
    slow = open_ws(gw.port)
    challenge(slow)  # ... and never sends connect
    started = time.monotonic()
    result: dict = {}
    waiter = threading.Thread(target=lambda: result.update(close=closed_with(slow, timeout=10)))
    waiter.start()
    still_serving(gw)  # served while the slow one is pending
    waiter.join()
    assert result["close"] == (1008, "handshake timeout")
    assert 1.0 < time.monotonic() - started < 8


def test_non_loopback_bind_without_token_refuses_to_start(tmp_path, free_port):
    env = gateway_env(tmp_path, token=None)
    proc = subprocess.run([OPENCLAW, "gateway", "run", "--port", str(free_port), "--bind", "lan"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("refusing to bind the Gateway to lan without a token: set gateway.auth.token "
                                   "or OPENCLAW_GATEWAY_TOKEN, or bind to loopback")
    proc = subprocess.run([OPENCLAW, "gateway", "run", "--port", str(free_port), "--bind", "10.1.2.3"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "without a token" in proc.stderr


def test_bad_bind_value_is_a_usage_error(tmp_path, free_port):
    env = gateway_env(tmp_path, token=TOKEN)
    proc = subprocess.run([OPENCLAW, "gateway", "run", "--port", str(free_port), "--bind", "everywhere"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.strip() == '--bind: expected "loopback", "lan" or an IP address, got "everywhere"'
