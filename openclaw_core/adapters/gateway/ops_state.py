"""What a running Gateway knows about itself, for the operator methods
(``health``, ``status``, ``system-presence``, ``diagnostics.stability``,
``logs.tail``): its event loop's health, who is connected (presence), a
bounded ring of diagnostic events, and its log file. One :class:`OpsState`
per :class:`~openclaw_core.adapters.gateway.server.GatewayServer` (``server.ops``).

Everything here is bounded: the presence list (TTL and a cap), the
diagnostic ring, the delay samples, the log file (see :mod:`.logfile`).
"""

from __future__ import annotations

import asyncio
import collections
import platform
import socket
import time
from typing import TYPE_CHECKING, Any

from openclaw_core import __version__
from openclaw_core.adapters.gateway.logfile import GatewayLogFile
from openclaw_core.js import json as jsjson

if TYPE_CHECKING:
    from openclaw_core.adapters.gateway.connection import ClientSession
    from openclaw_core.adapters.gateway.server import GatewayServer

PRESENCE_TTL_MS = 5 * 60 * 1000     # a client's entry outlives its connection this long
PRESENCE_MAX = 200                  # entries kept besides the Gateway's own
DIAGNOSTICS_CAPACITY = 1000         # diagnostics.stability's ring (the reference's capacity)
DELAY_SAMPLE_S = 0.5                # event-loop delay probe interval
DELAY_SAMPLES = 240                 # at most this many delay samples are kept
HEALTH_REFRESH_S = 1.0              # health pushed after a connect is recomputed at most this often
# When the snapshot calls the loop degraded (OpenClaw's reason names; our thresholds).
DEGRADED_DELAY_P99_MS = 200
DEGRADED_UTILIZATION = 0.95
DEGRADED_CPU_RATIO = 0.9


def _now_ms() -> int:
    return int(time.time() * 1000)


class EventLoopSampler:
    """``eventLoop`` of health/status: delay percentiles from a probe task, CPU
    share (process CPU time over wall time) since the previous snapshot."""

    def __init__(self) -> None:
        self._delays: collections.deque[float] = collections.deque(maxlen=DELAY_SAMPLES)
        self._last_wall = time.monotonic()
        self._last_cpu = time.process_time()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._probe())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _probe(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(DELAY_SAMPLE_S)
            self._delays.append(max(0.0, time.monotonic() - started - DELAY_SAMPLE_S) * 1000)

    def snapshot(self) -> dict[str, Any]:
        wall, cpu = time.monotonic(), time.process_time()
        interval = max(wall - self._last_wall, 1e-6)
        ratio = max(0.0, (cpu - self._last_cpu) / interval)
        self._last_wall, self._last_cpu = wall, cpu
        delays = sorted(self._delays)
        self._delays.clear()
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else 0.0
        worst = delays[-1] if delays else 0.0
        utilization = min(1.0, ratio)
        reasons = []
        if p99 >= DEGRADED_DELAY_P99_MS:
            reasons.append("event_loop_delay")
        if utilization >= DEGRADED_UTILIZATION:
            reasons.append("event_loop_utilization")
        if ratio >= DEGRADED_CPU_RATIO:
            reasons.append("cpu")
        return {"degraded": bool(reasons), "reasons": reasons, "intervalMs": int(interval * 1000),
                "delayP99Ms": round(p99), "delayMaxMs": round(worst), "utilization": round(utilization, 3),
                "cpuCoreRatio": round(ratio, 3)}


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "i686": "ia32", "i386": "ia32"}.get(machine, machine)


class Presence:
    """``system-presence``: the Gateway itself, then connected and recently
    gone clients (newest first). CLI-mode clients (one-shot ``gateway call``s)
    are left out, as the reference does."""

    def __init__(self) -> None:
        self.version = 0
        self._entries: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        host = socket.gethostname() or "unknown"
        self._self = {"host": host, "ip": host, "version": __version__,
                      "platform": f"{platform.system().lower()} {platform.release()}".strip(),
                      "deviceFamily": platform.system() or "unknown", "modelIdentifier": _arch(),
                      "mode": "gateway", "reason": "self",
                      "text": f"Gateway: {host} ({host}) · app {__version__} · mode gateway · reason self"}

    @staticmethod
    def tracked(session: ClientSession) -> bool:
        return session.client.get("mode") != "cli"

    def update(self, session: ClientSession, reason: str) -> None:
        client = session.client
        key = str(client.get("instanceId") or session.conn_id)
        host = client.get("displayName") or client.get("id") or "unknown"
        entry: dict[str, Any] = {"host": host, "version": client.get("version"), "platform": client.get("platform")}
        for name in ("deviceFamily", "modelIdentifier"):
            if client.get(name):
                entry[name] = client[name]
        entry.update(mode=client.get("mode"), roles=[session.role])
        if session.scopes:
            entry["scopes"] = list(session.scopes)
        entry.update(instanceId=key, reason=reason, ts=_now_ms(), text=f"Node: {host} · mode {client.get('mode')}")
        self._entries.pop(key, None)
        self._entries[key] = entry
        while len(self._entries) > PRESENCE_MAX:
            self._entries.popitem(last=False)
        self.version += 1

    def entries(self) -> list[dict[str, Any]]:
        now = _now_ms()
        for key in [k for k, e in self._entries.items() if e["reason"] == "disconnect" and now - e["ts"] > PRESENCE_TTL_MS]:
            del self._entries[key]
        return [{**self._self, "ts": now}, *reversed(list(self._entries.values()))]


class Diagnostics:
    """``diagnostics.stability``: a ring of the Gateway's own diagnostic events."""

    def __init__(self, capacity: int = DIAGNOSTICS_CAPACITY) -> None:
        self.capacity = capacity
        self._events: collections.deque[dict[str, Any]] = collections.deque(maxlen=capacity)
        self._seq = 0
        self.dropped = 0

    def record(self, kind: str, **fields: Any) -> None:
        self._seq += 1
        if len(self._events) == self.capacity:
            self.dropped += 1
        self._events.append({"seq": self._seq, "ts": _now_ms(), "type": kind, **fields})

    def events(self) -> list[dict[str, Any]]:
        return list(self._events)


class OpsState:
    def __init__(self, server: GatewayServer) -> None:
        self.server = server
        self.event_loop = EventLoopSampler()
        self.presence = Presence()
        self.diagnostics = Diagnostics()
        self.log_file = GatewayLogFile(server.config.state_dir)
        self.health_version = 0
        self._health: tuple[float, dict[str, Any]] | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._created = time.monotonic()

    def tee(self, log: Any) -> Any:
        """``log`` that also appends to the Gateway's log file."""
        def both(line: str) -> None:
            log(line)
            self.log_file.write(line)

        return both

    def start(self) -> None:
        self.event_loop.start()
        self.diagnostics.record("diagnostic.phase.completed", phase="gateway.listen",
                                durationMs=round((time.monotonic() - self._created) * 1000, 1))

    def stop(self) -> None:
        self.event_loop.stop()
        if self._health_task is not None:
            self._health_task.cancel()

    def state_version(self) -> dict[str, int]:
        return {"presence": self.presence.version, "health": self.health_version}

    # -- events after hello-ok and on disconnect ----------------------------------------------------

    def connected(self, session: ClientSession) -> None:
        if self.presence.tracked(session):
            self.presence.update(session, "connect")
            self._broadcast_presence(exclude=None)
        self._push_health(session)

    def disconnected(self, session: ClientSession) -> None:
        if self.presence.tracked(session):
            self.presence.update(session, "disconnect")
            self._broadcast_presence(exclude=session)

    def _event(self, session: ClientSession, name: str, payload: Any) -> None:
        if session.outbox is None:
            return
        frame = {"type": "event", "event": name, "payload": payload, "seq": self.server._next_seq(session),
                 "stateVersion": self.state_version()}
        session.outbox.send_event(jsjson.dumps_compact(frame))  # dropped for a lagging peer, like tick

    def _broadcast_presence(self, exclude: ClientSession | None) -> None:
        from openclaw_core.adapters.gateway.auth import authorize_method
        from openclaw_core.engine.wire.protocol import READ_SCOPE

        payload = {"presence": self.presence.entries()}
        for session in list(self.server.clients.values()):
            # Who else is connected is system-presence's answer, so only for those who may call it
            # (the reference pushes it to scope-less probes too).
            if session is not exclude and authorize_method(session.role, session.scopes, READ_SCOPE) is None:
                self._event(session, "presence", payload)

    def _push_health(self, session: ClientSession) -> None:
        """The newest health to ``session`` after its hello-ok; a fresh one (at most
        every HEALTH_REFRESH_S, one computation at a time) also to everyone else."""
        cached = self._health
        if cached is not None and time.monotonic() - cached[0] < HEALTH_REFRESH_S:
            self._event(session, "health", cached[1])
            return
        if self._health_task is not None and not self._health_task.done():
            return  # the refresh under way reaches this session too
        self._health_task = asyncio.get_running_loop().create_task(self._refresh_health())

    async def _refresh_health(self) -> None:
        from openclaw_core.adapters.gateway.health_methods import health_payload

        try:
            payload = await health_payload(self.server)
        except Exception as exc:  # noqa: BLE001 - an unreadable store must not end the connection
            self.server.log(f"[gateway] health refresh failed: {type(exc).__name__}: {exc}")
            return
        self._health = (time.monotonic(), payload)
        self.health_version += 1
        for client in list(self.server.clients.values()):
            self._event(client, "health", payload)
