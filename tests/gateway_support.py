"""Helpers for the Gateway tests: a real ``openclaw gateway run`` subprocess on
127.0.0.1 and a raw protocol client (websockets' sync client) to poke it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OPENCLAW = str(Path(sys.executable).parent / "openclaw")
TOKEN = "test-token-0123456789abcdef"


@dataclass
class RunningGateway:
    proc: subprocess.Popen
    port: int
    state_dir: Path
    token: str | None
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def log(self) -> str:
        return "\n".join(self.lines)


def gateway_env(state_dir: Path, *, token: str | None = TOKEN, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_URL", "OPENCLAW_CONFIG_PATH"):
        env.pop(key, None)
    env["OPENCLAW_STATE_DIR"] = str(state_dir)
    if token:
        env["OPENCLAW_GATEWAY_TOKEN"] = token
    env.update(extra or {})
    return env


def start_gateway(state_dir: Path, port: int, *, token: str | None = TOKEN, args: tuple[str, ...] = (),
                  extra_env: dict[str, str] | None = None, timeout: float = 20) -> RunningGateway:
    env = gateway_env(state_dir, token=token, extra=extra_env)
    proc = subprocess.Popen([OPENCLAW, "gateway", "run", "--port", str(port), *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    gw = RunningGateway(proc, port, state_dir, token, env)
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            gw.lines.append(line.rstrip("\n"))
            if "[gateway] ready" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.05):
        if proc.poll() is not None or time.monotonic() > deadline:
            gw.stop()
            raise RuntimeError(f"gateway did not start (exit {proc.poll()}):\n{gw.log()}")
    return gw


# --- a raw protocol client ------------------------------------------------------------------

def open_ws(port: int, **kw: Any) -> Any:
    from websockets.sync.client import connect

    # Entered as a context manager would be (websockets >= 17 warns otherwise); closed by the caller.
    return connect(f"ws://127.0.0.1:{port}", open_timeout=5, compression=None, max_size=None, **kw).__enter__()


def recv_json(ws: Any, timeout: float = 5) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def next_event(ws: Any, name: str, timeout: float = 5) -> dict[str, Any]:
    """The next ``name`` event (the health and presence events every client gets are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = recv_json(ws, max(0.01, deadline - time.monotonic()))
        if frame.get("type") == "event" and frame.get("event") == name:
            return frame


def next_response(ws: Any, timeout: float = 5) -> dict[str, Any]:
    """The next ``res`` frame (events are skipped)."""
    while True:
        frame = recv_json(ws, timeout)
        if frame.get("type") == "res":
            return frame


def challenge(ws: Any) -> str:
    frame = recv_json(ws)
    assert frame["type"] == "event" and frame["event"] == "connect.challenge", frame
    return frame["payload"]["nonce"]


def connect_params(*, token: str | None = TOKEN, scopes: list[str] | None = None, client_id: str = "gateway-client",
                   mode: str = "backend", **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "minProtocol": 3, "maxProtocol": 3,
        "client": {"id": client_id, "version": "test", "platform": "linux", "mode": mode,
                   "instanceId": str(uuid.uuid4())},
        "caps": [], "role": "operator", "scopes": scopes if scopes is not None else ["operator.admin"],
    }
    if token is not None:
        params["auth"] = {"token": token}
    params.update(extra)
    return params


def signed_device(identity: Any, params: dict[str, Any], nonce: str, *, signed_at: int | None = None,
                  sign_nonce: str | None = None) -> dict[str, Any]:
    from openclaw_core.engine.wire.identity import auth_payload_v3

    at = int(time.time() * 1000) if signed_at is None else signed_at
    client = params["client"]
    payload = auth_payload_v3(device_id=identity.device_id, client_id=client["id"], client_mode=client["mode"],
                              role=params.get("role", "operator"), scopes=params["scopes"], signed_at_ms=at,
                              token=(params.get("auth") or {}).get("token"), nonce=sign_nonce or nonce,
                              platform=client["platform"], device_family=client.get("deviceFamily"))
    return {"id": identity.device_id, "publicKey": identity.public_key_b64url, "signature": identity.sign(payload),
            "signedAt": at, "nonce": nonce}


def request(ws: Any, method: str, params: Any = None, *, timeout: float = 10) -> dict[str, Any]:
    rid = str(uuid.uuid4())
    frame: dict[str, Any] = {"type": "req", "id": rid, "method": method}
    if params is not None:
        frame["params"] = params
    ws.send(json.dumps(frame))
    while True:
        reply = recv_json(ws, timeout)
        if reply.get("type") == "res" and reply.get("id") == rid:
            return reply


def handshake(port: int, **params_kw: Any) -> tuple[Any, dict[str, Any]]:
    """Open, answer the challenge, connect; returns (ws, connect response)."""
    ws = open_ws(port)
    challenge(ws)
    return ws, request(ws, "connect", connect_params(**params_kw))


def closed_with(ws: Any, timeout: float = 5) -> tuple[int | None, str]:
    """Read until the server closes; returns (code, reason)."""
    from websockets.exceptions import ConnectionClosed

    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
    except ConnectionClosed as exc:
        return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
    except TimeoutError:
        return (None, "timeout")
    return (None, "open")


def read_store(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
