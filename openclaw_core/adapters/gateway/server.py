"""The Gateway server: OpenClaw's protocol v3 and v4 over the ``websockets`` library.

One asyncio loop speaks WebSocket; every store mutation is handed to the
store's :class:`~openclaw_core.engine.store.writer.StoreWriter` and awaited, so a
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
import contextvars
import functools
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from openclaw_core import __version__

from openclaw_core.js import json as jsjson
from openclaw_core.base.errors import OpenClawError
from openclaw_core.adapters.gateway import auth
from openclaw_core.engine.wire import protocol
from openclaw_core.adapters.gateway.backpressure import POLL_S, Outbox
from openclaw_core.adapters.gateway.device_tokens import DeviceTokens, IssuedToken, tokens_path
from openclaw_core.engine.wire.endpoint import is_loopback_host  # noqa: F401 - re-exported for the CLI
from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodCall, MethodError
from openclaw_core.engine.wire.protocol import ErrorCodes, error_shape

if TYPE_CHECKING:
    from websockets.asyncio.server import Server, ServerConnection

    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks
    from openclaw_core.engine.store.state import MutationView

T = TypeVar("T")

EVENTS = ["connect.challenge", "sessions.changed", "tick", "shutdown", "health", "presence"]
DRAIN_TIMEOUT_S = 60.0   # longest wait for in-flight requests at shutdown (OPENCLAW_GATEWAY_DRAIN_TIMEOUT_MS)
CLOSE_FLUSH_S = 2.0      # at shutdown, how long a connection's queued frames may take to leave
# Per connection (docs/gateway.md, "Limits"): requests being served at once, and
# bytes of work in flight (request frames being served + answers the peer has
# not taken yet); beyond either, its next frames stay unread in TCP.
MAX_INFLIGHT_PER_CONNECTION = 64
MAX_INFLIGHT_BYTES_PER_CONNECTION = 8 * 1024 * 1024
# Jobs of one connection on the shared thread pool at once, so a pipelining
# client cannot queue a long line in front of everyone else's request.
MAX_BLOCKING_PER_CONNECTION = 2
# A subscriber with more than this not yet taken by the kernel is lagging: its events are dropped.
EVENT_LAG_BYTES = 1024 * 1024
WRITE_LIMIT = 64 * 1024  # the transport's high-water mark: a send returns once below it


@dataclass
class _Request:
    """The request a task serves (a context variable, so run_blocking and mutate know it)."""

    session: ClientSession
    worked: bool = False  # has it started a write or a blocking job? then it runs to its end


_CURRENT_REQUEST: contextvars.ContextVar[_Request | None] = contextvars.ContextVar("openclaw_gateway_request",
                                                                                 default=None)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _dumps(frame: dict[str, Any]) -> str:
    # JSON.stringify's text for anything a store can hold (a lone surrogate is \udXXX).
    return jsjson.dumps_compact(frame)


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
    outbox: Outbox | None = None
    request_bytes: int = 0  # frames of the requests being served
    blocking_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_BLOCKING_PER_CONNECTION))

    @property
    def label(self) -> str:
        return f"conn={self.conn_id} client={self.client.get('id')}/{self.client.get('mode')}"


class GatewayServer:
    """Serve the methods from ``openclaw_gateway_methods`` on ``hosts``:``port``."""

    def __init__(self, config: Config, hooks: Hooks, *, hosts: Iterable[str], port: int,
                 token: str | None, preauth_timeout: float = protocol.PREAUTH_TIMEOUT_S,
                 tick_interval_ms: int = protocol.TICK_INTERVAL_MS, drain_timeout: float = DRAIN_TIMEOUT_S,
                 max_buffered: int = protocol.MAX_BUFFERED_BYTES,
                 log: Callable[[str], None] | None = None, verbose: bool = False) -> None:
        self._config = config
        self._config_stamp = self._stamp(config)
        self.hooks = hooks
        self.hosts = list(hosts)
        self.port = port
        self.token = token
        self.preauth_timeout = preauth_timeout
        self.tick_interval_ms = tick_interval_ms
        self.drain_timeout = drain_timeout
        # policy.maxBufferedBytes; the softer per-connection budgets never exceed a fraction of it.
        self.max_buffered = max_buffered
        self.inflight_bytes = min(MAX_INFLIGHT_BYTES_PER_CONNECTION, max_buffered // 2)
        self.event_lag_bytes = min(EVENT_LAG_BYTES, max_buffered // 4)
        from openclaw_core.adapters.gateway.ops_state import OpsState

        self.ops = OpsState(self)  # event loop, presence, diagnostics, the log file (gateway/ops_state.py)
        self.log = self.ops.tee(log or (lambda line: print(line, file=sys.stderr, flush=True)))
        self.verbose = verbose  # one log line per request (operators, interop tests)
        self.methods: dict[str, GatewayMethod] = collect_methods(hooks, self.log)
        self.device_tokens = DeviceTokens(tokens_path(config.state_dir), self.log)
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
            from openclaw_core.config.model import load_config

            try:
                fresh = load_config(self._config.env, sections=self.hooks)
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
                write_limit=WRITE_LIMIT, ping_interval=None, server_header=f"openclaw-core/{__version__}"))
        self.bound = [(s.getsockname()[0], s.getsockname()[1]) for s in sockets]
        self.port = self.bound[0][1]
        # Where this state dir's Gateway listens, for clients (any bind, any port).
        from openclaw_core.engine.wire.endpoint import write_record

        try:
            write_record(self._config.state_dir, self.bound, self._config.path)
        except OSError as exc:
            self.log(f"[gateway] cannot write the endpoint record: {exc.strerror or exc} "
                     "(clients find this Gateway only on the configured port)")
        self.started_at = time.monotonic()
        self._tick_task = asyncio.create_task(self._tick_loop())
        self.ops.start()

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
        self.ops.stop()
        inflight = [t for c in self.clients.values() for t in c.tasks]
        unfinished: set[asyncio.Task[None]] = set()
        if inflight:
            # No send ever blocks a request (answers go to the outboxes), so only
            # real work is waited for, and at most drain_timeout.
            self.log(f"[gateway] finishing {len(inflight)} request(s) before exit")
            _, unfinished = await asyncio.wait(inflight, timeout=self.drain_timeout)
            if unfinished:
                self.log(f"[gateway] drain timeout ({self.drain_timeout:g}s): {len(unfinished)} request(s) still "
                         "running; closing connections")
        closing = []
        for session in list(self.clients.values()):
            if session.outbox is None:
                continue
            session.outbox.send_event(_dumps({"type": "event", "event": "shutdown",
                                              "payload": {"reason": "gateway stopping"},
                                              "seq": self._next_seq(session)}))
            # A peer that does not read gets its TCP connection cut after the grace.
            closing.append(session.outbox.close(protocol.CLOSE_SERVICE_RESTART, "service restart",
                                                grace=CLOSE_FLUSH_S))
        await asyncio.gather(*closing, return_exceptions=True)
        for server in self._servers:
            server.close()  # connections still in their handshake
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        from openclaw_core.engine.store.writer import close_writers

        # Queued writes become durable; on its own thread, so a stuck job in the pool cannot hold it up.
        await asyncio.to_thread(close_writers)
        self._executor.shutdown(wait=not unfinished, cancel_futures=True)
        from openclaw_core.engine.wire.endpoint import remove_record

        remove_record(self._config.state_dir)
        self.ops.log_file.close()

    # -- store access for handlers -------------------------------------------------------------------

    async def mutate(self, store_path: str, fn: Callable[[MutationView], T], **options: Any) -> T:
        from openclaw_core.engine.store.writer import get_writer

        writer = get_writer(store_path, self.config, self.hooks)
        request = _CURRENT_REQUEST.get()
        if request is not None:
            request.worked = True
        result = await asyncio.wrap_future(writer.submit(fn, **options))
        return result.value

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the pool; for a request, within its connection's share of
        the pool and only once the connection's unread answers are below the
        in-flight byte budget (so a client that does not read stops costing work).
        A request that has not started any work yet when the Gateway stops or its
        peer leaves ends there (``UNAVAILABLE``); one that has runs to its end."""
        loop = asyncio.get_running_loop()
        job = functools.partial(fn, *args, **kwargs)
        request = _CURRENT_REQUEST.get()
        if request is None or request.session.outbox is None:
            return await loop.run_in_executor(self._executor, job)
        outbox = request.session.outbox
        async with request.session.blocking_slots:
            await outbox.wait_room(self.inflight_bytes, give_up=lambda: self._stopping)
            if not request.worked and (self._stopping or outbox.closed):
                raise MethodError("gateway is shutting down" if self._stopping else "connection closed",
                                  code=ErrorCodes.UNAVAILABLE, retryable=True)
            request.worked = True
            return await loop.run_in_executor(self._executor, job)

    # -- events -------------------------------------------------------------------------------------

    def _next_seq(self, session: ClientSession) -> int:
        session.seq += 1
        return session.seq

    def emit_sessions_changed(self, payload: dict[str, Any]) -> None:
        """``sessions.changed`` to every subscriber (targeted: no ``seq``); slow ones miss it."""
        try:
            frame = _dumps({"type": "event", "event": "sessions.changed", "payload": {**payload, "ts": _now_ms()}})
        except jsjson.JSONError as exc:
            self.log(f"[gateway] sessions.changed not sent: {exc}")
            return
        for session in list(self.clients.values()):
            if session.subscribed and session.outbox is not None:
                # A lagging subscriber misses it and later gets one "resync" instead.
                session.outbox.send_event(frame, resync=True)

    def _resync_frame(self, session: ClientSession, missed: int) -> str | None:
        if not session.subscribed:
            return None
        return _dumps({"type": "event", "event": "sessions.changed",
                       "payload": {"reason": "resync", "missed": missed, "ts": _now_ms()}})

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_ms / 1000)
            for session in list(self.clients.values()):
                if session.outbox is not None:
                    # Dropped when the peer lags; the gap in seq tells it.
                    session.outbox.send_event(_dumps({"type": "event", "event": "tick",
                                                      "payload": {"ts": _now_ms()},
                                                      "seq": self._next_seq(session)}))

    # -- connections ----------------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        conn_id = str(uuid.uuid4())
        ws.protocol.max_message_size = protocol.PREAUTH_MAX_BYTES
        nonce = str(uuid.uuid4())
        from websockets.exceptions import ConnectionClosed

        try:
            await ws.send(_dumps({"type": "event", "event": "connect.challenge",
                                  "payload": {"nonce": nonce, "ts": _now_ms()}}))
            session = await self._handshake(ws, conn_id, nonce)
        except ConnectionClosed:
            return  # the peer left during the handshake
        except Exception as exc:  # noqa: BLE001 - never a silent close: say it, log it, end only this one
            self.log(f"[gateway] handshake failed conn={conn_id}: {type(exc).__name__}: {exc}")
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(protocol.CLOSE_INTERNAL_ERROR, "internal error"), 2)
            return
        if session is None:
            return
        session.outbox = Outbox(ws, max_buffered=self.max_buffered, lag_bytes=self.event_lag_bytes,
                                label=session.label, log=self.log,
                                resync_frame=lambda missed: self._resync_frame(session, missed))
        self.clients[conn_id] = session
        self.ops.connected(session)  # presence to everyone, health to this one
        try:
            await self._serve(session)
        except Exception as exc:  # noqa: BLE001 - a bug here must not close the socket without a word
            self.log(f"[gateway] connection failed {session.label}: {type(exc).__name__}: {exc}")
            await session.outbox.close(protocol.CLOSE_INTERNAL_ERROR, "internal error")
        finally:
            self.clients.pop(conn_id, None)
            self.ops.disconnected(session)
            session.outbox.discard()  # its writer task ends with the connection

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
            frame = jsjson.loads(raw)
        except jsjson.JSONError:
            await ws.close(protocol.CLOSE_POLICY, "invalid request frame")
            return None
        if protocol.validate(frame, protocol.REQUEST_FRAME) is not None:
            await ws.close(protocol.CLOSE_POLICY, "invalid request frame")
            return None
        request_id = frame["id"]

        async def refuse(error: dict[str, Any], code: int, reason: str) -> None:
            await ws.send(_dumps({"type": "res", "id": request_id, "ok": False, "error": error}))
            await ws.close(code, reason)

        try:
            return await self._connect(ws, conn_id, nonce, frame, refuse)
        except ConnectionClosed:
            raise
        except Exception as exc:  # noqa: BLE001 - answered and logged, never a silent close
            self.log(f"[gateway] connect failed conn={conn_id}: {type(exc).__name__}: {exc}")
            await refuse(error_shape(ErrorCodes.UNAVAILABLE, f"connect failed: {type(exc).__name__}: {exc}"),
                         protocol.CLOSE_INTERNAL_ERROR, "internal error")
            return None

    async def _connect(self, ws: ServerConnection, conn_id: str, nonce: str, frame: dict[str, Any],
                       refuse: Callable[..., Any]) -> ClientSession | None:
        request_id = frame["id"]
        params = frame.get("params")
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
        decision = auth.decide(params, nonce=nonce, configured_token=self.token, protocol_version=version,
                               device_token_ok=self.device_tokens.verify)
        if isinstance(decision, auth.Rejected):
            client = params["client"]
            self.log(f"[gateway] connect refused conn={conn_id} client={client.get('id')} "
                     f"reason={decision.error['message']}")
            await refuse(decision.error, decision.close_code, decision.close_reason)
            return None
        session = ClientSession(conn_id, ws, decision.role, decision.scopes, params["client"], decision.device_id,
                                protocol_version=version)
        issued = None
        client = params["client"]
        if decision.device_id is not None and not (client["id"] == "gateway-client" and client["mode"] == "backend"):
            # A paired device gets its token (the local backend helper pairs nothing, as in OpenClaw).
            issued = await asyncio.to_thread(self.device_tokens.ensure, decision.device_id, decision.role,
                                             decision.scopes)
        await ws.send(_dumps({"type": "res", "id": request_id, "ok": True,
                              "payload": self._hello(session, decision, issued)}))
        ws.protocol.max_message_size = protocol.MAX_PAYLOAD_BYTES
        return session

    def _hello(self, session: ClientSession, decision: auth.Accepted,
               issued: IssuedToken | None = None) -> dict[str, Any]:
        config = self.config
        snapshot: dict[str, Any] = {
            "presence": self.ops.presence.entries(),
            "health": {"ok": True, "ts": _now_ms()},
            "stateVersion": self.ops.state_version(),
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
            "auth": self._hello_auth(session, decision, issued),
            "policy": {"maxPayload": protocol.MAX_PAYLOAD_BYTES, "maxBufferedBytes": self.max_buffered,
                       "tickIntervalMs": self.tick_interval_ms},
        }

    @staticmethod
    def _hello_auth(session: ClientSession, decision: auth.Accepted, issued: IssuedToken | None) -> dict[str, Any]:
        shape: dict[str, Any] = {"role": session.role, "scopes": session.scopes}
        if session.protocol_version >= 4:
            # The later OpenClaw's v4 hello-ok names the auth method first.
            shape = {"method": decision.auth_method, **shape}
        if issued is not None:
            # Only in this connection's own hello-ok; never logged.
            shape.update(deviceToken=issued.token, issuedAtMs=issued.issued_at_ms)
        return shape

    def uptime_ms(self) -> int:
        return int((time.monotonic() - self.started_at) * 1000)

    async def _serve(self, session: ClientSession) -> None:
        from websockets.exceptions import ConnectionClosed

        ws = session.ws
        assert session.outbox is not None
        while True:
            await self._wait_for_room(session)
            if session.outbox.closed:
                break
            try:
                raw = await ws.recv()
            except ConnectionClosed:
                break
            try:
                self._take(session, raw)
            except Exception as exc:  # noqa: BLE001 - a frame we failed on still gets an answer
                self.log(f"[gateway] request failed {session.label}: {type(exc).__name__}: {exc}")
                await self._reply_error_raw(session, raw, error_shape(
                    ErrorCodes.UNAVAILABLE, f"internal error: {type(exc).__name__}: {exc}"))
        # The peer is gone: let its requests finish (their writes are already queued).
        if session.tasks:
            await asyncio.wait(list(session.tasks))

    async def _wait_for_room(self, session: ClientSession) -> None:
        """Hold the next read while this connection has too much in flight (count
        or bytes): its requests stay unread in TCP, not in our memory, and the
        other connections keep their share of the server."""
        outbox = session.outbox
        assert outbox is not None
        while not outbox.closed:
            if len(session.tasks) >= MAX_INFLIGHT_PER_CONNECTION:
                await asyncio.wait(list(session.tasks), return_when=asyncio.FIRST_COMPLETED)
            elif session.request_bytes + outbox.pending() >= self.inflight_bytes:
                await asyncio.sleep(POLL_S)
            else:
                return

    def _take(self, session: ClientSession, raw: str | bytes) -> None:
        """One frame after the handshake: answered now (bad frame, shutting down) or spawned."""
        if self._stopping:
            # No new work once shutdown began; say so instead of starting it.
            self._answer(session, {"type": "res", "id": _frame_id(raw), "ok": False, "error": error_shape(
                ErrorCodes.UNAVAILABLE, "gateway is shutting down", retryable=True)})
            return
        try:
            frame = jsjson.loads(raw)  # JSON.parse's grammar: a lone surrogate escape is a string
        except jsjson.JSONError:
            self._answer(session, {"type": "res", "id": "invalid", "ok": False, "error": error_shape(
                ErrorCodes.INVALID_REQUEST, "invalid request frame: not valid JSON")})
            return
        problem = protocol.validate(frame, protocol.REQUEST_FRAME)
        if problem is not None:
            frame_id = frame.get("id") if isinstance(frame, dict) and isinstance(frame.get("id"), str) else None
            self._answer(session, {"type": "res", "id": frame_id or "invalid", "ok": False, "error": error_shape(
                ErrorCodes.INVALID_REQUEST, f"invalid request frame: {problem}")})
            return
        size = len(raw)
        session.request_bytes += size

        def done(_: asyncio.Task[None]) -> None:
            session.request_bytes -= size

        self._spawn(session, self._run_request(session, frame)).add_done_callback(done)

    async def _reply_error_raw(self, session: ClientSession, raw: Any, error: dict[str, Any]) -> None:
        self._answer(session, {"type": "res", "id": _frame_id(raw), "ok": False, "error": error})

    def _spawn(self, session: ClientSession, coro: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        session.tasks.add(task)
        task.add_done_callback(session.tasks.discard)
        return task

    async def _run_request(self, session: ClientSession, frame: dict[str, Any]) -> None:
        name = frame["method"]
        request_id = frame["id"]
        started = time.monotonic()
        _CURRENT_REQUEST.set(_Request(session))  # this task's own context: run_blocking knows whose work it is
        try:
            assert session.outbox is not None
            # New work waits while this connection's answers are not being read.
            await session.outbox.wait_room(self.inflight_bytes, give_up=lambda: self._stopping)
            if self._stopping:
                raise MethodError("gateway is shutting down", code=ErrorCodes.UNAVAILABLE, retryable=True)
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
        response = self._answer(session, response, method=name)
        if self.verbose:
            outcome = "ok" if response["ok"] else f"error {response['error']['code']}: {response['error']['message']}"
            self.log(f"[gateway] res {name} {outcome} {int((time.monotonic() - started) * 1000)}ms {session.label}")

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

    def _answer(self, session: ClientSession, response: dict[str, Any], *, method: str = "") -> dict[str, Any]:
        """Queue a response on the connection's outbox (never waits for the peer).
        A payload JSON cannot carry becomes an error answer, logged; returns what was sent."""
        try:
            text = _dumps(response)
        except (jsjson.JSONError, TypeError, ValueError) as exc:
            self.log(f"[gateway] {method or 'response'} failed: its answer is not JSON: {exc}")
            response = {"type": "res", "id": response.get("id", "invalid"), "ok": False,
                        "error": error_shape(ErrorCodes.UNAVAILABLE, f"internal error: the answer is not JSON: {exc}")}
            text = _dumps(response)
        if session.outbox is not None:
            session.outbox.send_response(text)
        return response

    async def _send(self, session: ClientSession, frame: dict[str, Any]) -> None:
        self._answer(session, frame)


def _frame_id(raw: Any) -> str:
    """The id of a request frame we will not serve, else ``invalid``."""
    try:
        frame = jsjson.loads(raw)
    except jsjson.JSONError:
        return "invalid"
    return frame["id"] if isinstance(frame, dict) and isinstance(frame.get("id"), str) and frame["id"] else "invalid"


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


def collect_methods(hooks: Hooks, log: Callable[[str], None]) -> dict[str, GatewayMethod]:
    """Methods from every plugin; on a name clash the plugin called first (the
    one registered last, so an installed plugin before the core) wins."""
    per_plugin: list[list[GatewayMethod]] = []
    for plugin_name, result in hooks.gateway_methods():
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
