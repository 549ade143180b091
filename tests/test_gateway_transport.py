"""The gateway-RPC transport: Gateway first, offline only when nothing could be
reached. A rejected token, and a request that may have started, are errors —
never a silent local run."""

from __future__ import annotations

import asyncio
import json
import stat
import threading
import time

import pytest

from conftest import now_ms, write_store
from gateway_support import TOKEN, start_gateway


def _config(state, **env):
    from oc import load_config

    return load_config({"OPENCLAW_STATE_DIR": str(state), "HOME": str(state), **env})


def _request(state, method="sessions.cleanup", params=None, timeout=10.0, **env):
    from openclaw_core.engine.transport import TransportRequest

    return TransportRequest(method, params if params is not None else {"enforce": True}, _config(state, **env),
                            timeout=timeout)


@pytest.fixture
def gw(tmp_path, free_port):
    state = tmp_path / "state"
    write_store(state / "agents" / "main" / "sessions" / "sessions.json",
                {"agent:main:main": {"sessionId": "s1", "updatedAt": now_ms()}})
    gateway = start_gateway(state, free_port)
    yield gateway
    gateway.stop()


def test_hook_transport_returns_none_when_nothing_listens(tmp_path, free_port):
    from oc import dispatch

    started = time.monotonic()
    assert dispatch(_request(tmp_path, OPENCLAW_GATEWAY_PORT=str(free_port))) is None
    assert time.monotonic() - started < 2
    # Unlike OpenClaw's CLI, the device identity is written only once a Gateway
    # answers: an offline run creates no file (and a state dir where it cannot be
    # written still runs offline).
    assert not (tmp_path / "identity").exists()


def test_hook_transport_carries_the_call_to_a_running_gateway(gw):
    from oc import dispatch

    response = dispatch(_request(gw.state_dir, "sessions.patch", {"key": "main", "label": "via-rpc"},
                                 OPENCLAW_GATEWAY_PORT=str(gw.port), OPENCLAW_GATEWAY_TOKEN=TOKEN))
    assert response.transport == "gateway"
    assert response.payload["entry"]["label"] == "via-rpc"
    assert response.hello["protocol"] == 4 and "sessions.patch" in response.hello["features"]["methods"]


def test_device_identity_file_is_openclaws_format(gw):
    from openclaw_core.engine.wire.identity import fingerprint, load_identity, raw_public_key
    from oc import dispatch

    dispatch(_request(gw.state_dir, "health", {}, OPENCLAW_GATEWAY_PORT=str(gw.port), OPENCLAW_GATEWAY_TOKEN=TOKEN))
    path = gw.state_dir / "identity" / "device.json"
    data = json.loads(path.read_text())
    assert set(data) == {"version", "deviceId", "publicKeyPem", "privateKeyPem", "createdAtMs"}
    assert data["version"] == 1 and data["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert data["deviceId"] == fingerprint(raw_public_key(data["publicKeyPem"]))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_identity(path).device_id == data["deviceId"]
    before = path.read_text()
    dispatch(_request(gw.state_dir, "health", {}, OPENCLAW_GATEWAY_PORT=str(gw.port), OPENCLAW_GATEWAY_TOKEN=TOKEN))
    assert path.read_text() == before  # reused, not regenerated


def test_rejected_token_is_an_error_not_a_fallback(gw):
    from openclaw_core.base.errors import GatewayError
    from oc import dispatch

    with pytest.raises(GatewayError) as info:
        dispatch(_request(gw.state_dir, OPENCLAW_GATEWAY_PORT=str(gw.port), OPENCLAW_GATEWAY_TOKEN="wrong"))
    message = info.value.message
    assert "rejected our credentials" in message and "gateway token mismatch" in message
    assert "not writing the store offline" in message


def test_method_error_is_reported_as_the_reference_does(gw, run_openclaw):
    env = {"OPENCLAW_STATE_DIR": str(gw.state_dir), "OPENCLAW_GATEWAY_PORT": str(gw.port),
           "OPENCLAW_GATEWAY_TOKEN": TOKEN}
    result = run_openclaw("gateway", "call", "sessions.cleanup", "--params", '{"dryRun": true}', env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == ("GatewayClientRequestError: invalid sessions.cleanup params: "
                                     "at root: unexpected property 'dryRun'")
    result = run_openclaw("gateway", "call", "sessions.patch", "--params", '{"key": "main", "label": "cli"}', env=env)
    assert result.exit_code == 0 and json.loads(result.stdout)["entry"]["label"] == "cli"


def test_gateway_status(gw, run_openclaw, tmp_path):
    from conftest import _free_port

    free_port = _free_port()
    env = {"OPENCLAW_STATE_DIR": str(gw.state_dir), "OPENCLAW_GATEWAY_PORT": str(gw.port),
           "OPENCLAW_GATEWAY_TOKEN": TOKEN}
    result = run_openclaw("gateway", "status", "--json", env=env)
    assert result.exit_code == 0, result
    status = json.loads(result.stdout)
    assert status["reachable"] is True and status["protocol"] == 4 and status["version"] == "0.1.0"
    assert "sessions.cleanup" in status["methods"] and status["uptimeMs"] >= 0
    result = run_openclaw("gateway", "status", env=env)
    assert result.stdout.startswith(f"Gateway: reachable at ws://127.0.0.1:{gw.port}\nVersion: 0.1.0 (protocol 4)")
    # Another state dir (no endpoint record of a running Gateway) on a port nothing listens on.
    result = run_openclaw("gateway", "status", env={**env, "OPENCLAW_GATEWAY_PORT": str(free_port),
                                                    "OPENCLAW_STATE_DIR": str(tmp_path / "other")})
    assert result.exit_code == 1
    assert result.stderr.strip() == f"no Gateway is reachable at ws://127.0.0.1:{free_port}"


# --- a Gateway that misbehaves after the request was sent (a real server on 127.0.0.1) ----------

class MisbehavingGateway:
    """Completes the handshake, then on the request either closes or stays silent."""

    def __init__(self, port: int, on_request: str, snapshot: dict | None = None) -> None:
        self.port = port
        self.snapshot = snapshot or {}
        self.on_request = on_request
        self.requests: list[str] = []
        self.ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _handler(self, ws) -> None:
        await ws.send(json.dumps({"type": "event", "event": "connect.challenge", "payload": {"nonce": "n", "ts": 1}}))
        connect = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "res", "id": connect["id"], "ok": True, "payload": {
            "type": "hello-ok", "protocol": 3, "features": {"methods": ["sessions.cleanup"], "events": []},
            "snapshot": self.snapshot}}))
        request = json.loads(await ws.recv())
        self.requests.append(request["method"])
        if self.on_request == "close":
            await ws.close(1011, "crashed")
        else:
            await asyncio.sleep(30)

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


@pytest.mark.parametrize("behaviour", ["close", "silent"])
def test_no_local_replay_after_the_request_was_sent(tmp_path, free_port, behaviour):
    from openclaw_core.base.errors import GatewayError
    from oc import dispatch
    snapshot = {"stateDir": str(tmp_path), "configPath": str(tmp_path / "openclaw.toml")}
    with MisbehavingGateway(free_port, behaviour, snapshot) as fake:
        with pytest.raises(GatewayError) as info:
            dispatch(_request(tmp_path, timeout=1.5, OPENCLAW_GATEWAY_PORT=str(free_port),
                              OPENCLAW_GATEWAY_TOKEN=TOKEN))
    assert fake.requests == ["sessions.cleanup"]
    assert "may still be running the job" in info.value.message
    assert "Not re-running it offline" in info.value.message
    assert info.value.exit_code == 1


# --- Gateway-first commands of our CLI against our Gateway ----------------------------------------

def _seed_agents(state) -> None:
    (state / "openclaw.json").write_text(json.dumps({
        "agents": {"list": [{"id": "main", "default": True}, {"id": "solo", "workspace": str(state / "ws-solo")}]},
        "session": {"maintenance": {"mode": "warn", "pruneAfter": "30d", "maxEntries": 2}},
    }))
    t = now_ms()
    write_store(state / "agents" / "main" / "sessions" / "sessions.json", {
        f"agent:main:direct:{i}": {"sessionId": f"0000000{i}-0000-4000-8000-00000000000{i}",
                                   "updatedAt": t - i * 3_600_000} for i in range(1, 5)})
    write_store(state / "agents" / "solo" / "sessions" / "sessions.json",
                {"agent:solo:main": {"sessionId": "s-solo", "updatedAt": t}})
    (state / "ws-solo").mkdir()


def test_cleanup_and_agents_delete_go_through_the_running_gateway(tmp_path, free_port, run_openclaw):
    state = tmp_path / "state"
    state.mkdir()
    _seed_agents(state)
    gw = start_gateway(state, free_port, args=("--verbose",),
                       extra_env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg")})
    env = {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_GATEWAY_PORT": str(gw.port), "OPENCLAW_GATEWAY_TOKEN": TOKEN,
           "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    try:
        dry = run_openclaw("sessions", "cleanup", "--dry-run", "--json", env=env)
        assert dry.exit_code == 0, dry
        with_store = run_openclaw("sessions", "cleanup", "--enforce", "--json", "--store",
                                  str(state / "agents" / "solo" / "sessions" / "sessions.json"), env=env)
        assert with_store.exit_code == 0, with_store
        assert "res sessions.cleanup" not in gw.log()  # --dry-run and --store never contact the Gateway
        applied = run_openclaw("sessions", "cleanup", "--enforce", "--json", env=env)
        assert applied.exit_code == 0, applied
        summary = json.loads(applied.stdout)
        assert summary["applied"] is True and summary["capped"] == 2 and summary["afterCount"] == 2
        assert "transport" not in summary  # the reference prints the payload verbatim
        deleted = run_openclaw("agents", "delete", "solo", "--force", "--json", env=env)
        assert deleted.exit_code == 0, deleted
        assert json.loads(deleted.stdout)["transport"] == "gateway"
        wrong = run_openclaw("sessions", "cleanup", "--enforce", "--json",
                             env={**env, "OPENCLAW_GATEWAY_TOKEN": "wrong"})
        assert wrong.exit_code == 1 and "rejected our credentials" in wrong.stderr and wrong.stdout == ""
    finally:
        gw.stop()
    log = gw.log()
    assert log.count("res sessions.cleanup ok") == 1 and "res agents.delete ok" in log, log
    assert len(json.loads((state / "agents" / "main" / "sessions" / "sessions.json").read_text())) == 2
