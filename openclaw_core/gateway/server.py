"""The Gateway server: OpenClaw's protocol v3 and v4 over the ``websockets`` library.

One asyncio loop speaks WebSocket; every store mutation is handed to the
store's :class:`~openclaw_core.store.writer.StoreWriter` and awaited, so a
response leaves only after its write is durable, and concurrent patches from
many connections coalesce into group commits. Reads that may block (a store
load, a cleanup's file scan) run on a small thread pool.

Connection life: ``connect.challenge`` -> ``connect`` (first frame, at most
64 KiB, within 15 s) -> ``hello-ok`` -> requests, each answered by a ``res``
frame; ``tick`` events every 30 s and ``sessions.changed`` events for clients
that called ``sessions.subscribe``. A bad first frame, a failed auth or a
too-large frame closes the socket with the code OpenClaw uses; the server
carries on serving everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from openclaw_core import __version__
from openclaw_core.errors import OpenClawError
from openclaw_core.gateway import auth, protocol
from openclaw_core.gateway.endpoint import is_loopback_host  # noqa: F401 - re-exported for the CLI
from openclaw_core.gateway.methods import GatewayMethod, MethodCall, MethodError
from openclaw_core.gateway.protocol import ErrorCodes, error_shape

if TYPE_CHECKING:
    from websockets.asyncio.server import Server, ServerConnection

    from openclaw_core.config import Config
    from openclaw_core.plugins import OpenClawPluginManager
    from openclaw_core.store.state import MutationView

T = TypeVar("T")

EVENTS = ["connect.challenge", "sessions.changed", "tick", "shutdown", "health"]
DRAIN_TIMEOUT_S = 60.0   # longest wait for in-flight requests at shutdown
MAX_INFLIGHT_PER_CONNECTION = 64  # requests (and event sends) of one connection being served at once


def _now_ms() -> int:
    return int(time.time() * 1000)


def _dumps(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode("utf-8")


def resolve_bind_hosts(bind: str) -> list[str]:
    """``loopback`` -> 127.0.0.1 and ::1; ``lan`` -> every IPv4 interface; else the address given."""
    if bind == "loopback":
        return ["127.0.0.1", "::1"]
    if bind == "lan":
        return ["0.0.0.0"]
    return [bind]


@dataclass
class ClientSession:
    """One authenticated connection."""

    conn_id: str
    ws: ServerConnection
    role: str
    scopes: list[str]
    client: dict[str, Any]
    device_id: str | None
    protocol_version: int = protocol.PROTOCOL_VERSION  # negotiated at connect: decides the shapes it gets
    seq: int = 0
    subscribed: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class GatewayServer:
    """Serve the methods from ``openclaw_gateway_methods`` on ``hosts``:``port``."""

    def __init__(self, config: Config, pm: OpenClawPluginManager, *, hosts: Iterable[str], port: int,
                 token: str | None, preauth_timeout: float = protocol.PREAUTH_TIMEOUT_S,
                 tick_interval_ms: int = protocol.TICK_INTERVAL_MS,
                 log: Callable[[str], None] | None = None, verbose: bool = False) -> None:
        self._config = config
        self._config_stamp = self._stamp(config)
        self.pm = pm
        self.hosts = list(hosts)
        self.port = port
        self.token = token
        self.preauth_timeout = preauth_timeout
        self.tick_interval_ms = tick_interval_ms
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.verbose = verbose  # one log line per request (operators, interop tests)
        self.methods: dict[str, GatewayMethod] = collect_methods(pm, self.log)
        self.clients: dict[str, ClientSession] = {}
        self.started_at = time.monotonic()
        self.bound: list[tuple[str, int]] = []
        self._servers: list[Server] = []
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="openclaw-gateway")
        self._tick_task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- config (re-read when the file changes, e.g. after agents.delete) ------------------------

    @staticmethod
    def _stamp(config: Config) -> tuple[int, int] | None:
        try:
            st = os.stat(config.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    @property
    def config(self) -> Config:
        stamp = self._stamp(self._config)
        if stamp != self._config_stamp:
            from openclaw_core.config import load_config

            try:
                fresh = load_config(self._config.env)
            except OpenClawError as exc:
                self.log(f"[gateway] config reload failed, keeping the previous one: {exc}")
                self._config_stamp = stamp
            else:
                self._config, self._config_stamp = fresh, stamp
                self.log("[gateway] config reloaded")
        return self._config

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind every host on one port (127.0.0.1 and ::1 for loopback) and start serving."""
        from websockets.asyncio.server import serve

        sockets: list[Any] = []
        errors: list[str] = []
        for host in self.hosts:
            port = sockets[0].getsockname()[1] if sockets else self.port
            try:
                sockets.append(_listen(host, port))
            except OSError as exc:
                if host == "::1" and sockets:
                    continue  # a host without IPv6: 127.0.0.1 alone is fine
                errors.append(f"{host}:{port}: {exc.strerror or exc}")
        if errors or not sockets:
            for sock in sockets:
                sock.close()
            raise OpenClawError(f"cannot listen on {', '.join(errors) or 'no address'}")
        for sock in sockets:
            self._servers.append(await serve(
                self._handle, sock=sock, compression=None, max_size=protocol.MAX_PAYLOAD_BYTES,
                ping_interval=None, server_header=f"openclaw-core/{__version__}"))
        self.bound = [(s.getsockname()[0], s.getsockname()[1]) for s in sockets]
        self.port = self.bound[0][1]
        # Where this state dir's Gateway listens, for clients (any bind, any port).
        from openclaw_core.gateway.endpoint import write_record

        try:
            write_record(self._config.state_dir, self.bound, self._config.path)
        except OSError as exc:
            self.log(f"[gateway] cannot write the endpoint record: {exc.strerror or exc} "
                     "(clients find this Gateway only on the configured port)")
        self.started_at = time.monotonic()
        self._tick_task = asyncio.create_task(self._tick_loop())

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (their writes complete),
        tell clients, close them, then finish every queued write."""
        if self._stopping:
            return
        self._stopping = True
        for server in self._servers:
            server.server.close()  # stop listening; open connections carry on for now
        if self._tick_task is not None:
            self._tick_task.cancel()
        inflight = [t for c in self.clients.values() for t in c.tasks]
        if inflight:
            self.log(f"[gateway] finishing {len(inflight)} request(s) before exit")
            await asyncio.wait(inflight, timeout=DRAIN_TIMEOUT_S)
        for session in list(self.clients.values()):
            await self._send(session, {"type": "event", "event": "shutdown", "payload": {"reason": "gateway stopping"},
                                       "seq": self._next_seq(session)})
            with contextlib.suppress(Exception):
                await session.ws.close(protocol.CLOSE_SERVICE_RESTART, "service restart")
        for server in self._servers:
            server.close()  # connections still in their handshake
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        loop = asyncio.get_running_loop()
        from openclaw_core.store.writer import close_writers

        await loop.run_in_executor(self._executor, close_writers)
        self._executor.shutdown(wait=True)
        from openclaw_core.gateway.endpoint import remove_record

        remove_record(self._config.state_dir)

    # -- store access for handlers -------------------------------------------------------------------

    async def mutate(self, store_path: str, fn: Callable[[MutationView], T], **options: Any) -> T:
        from openclaw_core.store.writer import get_writer

        writer = get_writer(store_path, self.config, self.pm)
        result = await asyncio.wrap_future(writer.submit(fn, **options))
        return result.value

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    # -- events -------------------------------------------------------------------------------------

    def _next_seq(self, session: ClientSession) -> int:
        session.seq += 1
        return session.seq

    def emit_sessions_changed(self, payload: dict[str, Any]) -> None:
        """``sessions.changed`` to every subscriber (targeted: no ``seq``); slow ones miss it."""
        frame = _dumps({"type": "event", "event": "sessions.changed", "payload": {**payload, "ts": _now_ms()}})
        for session in self.clients.values():
            if session.subscribed and not _is_slow(session.ws):
                self._spawn(session, self._send_text(session, frame))

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_ms / 1000)
            for session in list(self.clients.values()):
                if not _is_slow(session.ws):
                    frame = {"type": "event", "event": "tick", "payload": {"ts": _now_ms()},
                             "seq": self._next_seq(session)}
                    self._spawn(session, self._send(session, frame))

    # -- connections ----------------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        conn_id = str(uuid.uuid4())
        ws.protocol.max_message_size = protocol.PREAUTH_MAX_BYTES
        nonce = str(uuid.uuid4())
        try:
            await ws.send(_dumps({"type": "event", "event": "connect.challenge",
                                  "payload": {"nonce": nonce, "ts": _now_ms()}}))
            session = await self._handshake(ws, conn_id, nonce)
        except Exception:  # noqa: BLE001 - a dead socket during the handshake ends only this connection
            return
        if session is None:
            return
        self.clients[conn_id] = session
        try:
            await self._serve(session)
        finally:
            self.clients.pop(conn_id, None)

    async def _handshake(self, ws: ServerConnection, conn_id: str, nonce: str) -> ClientSession | None:
        from websockets.exceptions import ConnectionClosed

        try:
            raw = await asyncio.wait_for(ws.recv(), self.preauth_timeout)
        except asyncio.TimeoutError:
            await ws.close(protocol.CLOSE_POLICY, "handshake timeout")
            return None
        except ConnectionClosed:
            return None
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await ws.close(protocol.CLOSE_POLICY, "invalid request frame")
            return None
        if protocol.validate(frame, protocol.REQUEST_FRAME) is not None:
            await ws.close(protocol.CLOSE_POLICY, "invalid request frame")
            return None
        request_id = frame["id"]
        params = frame.get("params")

        async def refuse(error: dict[str, Any], code: int, reason: str) -> None:
            await ws.send(_dumps({"type": "res", "id": request_id, "ok": False, "error": error}))
            await ws.close(code, reason)

        if frame["method"] != "connect":
            message = "invalid handshake: first request must be connect"
            await refuse(error_shape(ErrorCodes.INVALID_REQUEST, message), protocol.CLOSE_POLICY, message)
            return None
        problem = protocol.validate(params, protocol.CONNECT_PARAMS)
        if problem is not None:
            message = f"invalid connect params: {problem}"
            await refuse(error_shape(ErrorCodes.INVALID_REQUEST, message), protocol.CLOSE_POLICY, message[:120])
            return None
        version = protocol.negotiate(params["minProtocol"], params["maxProtocol"])
        if version is None:
            await refuse(protocol.protocol_mismatch(params["minProtocol"], params["maxProtocol"]),
                         protocol.CLOSE_PROTOCOL_ERROR, "protocol mismatch")
            return None
        decision = auth.decide(params, nonce=nonce, configured_token=self.token, protocol_version=version)
        if isinstance(decision, auth.Rejected):
            client = params["client"]
            self.log(f"[gateway] connect refused conn={conn_id} client={client.get('id')} "
                     f"reason={decision.error['message']}")
            await refuse(decision.error, decision.close_code, decision.close_reason)
            return None
        session = ClientSession(conn_id, ws, decision.role, decision.scopes, params["client"], decision.device_id,
                                protocol_version=version)
        await ws.send(_dumps({"type": "res", "id": request_id, "ok": True,
                              "payload": self._hello(session, decision)}))
        ws.protocol.max_message_size = protocol.MAX_PAYLOAD_BYTES
        return session

    def _hello(self, session: ClientSession, decision: auth.Accepted) -> dict[str, Any]:
        config = self.config
        snapshot: dict[str, Any] = {
            "presence": [],
            "health": {"ok": True, "ts": _now_ms()},
            "stateVersion": {"presence": 0, "health": 0},
            "uptimeMs": self.uptime_ms(),
            "sessionDefaults": {
                "defaultAgentId": config.default_agent_id(),
                "mainKey": config.main_key,
                "mainSessionKey": config.main_session_key(),
                "scope": "global" if config.get("session.scope") == "global" else "per-sender",
            },
        }
        if protocol.ADMIN_SCOPE in session.scopes:
            snapshot.update(configPath=str(config.path), stateDir=str(config.state_dir),
                            authMode="token" if self.token else "none")
        return {
            "type": "hello-ok",
            "protocol": session.protocol_version,
            "server": {"version": __version__, "connId": session.conn_id},
            "features": {"methods": list(self.methods), "events": EVENTS},
            "snapshot": snapshot,
            "auth": self._hello_auth(session, decision),
            "policy": {"maxPayload": protocol.MAX_PAYLOAD_BYTES, "maxBufferedBytes": protocol.MAX_BUFFERED_BYTES,
                       "tickIntervalMs": self.tick_interval_ms},
        }

    @staticmethod
    def _hello_auth(session: ClientSession, decision: auth.Accepted) -> dict[str, Any]:
        if session.protocol_version >= 4:
            # The later OpenClaw's v4 hello-ok names the auth method first.
            return {"method": decision.auth_method, "role": session.role, "scopes": session.scopes}
        return {"role": session.role, "scopes": session.scopes}

    def uptime_ms(self) -> int:
        return int((time.monotonic() - self.started_at) * 1000)

    async def _serve(self, session: ClientSession) -> None:
        from websockets.exceptions import ConnectionClosed

        ws = session.ws
        while True:
            try:
                raw = await ws.recv()
            except ConnectionClosed:
                break
            if self._stopping:
                # No new work once shutdown began; say so instead of starting it.
                await self._reply_error_raw(session, raw, error_shape(
                    ErrorCodes.UNAVAILABLE, "gateway is shutting down", retryable=True))
                continue
            try:
                frame = orjson.loads(raw)
            except orjson.JSONDecodeError:
                await self._send(session, {"type": "res", "id": "invalid", "ok": False, "error": error_shape(
                    ErrorCodes.INVALID_REQUEST, "invalid request frame: not valid JSON")})
                continue
            problem = protocol.validate(frame, protocol.REQUEST_FRAME)
            if problem is not None:
                frame_id = frame.get("id") if isinstance(frame, dict) and isinstance(frame.get("id"), str) else None
                await self._send(session, {"type": "res", "id": frame_id or "invalid", "ok": False, "error": error_shape(
                    ErrorCodes.INVALID_REQUEST, f"invalid request frame: {problem}")})
                continue
            if len(session.tasks) >= MAX_INFLIGHT_PER_CONNECTION:
                # A client pipelining faster than it is served waits here: its
                # requests stay unread in TCP, not in our memory, and the other
                # connections keep their share of the server.
                await asyncio.wait(list(session.tasks), return_when=asyncio.FIRST_COMPLETED)
            self._spawn(session, self._run_request(session, frame))
        # The peer is gone: let its requests finish (their writes are already queued).
        if session.tasks:
            await asyncio.wait(list(session.tasks))

    async def _reply_error_raw(self, session: ClientSession, raw: Any, error: dict[str, Any]) -> None:
        try:
            frame = orjson.loads(raw)
            frame_id = frame.get("id") if isinstance(frame, dict) and isinstance(frame.get("id"), str) else "invalid"
        except orjson.JSONDecodeError:
            frame_id = "invalid"
        await self._send(session, {"type": "res", "id": frame_id, "ok": False, "error": error})

    def _spawn(self, session: ClientSession, coro: Any) -> None:
        task = asyncio.create_task(coro)
        session.tasks.add(task)
        task.add_done_callback(session.tasks.discard)

    async def _run_request(self, session: ClientSession, frame: dict[str, Any]) -> None:
        name = frame["method"]
        request_id = frame["id"]
        started = time.monotonic()
        try:
            payload = await self.dispatch(session, name, frame.get("params"), request_id)
        except MethodError as exc:
            response = {"type": "res", "id": request_id, "ok": False, "error": exc.shape()}
        except OpenClawError as exc:
            response = {"type": "res", "id": request_id, "ok": False,
                        "error": error_shape(ErrorCodes.INVALID_REQUEST, exc.message)}
        except Exception as exc:  # noqa: BLE001 - one broken handler must not take the server down
            self.log(f"[gateway] {name} failed: {type(exc).__name__}: {exc}")
            response = {"type": "res", "id": request_id, "ok": False,
                        "error": error_shape(ErrorCodes.UNAVAILABLE, f"{type(exc).__name__}: {exc}")}
        else:
            response = {"type": "res", "id": request_id, "ok": True, "payload": payload}
        await self._send(session, response)
        if self.verbose:
            outcome = "ok" if response["ok"] else f"error {response['error']['code']}: {response['error']['message']}"
            self.log(f"[gateway] res {name} {outcome} {int((time.monotonic() - started) * 1000)}ms "
                     f"conn={session.conn_id} client={session.client.get('id')}/{session.client.get('mode')}")

    async def dispatch(self, session: ClientSession, name: str, params: Any, request_id: str = "") -> Any:
        method = self.methods.get(name)
        required = protocol.ADMIN_SCOPE if method is None else method.scope
        denied = auth.authorize_method(session.role, session.scopes, required)
        if denied is not None:
            raise MethodError(denied)
        if name == "connect":
            raise MethodError("connect is only valid as the first request")
        if method is None:
            raise MethodError(f"unknown method: {name}")
        if params is None:
            params = {}
        if method.params is not None:
            problem = protocol.validate(params, method.params)
            if problem is not None:
                raise MethodError(f"invalid {name} params: {problem}")
        call = MethodCall(name, params, session, self, request_id)
        result = method.handler(call)
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        return result

    async def _send(self, session: ClientSession, frame: dict[str, Any]) -> None:
        await self._send_text(session, _dumps(frame))

    @staticmethod
    async def _send_text(session: ClientSession, text: str) -> None:
        with contextlib.suppress(Exception):
            await session.ws.send(text)


def _is_slow(ws: ServerConnection) -> bool:
    transport = getattr(ws, "transport", None)
    try:
        return transport is not None and transport.get_write_buffer_size() > protocol.MAX_BUFFERED_BYTES
    except Exception:  # noqa: BLE001
        return False


def _listen(host: str, port: int) -> Any:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(512)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def collect_methods(pm: OpenClawPluginManager, log: Callable[[str], None]) -> dict[str, GatewayMethod]:
    """Methods from every plugin; on a name clash the plugin called first (the
    one registered last, so an installed plugin before the core) wins."""
    per_plugin: list[list[GatewayMethod]] = []
    for plugin_name, result in pm.call_each("openclaw_gateway_methods"):
        valid = []
        for method in result:
            if not isinstance(method, GatewayMethod):
                log(f"[gateway] plugin {plugin_name} returned {type(method).__name__}, not a GatewayMethod; skipped")
                continue
            valid.append(method)
        per_plugin.append(valid)
    methods: dict[str, GatewayMethod] = {}
    for plugin_methods in reversed(per_plugin):  # the core's first in the list; overrides replace in place
        for method in plugin_methods:
            methods[method.name] = method
    return methods
