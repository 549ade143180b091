"""Device tokens on a real ``openclaw gateway run``: a signed device gets one in hello-ok
``auth.deviceToken`` (+ ``issuedAtMs``) on protocol 3 as on 4 (as OpenClaw 2026.5.4 and
2026.9.6 do, fixture steps 20/21-device-cli), keeps it across connects, and may then connect
with it instead of the shared token, within its scopes. Tokens stay secret: mode 0600,
never in the log, never in another client's frames; a token file that does not parse is
never overwritten."""

from __future__ import annotations

import json
import stat

import pytest

from conftest import _free_port
from gateway_support import TOKEN, challenge, closed_with, connect_params, open_ws, request, signed_device, start_gateway

RECORDED_STEP = "20-device-cli"


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    state = tmp_path_factory.mktemp("gw-tokens")
    (state / "openclaw.json").write_text(json.dumps({"agents": {"list": [{"id": "main", "default": True}]}}))
    gateway = start_gateway(state, _free_port())
    yield gateway
    assert gateway.stop() == 0, gateway.log()


def identity_in(path):
    from openclaw_core.engine.wire.identity import load_or_create_identity

    return load_or_create_identity(path)


def device_connect(port, identity, *, version=4, token=TOKEN, device_token=None, scopes=("operator.read",),
                   client_id="cli", mode="cli"):
    ws = open_ws(port)
    nonce = challenge(ws)
    params = {**connect_params(token=token, client_id=client_id, mode=mode, scopes=list(scopes)),
              "minProtocol": version, "maxProtocol": version}
    if device_token is not None:
        params.setdefault("auth", {})["deviceToken"] = device_token
    device = signed_device(identity, {**params, "auth": {"token": token or device_token}}, nonce)
    params["device"] = device
    return ws, request(ws, "connect", params)


def recorded_hello_auth(step: str) -> dict:
    from test_gateway_v4 import RECORDED

    frames = next(s["frames"] for s in json.loads(RECORDED.read_text())["steps"] if s["step"] == step)
    return next(f["frame"]["payload"]["auth"] for f in frames
                if f["frame"].get("type") == "res" and (f["frame"].get("payload") or {}).get("type") == "hello-ok")


def tokens_file(gw):
    return gw.state_dir / "devices" / "device-tokens.json"


@pytest.mark.parametrize("version", [3, 4])
def test_a_signed_device_gets_a_device_token_and_keeps_it(gw, tmp_path, version):
    identity = identity_in(tmp_path)
    ws, res = device_connect(gw.port, identity, version=version)
    ws.close()
    assert res["ok"], res
    granted = res["payload"]["auth"]
    # The later OpenClaw's keys, in its order (recoveryScope & co. belong to its release).
    recorded = [k for k in recorded_hello_auth(RECORDED_STEP) if not k.startswith("recovery")]
    assert list(granted) == (recorded if version == 4 else [k for k in recorded if k != "method"])
    token, issued = granted["deviceToken"], granted["issuedAtMs"]
    assert len(token) == 43  # as the recorded one (<deviceToken:43 chars>)
    # A second connect gets the same token, issued at the same time (fixture step 21).
    ws, again = device_connect(gw.port, identity, version=version)
    ws.close()
    assert (again["payload"]["auth"]["deviceToken"], again["payload"]["auth"]["issuedAtMs"]) == (token, issued)
    path = tokens_file(gw)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert token not in gw.log()  # never logged


def test_the_device_token_stands_in_for_the_shared_token(gw, tmp_path):
    identity = identity_in(tmp_path)
    ws, res = device_connect(gw.port, identity, scopes=["operator.write"])
    ws.close()
    token = res["payload"]["auth"]["deviceToken"]
    # No shared token: the device token (signed over) lets the device in, within its scopes.
    ws, res = device_connect(gw.port, identity, token=None, device_token=token, scopes=["operator.read"])
    try:
        assert res["ok"], res
        assert res["payload"]["auth"]["method"] == "device-token"
        assert res["payload"]["auth"]["deviceToken"] == token
        assert request(ws, "sessions.list", {})["ok"]
        assert request(ws, "sessions.cleanup", {})["error"]["message"] == "missing scope: operator.admin"
    finally:
        ws.close()
    # The same token sent as auth.token (the later CLI's stored-token form) works too.
    ws, res = device_connect(gw.port, identity, token=token, scopes=["operator.read"])
    ws.close()
    assert res["ok"] and res["payload"]["auth"]["method"] == "device-token"


@pytest.mark.parametrize("case", ["wrong", "broader", "other-device"])
def test_a_device_token_that_does_not_fit_is_refused(gw, tmp_path, case):
    identity = identity_in(tmp_path / "a")
    ws, res = device_connect(gw.port, identity)  # read only
    ws.close()
    token = res["payload"]["auth"]["deviceToken"]
    who, scopes, sent = identity, ["operator.read"], token
    if case == "wrong":
        sent = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif case == "broader":
        scopes = ["operator.admin"]
    else:
        who = identity_in(tmp_path / "b")
    ws, res = device_connect(gw.port, who, token=None, device_token=sent, scopes=scopes)
    assert res["ok"] is False
    assert res["error"]["message"] == "unauthorized: device token mismatch (rotate/reissue device token)"
    assert res["error"]["details"] == {"code": "AUTH_DEVICE_TOKEN_MISMATCH", "authReason": "device_token_mismatch",
                                       "canRetryWithDeviceToken": False,
                                       "recommendedNextStep": "update_auth_credentials"}
    assert closed_with(ws)[0] == 1008
    assert token not in json.dumps(res) and token not in gw.log()


def test_a_device_token_without_a_device_is_not_a_credential(gw, tmp_path):
    ws, res = device_connect(gw.port, identity_in(tmp_path))
    ws.close()
    token = res["payload"]["auth"]["deviceToken"]
    ws = open_ws(gw.port)
    challenge(ws)
    params = {**connect_params(token=None, client_id="cli", mode="cli"), "minProtocol": 4, "maxProtocol": 4,
              "auth": {"deviceToken": token}}
    res = request(ws, "connect", params)
    assert res["ok"] is False and res["error"]["code"] == "NOT_PAIRED"
    closed_with(ws)


def test_asking_for_more_rotates_the_token(gw, tmp_path):
    identity = identity_in(tmp_path)
    ws, first = device_connect(gw.port, identity, scopes=["operator.read"])
    ws.close()
    ws, wider = device_connect(gw.port, identity, scopes=["operator.admin"])
    ws.close()
    a, b = first["payload"]["auth"], wider["payload"]["auth"]
    assert a["deviceToken"] != b["deviceToken"] and b["issuedAtMs"] >= a["issuedAtMs"]
    # The old token no longer works; the new one covers read too (admin implies it).
    ws, res = device_connect(gw.port, identity, token=None, device_token=a["deviceToken"])
    assert res["ok"] is False
    closed_with(ws)
    ws, res = device_connect(gw.port, identity, token=None, device_token=b["deviceToken"])
    ws.close()
    assert res["ok"] and res["payload"]["auth"]["scopes"] == ["operator.read"]


def test_tokens_go_to_their_own_connection_only(gw, tmp_path):
    # An admin backend client (device-less) connected alongside sees no token in its hello-ok,
    # and a backend helper with a signed device pairs nothing, so gets none (OpenClaw's rule).
    watcher = open_ws(gw.port)
    challenge(watcher)
    hello = request(watcher, "connect", {**connect_params(), "minProtocol": 4, "maxProtocol": 4})
    try:
        ws, res = device_connect(gw.port, identity_in(tmp_path))
        ws.close()
        token = res["payload"]["auth"]["deviceToken"]
        assert "deviceToken" not in hello["payload"]["auth"]
        assert token not in json.dumps(request(watcher, "health", {}))
        assert token not in json.dumps(request(watcher, "config.get", {}))
    finally:
        watcher.close()
    ws, res = device_connect(gw.port, identity_in(tmp_path / "helper"), client_id="gateway-client", mode="backend")
    ws.close()
    assert res["ok"] and "deviceToken" not in res["payload"]["auth"]


def test_a_token_file_that_does_not_parse_is_left_alone(tmp_path):
    state = tmp_path / "state"
    (state / "devices").mkdir(parents=True)
    broken = state / "devices" / "device-tokens.json"
    broken.write_text('{"version": 1, "devices": {"x": ')
    gateway = start_gateway(state, _free_port())
    try:
        ws, res = device_connect(gateway.port, identity_in(tmp_path / "id"))
        ws.close()
        # The device still connects with the shared token; it just gets no token.
        assert res["ok"] and "deviceToken" not in res["payload"]["auth"]
    finally:
        assert gateway.stop() == 0
    assert broken.read_text() == '{"version": 1, "devices": {"x": '
    assert "device tokens unavailable" in gateway.log()
