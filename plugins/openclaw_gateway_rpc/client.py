"""A one-shot protocol-v3 client: challenge -> connect (token + signed device)
-> hello-ok -> one request -> response, on ``websockets``' sync client.

Errors are classified by *when* they happen, because that decides whether the
offline path may run: :class:`Unreachable` before a TCP connection existed,
:class:`~openclaw_core.errors.GatewayError` for everything after.
"""

from __future__ import annotations

import errno
import json
import socket
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from openclaw_core import __version__
from openclaw_core.errors import GatewayError
from openclaw_core.gateway import endpoint
from openclaw_core.gateway.identity import DeviceIdentity, auth_payload_v3, load_or_create_identity

PROTOCOL = 3
DEFAULT_TIMEOUT = 10.0
AUTH_DETAIL_PREFIXES = ("AUTH_", "DEVICE_", "PAIRING_")
UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL,
                      errno.ENETDOWN, errno.EHOSTDOWN, errno.ENOENT}


class Unreachable(Exception):
    """No connection could be made: safe to run the command offline."""


def _open_socket(url: str, deadline: float) -> socket.socket:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise GatewayError(f"Gateway URL {url}: expected ws:// or wss://")
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    try:
        return socket.create_connection((host, port), timeout=max(0.05, deadline - time.monotonic()))
    except socket.gaierror as exc:
        raise Unreachable(f"cannot resolve {host}: {exc}") from None
    except (TimeoutError, socket.timeout):
        raise Unreachable(f"no route to {host}:{port} (connect timed out)") from None
    except OSError as exc:
        if exc.errno in UNREACHABLE_ERRNOS or isinstance(exc, ConnectionRefusedError):
            raise Unreachable(f"{host}:{port}: {exc.strerror or exc}") from None
        raise GatewayError(f"cannot connect to the Gateway at {url}: {exc.strerror or exc}") from None


class Session:
    """One connection, authenticated; :meth:`request` may be called repeatedly."""

    def __init__(self, url: str, *, token: str | None, identity: DeviceIdentity | None, scopes: list[str],
                 timeout: float = DEFAULT_TIMEOUT, client_id: str = "cli", client_mode: str = "cli") -> None:
        self.url = url
        self.token = token
        self.identity = identity
        self.scopes = scopes
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.client_id = client_id
        self.client_mode = client_mode
        self.ws: Any = None
        self.hello: dict[str, Any] = {}

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def open(self) -> dict[str, Any]:
        from websockets.exceptions import InvalidHandshake, WebSocketException
        from websockets.sync.client import connect

        sock = _open_socket(self.url, self.deadline)
        try:
            self.ws = connect(self.url, sock=sock, open_timeout=max(0.05, self._remaining()), compression=None,
                              max_size=None, close_timeout=1,
                              user_agent_header=f"openclaw-core/{__version__}").__enter__()
        except (InvalidHandshake, WebSocketException, OSError, TimeoutError) as exc:
            sock.close()
            raise GatewayError(f"something listens at {self.url} but did not complete a WebSocket handshake "
                               f"({type(exc).__name__}: {exc}); not running offline while it may be a Gateway. "
                               "Stop it, or pass --store to repair a store offline.") from None
        nonce = self._await_challenge()
        params: dict[str, Any] = {
            "minProtocol": PROTOCOL, "maxProtocol": PROTOCOL,
            "client": {"id": self.client_id, "version": __version__, "platform": sys.platform,
                       "mode": self.client_mode, "instanceId": str(uuid.uuid4())},
            "caps": [], "role": "operator", "scopes": self.scopes,
        }
        if self.token:
            params["auth"] = {"token": self.token}
        if self.identity is not None:
            signed_at = int(time.time() * 1000)
            payload = auth_payload_v3(device_id=self.identity.device_id, client_id=self.client_id,
                                      client_mode=self.client_mode, role="operator", scopes=self.scopes,
                                      signed_at_ms=signed_at, token=self.token, nonce=nonce,
                                      platform=sys.platform, device_family=None)
            params["device"] = {"id": self.identity.device_id, "publicKey": self.identity.public_key_b64url,
                                "signature": self.identity.sign(payload), "signedAt": signed_at, "nonce": nonce}
        response = self._exchange("connect", params, stage="connect")
        if not response.get("ok"):
            error = response.get("error") or {}
            message = error.get("message") or "connect refused"
            details = error.get("details") if isinstance(error.get("details"), dict) else {}
            code = str(details.get("code") or error.get("code") or "")
            if code.startswith("AUTH_"):
                raise GatewayError(f"the Gateway at {self.url} rejected our credentials: {message}. "
                                   "Fix the token (gateway.auth.token / OPENCLAW_GATEWAY_TOKEN); "
                                   "not writing the store offline beside a running Gateway.")
            if code.startswith(AUTH_DETAIL_PREFIXES) or error.get("code") == "NOT_PAIRED":
                device = f" (device {self.identity.device_id[:16]}…)" if self.identity else ""
                raise GatewayError(f"the Gateway at {self.url} refused this device{device}: {message}. "
                                   "Approve it on the Gateway; not writing the store offline beside a running "
                                   "Gateway.")
            raise GatewayError(f"the Gateway at {self.url} refused the connection: {message}")
        self.hello = response.get("payload") or {}
        return self.hello

    def _await_challenge(self) -> str:
        while True:
            frame = self._recv(stage="connect")
            if frame.get("type") == "event" and frame.get("event") == "connect.challenge":
                nonce = (frame.get("payload") or {}).get("nonce")
                if isinstance(nonce, str) and nonce:
                    return nonce

    def _recv(self, *, stage: str, request_sent: bool = False) -> dict[str, Any]:
        from websockets.exceptions import ConnectionClosed

        remaining = self._remaining()
        try:
            if remaining <= 0:
                raise TimeoutError
            raw = self.ws.recv(timeout=remaining)
        except TimeoutError:
            if request_sent:
                raise GatewayError(f"no answer from the Gateway at {self.url} within {self.timeout:g} s after the "
                                   "request was sent: the Gateway may still be running the job. Not re-running it "
                                   "offline; check the Gateway before retrying.") from None
            raise GatewayError(f"the Gateway at {self.url} did not complete the {stage} handshake within "
                               f"{self.timeout:g} s; not running offline while it may be running.") from None
        except ConnectionClosed as exc:
            reason = f"{exc.rcvd.code} {exc.rcvd.reason}".strip() if exc.rcvd else "no close frame"
            if request_sent:
                raise GatewayError(f"the Gateway at {self.url} closed the connection ({reason}) after the request "
                                   "was sent: it may still be running the job. Not re-running it offline; check "
                                   "the Gateway before retrying.") from None
            raise GatewayError(f"the Gateway at {self.url} closed the connection during {stage} ({reason}); "
                               "not running offline while a Gateway is there.") from None
        try:
            frame = json.loads(raw)
        except ValueError:
            return {}
        return frame if isinstance(frame, dict) else {}

    def _exchange(self, method: str, params: Any, *, stage: str) -> dict[str, Any]:
        from websockets.exceptions import ConnectionClosed

        request_id = str(uuid.uuid4())
        try:
            self.ws.send(json.dumps({"type": "req", "id": request_id, "method": method, "params": params}))
        except ConnectionClosed:
            raise GatewayError(f"the Gateway at {self.url} closed the connection before {method} was sent; "
                               "nothing was run.") from None
        sent = stage == "request"
        while True:
            frame = self._recv(stage=stage, request_sent=sent)
            if frame.get("type") == "res" and frame.get("id") == request_id:
                return frame

    def request(self, method: str, params: Any) -> Any:
        methods = (self.hello.get("features") or {}).get("methods") or []
        if method not in methods:
            raise GatewayError(f'the Gateway at {self.url} does not support method "{method}"')
        response = self._exchange(method, params, stage="request")
        if response.get("ok"):
            return response.get("payload")
        error = response.get("error") or {}
        raise GatewayError(f"GatewayClientRequestError: {error.get('message') or 'request failed'}")

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001 - closing a dead socket is fine
                pass


def call_for_transport(request: Any) -> Any:
    from openclaw_core.transport import TransportResponse

    config = request.config
    url = endpoint.resolve_url(config)
    token = endpoint.resolve_token(config)
    scopes = list(request.scopes)
    # Like OpenClaw's CLI, the identity exists from the first Gateway attempt on.
    identity = load_or_create_identity(config.state_dir)
    client_id = client_mode = "cli"
    if token and set(scopes) <= {"operator.read"} and _is_loopback_url(url):
        # Read-only calls go device-less as a local backend client (OpenClaw's own
        # rule): pairing our shared identity with read scopes only would make its
        # next admin call a scope upgrade that needs manual approval.
        identity, client_id, client_mode = None, "gateway-client", "backend"
    session = Session(url, token=token, identity=identity, scopes=scopes, timeout=request.timeout,
                      client_id=client_id, client_mode=client_mode)
    try:
        hello = session.open()
        payload = session.request(request.method, request.params)
    except Unreachable:
        return None
    finally:
        session.close()
    return TransportResponse(payload, "gateway", hello=hello)


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return endpoint.is_loopback_host(host)
