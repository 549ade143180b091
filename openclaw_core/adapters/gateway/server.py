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
import functools
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from openclaw_core import __version__

from openclaw_core.js import json as jsjson
from openclaw_core.base.errors import OpenClawError
from openclaw_core.engine.wire import protocol
from openclaw_core.adapters.gateway.backpressure import Outbox
from openclaw_core.adapters.gateway.device_tokens import DeviceTokens, tokens_path
from openclaw_core.engine.wire.endpoint import is_loopback_host  # noqa: F401 - re-exported for the CLI
from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodError
from openclaw_core.engine.wire.protocol import ErrorCodes
from openclaw_core.adapters.gateway.connection import CURRENT_REQUEST, ClientSession, now_ms
from openclaw_core.adapters.gateway.handshake import Handshake
from openclaw_core.adapters.gateway.requests import RequestServing

if TYPE_CHECKING:
    from websockets.asyncio.server import Server, ServerConnection

    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks
    from openclaw_core.engine.store.state import MutationView

T = TypeVar("T")

DRAIN_TIMEOUT_S = 60.0   # longest wait for in-flight requests at shutdown (OPENCLAW_GATEWAY_DRAIN_TIMEOUT_MS)
CLOSE_FLUSH_S = 2.0      # at shutdown, how long a connection's queued frames may take to leave
MAX_INFLIGHT_BYTES_PER_CONNECTION = 8 * 1024 * 1024
# A subscriber with more than this not yet taken by the kernel is lagging: its events are dropped.
EVENT_LAG_BYTES = 1024 * 1024
WRITE_LIMIT = 64 * 1024  # the transport's high-water mark: a send returns once below it


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


class GatewayServer(Handshake, RequestServing):
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
        self._instance: Any = None  # the state dir's Gateway lock (engine/wire/instance.py), held from start to stop
        self.log = self.ops.tee(log or (lambda line: print(line, file=sys.stderr, flush=True)))
        self.verbose = verbose  # one log line per request (operators, interop tests)
        self.methods: dict[str, GatewayMethod] = collect_methods(hooks, self.log)
        self.device_tokens = DeviceTokens(tokens_path(config.state_dir), self.log)
        self.clients: dict[str, ClientSession] = {}
        self.started_at = time.monotonic()
        self.bound: list[tuple[str, int]] = []
        self._servers: list[Server] = []
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="openclaw-gateway")
        # Small answers (health's per-store counts) on threads of their own, so they do not
        # queue behind whole-store listings that can hold every worker of the pool.
        self._light_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openclaw-gateway-light")
        # Answers that blocking work produced are encoded here, off the event loop (requests.py).
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openclaw-gateway-encode")
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

        from openclaw_core.engine.wire.instance import InstanceLock

        self._instance = InstanceLock(self._config.state_dir)
        self._instance.acquire()  # a second Gateway of this state dir stops here, before it binds
        try:
            await self._listen(serve)
        except BaseException:
            self._instance.release()
            raise

    async def _listen(self, serve: Any) -> None:
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
        self._light_executor.shutdown(wait=not unfinished, cancel_futures=True)
        self._encoder.shutdown(wait=not unfinished, cancel_futures=True)
        from openclaw_core.engine.wire.endpoint import remove_record

        remove_record(self._config.state_dir)
        self.ops.log_file.close()
        if self._instance is not None:
            self._instance.release()

    # -- store access for handlers -------------------------------------------------------------------

    async def mutate(self, store_path: str, fn: Callable[[MutationView], T], **options: Any) -> T:
        from openclaw_core.engine.store.writer import get_writer

        writer = get_writer(store_path, self.config, self.hooks)
        request = CURRENT_REQUEST.get()
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
        return await self._run_on(self._executor, functools.partial(fn, *args, **kwargs))

    async def run_light(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """:meth:`run_blocking` for work that is small whatever the store holds
        (no whole-store listing): on its own thread, with the same limits."""
        return await self._run_on(self._light_executor, functools.partial(fn, *args, **kwargs))

    async def _run_on(self, executor: ThreadPoolExecutor, job: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        request = CURRENT_REQUEST.get()
        if request is None or request.session.outbox is None:
            return await loop.run_in_executor(executor, job)
        outbox = request.session.outbox
        async with request.session.blocking_slots:
            await outbox.wait_room(self.inflight_bytes, give_up=lambda: self._stopping)
            if not request.worked and (self._stopping or outbox.closed):
                raise MethodError("gateway is shutting down" if self._stopping else "connection closed",
                                  code=ErrorCodes.UNAVAILABLE, retryable=True)
            request.worked = True
            return await loop.run_in_executor(executor, job)

    # -- events -------------------------------------------------------------------------------------

    def _next_seq(self, session: ClientSession) -> int:
        session.seq += 1
        return session.seq

    def emit_sessions_changed(self, payload: dict[str, Any]) -> None:
        """``sessions.changed`` to every subscriber (targeted: no ``seq``); slow ones miss it."""
        try:
            frame = _dumps({"type": "event", "event": "sessions.changed", "payload": {**payload, "ts": now_ms()}})
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
                       "payload": {"reason": "resync", "missed": missed, "ts": now_ms()}})

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval_ms / 1000)
            for session in list(self.clients.values()):
                if session.outbox is not None:
                    # Dropped when the peer lags; the gap in seq tells it.
                    session.outbox.send_event(_dumps({"type": "event", "event": "tick",
                                                      "payload": {"ts": now_ms()},
                                                      "seq": self._next_seq(session)}))

    # -- connections ----------------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        conn_id = str(uuid.uuid4())
        ws.protocol.max_message_size = protocol.PREAUTH_MAX_BYTES
        nonce = str(uuid.uuid4())
        from websockets.exceptions import ConnectionClosed

        try:
            await ws.send(_dumps({"type": "event", "event": "connect.challenge",
                                  "payload": {"nonce": nonce, "ts": now_ms()}}))
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

    def uptime_ms(self) -> int:
        return int((time.monotonic() - self.started_at) * 1000)


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
