"""A one-shot protocol v3/v4 client: challenge -> connect (token + signed device)
-> hello-ok -> one request -> response, on ``websockets``' sync client.

Errors are classified by *when* they happen, because that decides whether the
offline path may run: :class:`Unreachable` before a TCP connection existed,
:class:`~openclaw_core.base.errors.GatewayError` for everything after.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from openclaw_core import __version__
from openclaw_core.base.errors import GatewayError
from openclaw_core.engine.wire import endpoint
from openclaw_core.engine.wire.identity import DeviceIdentity, auth_payload_v3, identity_path, load_or_create_identity
from openclaw_gateway_rpc import device_auth

# By default we offer both versions: OpenClaw 2026.5.4's Gateway speaks only 3, the later
# one only 4 (ours both), and the frames we send and read are the same in both. A Session
# may narrow the range (min_protocol/max_protocol).
MIN_PROTOCOL, MAX_PROTOCOL = 3, 4
DEFAULT_TIMEOUT = 10.0
AUTH_DETAIL_PREFIXES = ("AUTH_", "DEVICE_", "PAIRING_")
UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL,
                      errno.ENETDOWN, errno.EHOSTDOWN, errno.ENOENT, errno.EAFNOSUPPORT}


class NotThisStateDirs(Exception):
    """Told before signing in: this Gateway serves another state dir (the reason)."""


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

    def __init__(self, url: str, *, token: str | None,
                 identity: DeviceIdentity | Callable[[], DeviceIdentity] | None, scopes: list[str],
                 timeout: float = DEFAULT_TIMEOUT, client_id: str = "cli", client_mode: str = "cli",
                 deadline: float | None = None, min_protocol: int = MIN_PROTOCOL, max_protocol: int = MAX_PROTOCOL,
                 device_auth: Path | None = None, vet: Callable[[Session], str | None] | None = None) -> None:
        if not MIN_PROTOCOL <= min_protocol <= max_protocol <= MAX_PROTOCOL:
            raise ValueError(f"protocol range {min_protocol}..{max_protocol} is not within "
                             f"{MIN_PROTOCOL}..{MAX_PROTOCOL}")
        self.url = url
        self.token = token
        # A callable is called once something answered: no identity is written
        # while no Gateway is there (the offline path then runs without one).
        self.identity = identity
        self.scopes = scopes
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout if deadline is None else deadline
        self.client_id = client_id
        self.client_mode = client_mode
        self.min_protocol, self.max_protocol = min_protocol, max_protocol
        # Where to keep the device token a Gateway issues (device_auth.py); None: not kept.
        self.device_auth = device_auth
        # Called once the WebSocket is open, before anything of ours is sent: a
        # reason it returns ends the session unsigned (NotThisStateDirs).
        self.vet = vet
        self.ws: Any = None
        self.hello: dict[str, Any] = {}

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def open(self) -> dict[str, Any]:
        # The TCP connect first: with no Gateway there (the usual offline command)
        # websockets and ssl are never imported (a fifth of such a command's start-up).
        sock = _open_socket(self.url, self.deadline)
        try:
            from websockets.exceptions import InvalidHandshake, WebSocketException
            from websockets.sync.client import connect
        except BaseException:
            sock.close()
            raise
        try:
            self.ws = connect(self.url, sock=sock, open_timeout=max(0.05, self._remaining()), compression=None,
                              max_size=None, close_timeout=1,
                              user_agent_header=f"openclaw-core/{__version__}").__enter__()
        except (InvalidHandshake, WebSocketException, OSError, TimeoutError) as exc:
            sock.close()
            raise GatewayError(f"something listens at {self.url} but did not complete a WebSocket handshake "
                               f"({type(exc).__name__}: {exc}); not running offline while it may be a Gateway. "
                               "Stop it, or pass --store to repair a store offline.") from None
        if self.vet is not None:
            reason = self.vet(self)
            if reason is not None:
                raise NotThisStateDirs(reason)
        nonce = self._await_challenge()
        if callable(self.identity):
            self.identity = self.identity()
        params: dict[str, Any] = {
            "minProtocol": self.min_protocol, "maxProtocol": self.max_protocol,
            "client": {"id": self.client_id, "version": __version__, "platform": sys.platform,
                       "mode": self.client_mode, "instanceId": str(uuid.uuid4())},
            "caps": [], "role": "operator", "scopes": self.scopes,
        }
        stored = self._stored_token()
        if self.token:
            params["auth"] = {"token": self.token}
        elif stored is not None:
            # No shared token: the device token this Gateway issued us stands in for it.
            params["auth"] = {"deviceToken": stored.token}
        if self.identity is not None:
            signed_at = int(time.time() * 1000)
            payload = auth_payload_v3(device_id=self.identity.device_id, client_id=self.client_id,
                                      client_mode=self.client_mode, role="operator", scopes=self.scopes,
                                      signed_at_ms=signed_at, token=self.token or (stored and stored.token),
                                      nonce=nonce, platform=sys.platform, device_family=None)
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
        version = self.hello.get("protocol")
        if (not isinstance(version, int) or isinstance(version, bool)
                or not self.min_protocol <= version <= self.max_protocol):
            raise GatewayError(f"the Gateway at {self.url} answered with protocol {version!r}; this client speaks "
                               f"{self.min_protocol}..{self.max_protocol}. Not running offline while a Gateway "
                               "is there.")
        self._keep_device_token(stored)
        return self.hello

    def _stored_token(self) -> Any:
        if self.device_auth is None or not isinstance(self.identity, DeviceIdentity):
            return None
        return device_auth.load_token(self.device_auth, self.identity.device_id)

    def _keep_device_token(self, stored: Any) -> None:
        """Persist hello-ok's ``auth.deviceToken`` when it is new or different (OpenClaw's rule)."""
        granted = self.hello.get("auth") if isinstance(self.hello.get("auth"), dict) else {}
        token = granted.get("deviceToken")
        if self.device_auth is None or not isinstance(self.identity, DeviceIdentity) or not isinstance(token, str):
            return
        if not token or (stored is not None and stored.token == token):
            return
        scopes = [s for s in granted.get("scopes") or [] if isinstance(s, str)]
        if not device_auth.store_token(self.device_auth, self.identity.device_id, "operator", token, scopes):
            print(f"openclaw: not keeping the Gateway's device token: {self.device_auth} is not readable "
                  "(left as it is)", file=sys.stderr, flush=True)

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
    from openclaw_core.engine.transport import TransportResponse

    config = request.config
    token = endpoint.resolve_token(config)  # an unset ${VAR} token fails here, before anything is touched
    scopes = list(request.scopes)
    # A mutation goes only to the Gateway of the state dir this command resolved;
    # an explicit target (OPENCLAW_GATEWAY_URL, gateway.remote) is the user's word.
    check_state_dir = request.mutating and not endpoint.is_explicit_target(config)
    deadline = time.monotonic() + request.timeout
    skipped: set[str] = set()
    for url in endpoint.candidate_urls(config):
        identity: Any = functools.partial(_identity_for, config.state_dir, url)
        client_id = client_mode = "cli"
        if token and set(scopes) <= {"operator.read"} and _is_loopback_url(url):
            # Read-only calls go device-less as a local backend client (OpenClaw's own
            # rule): pairing our shared identity with read scopes only would make its
            # next admin call a scope upgrade that needs manual approval.
            identity, client_id, client_mode = None, "gateway-client", "backend"
        session = Session(url, token=token, identity=identity, scopes=scopes, timeout=request.timeout,
                          client_id=client_id, client_mode=client_mode, deadline=deadline,
                          vet=functools.partial(_another_core_gateway, config) if check_state_dir else None)
        try:
            try:
                hello = session.open()
            except NotThisStateDirs as exc:
                _tell_skipped(url, str(exc), skipped)
                continue
            if check_state_dir:
                other = _serves_other_state(hello, config, url)
                if other is not None:
                    _tell_skipped(url, other, skipped)
                    continue
            payload = session.request(request.method, request.params)
        except Unreachable:
            continue
        finally:
            session.close()
        return TransportResponse(payload, "gateway", hello=hello, url=url)
    return None


def _tell_skipped(url: str, why: str, told: set[str]) -> None:
    if why not in told:  # one line per Gateway, not per address it listens on
        told.add(why)
        print(f"openclaw: not using the Gateway at {url}: {why}", file=sys.stderr, flush=True)


def _another_core_gateway(config: Any, session: Session) -> str | None:
    """Before signing in (no token, no device signature sent): an openclaw-core
    Gateway holds its state dir's lock while it serves, so one answering here while
    this command's state dir is unlocked serves another. Any other Gateway (the
    reference's) is told apart by its hello-ok, after the handshake."""
    from openclaw_core.engine.wire.instance import gateway_serves

    server = session.ws.response.headers.get("Server", "") if session.ws.response is not None else ""
    if not server.startswith("openclaw-core/") or _recorded_here(config, session.url):
        return None
    if gateway_serves(Path(config.state_dir)) is not False:
        return None
    return f"it is an openclaw-core Gateway of another state dir (none runs for {config.state_dir}); not signing in to it"


def _recorded_here(config: Any, url: str) -> bool:
    """Whether this state dir's live endpoint record names the port ``url`` is on: a
    Gateway that serves us without holding the state-dir lock (one started before
    the lock existed, still running after an upgrade; a state dir swapped under it)
    leaves the lock free, so then only the hello-ok may decide."""
    record = endpoint.read_record(Path(config.state_dir))
    return record is not None and urlsplit(url).port in {port for _host, port in record["listen"]}


def _identity_for(state_dir: Any, url: str) -> DeviceIdentity:
    try:
        return load_or_create_identity(state_dir)
    except OSError as exc:
        parent = identity_path(state_dir).parent
        reason = f"{parent} is not a directory" if isinstance(exc, FileExistsError) else exc.strerror or str(exc)
        raise GatewayError(f"cannot write device identity {identity_path(state_dir)}: {reason}; "
                           f"the Gateway at {url} needs it, so nothing was sent (and nothing run offline beside "
                           "a running Gateway)") from None


def _real(path: Any) -> str:
    return os.path.realpath(os.fspath(path))


def _serves_other_state(hello: dict[str, Any], config: Any, url: str) -> str | None:
    """Why the Gateway that sent ``hello`` is not this command's (None: it is).
    Both OpenClaw's Gateway and ours put stateDir and configPath in an admin hello-ok."""
    snapshot = hello.get("snapshot") if isinstance(hello.get("snapshot"), dict) else {}
    state_dir, config_path = snapshot.get("stateDir"), snapshot.get("configPath")
    if not isinstance(state_dir, str) or not isinstance(config_path, str):
        # Unknown is not "other": it may be this state dir's, so no offline run beside it either.
        raise GatewayError(f"the Gateway at {url} does not say which state "
                           "dir it serves (no snapshot.stateDir/configPath in its hello-ok): not sending it a "
                           "mutation, and not running offline beside it. Stop it, or pass --store to maintain a "
                           "store offline.")
    if _real(state_dir) != _real(config.state_dir):
        return f"it serves state dir {state_dir}, this command's is {config.state_dir}"
    if _real(config_path) != _real(config.path):
        return f"it uses config {config_path}, this command's is {config.path}"
    return None


def _is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return endpoint.is_loopback_host(host)
