"""``health``, ``system-presence``, ``last-heartbeat``: what the real CLI's
``openclaw health`` and ``status`` read, in OpenClaw 2026.5.4's shapes
(recorded in tests/fixtures/gateway-ops/).

No agent runtime runs here, so no heartbeat ever fires: the per-agent
``heartbeat`` block reports the configured schedule and ``last-heartbeat`` is
``null``, as the reference answers before its first heartbeat.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openclaw_core.adapters.gateway import sessions_rpc as srpc
from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodCall
from openclaw_core.engine.wire.protocol import BOOL, READ_SCOPE, obj
from openclaw_core.js.values import js_trim

if TYPE_CHECKING:
    from openclaw_core.config.model import Config
    from openclaw_core.adapters.gateway.server import GatewayServer

HEALTH = obj({"probe": BOOL}, additional=True)
OPEN = obj({}, additional=True)  # the reference ignores unknown params on these
DEFAULT_HEARTBEAT_EVERY = "30m"
DEFAULT_HEARTBEAT_PROMPT = ("Read HEARTBEAT.md if it exists (workspace context). Follow it strictly. Do not infer "
                            "or repeat old tasks from prior chats. If nothing needs attention, reply HEARTBEAT_OK.")
DEFAULT_HEARTBEAT_TARGET = "none"
DEFAULT_ACK_MAX_CHARS = 300
RECENT_PER_STORE = 5


def _now_ms() -> int:
    return int(time.time() * 1000)


def heartbeat_config(config: Config, agent_id: str) -> dict[str, Any]:
    """An agent's effective heartbeat settings: its own over ``agents.defaults.heartbeat``."""
    from openclaw_core.base.units import UnitError, parse_duration_ms

    merged: dict[str, Any] = {}
    defaults = config.get("agents.defaults.heartbeat")
    if isinstance(defaults, Mapping):
        merged.update(defaults)
    agent = config.find_agent(agent_id) or {}
    own = agent.get("heartbeat")
    if isinstance(own, Mapping):
        merged.update(own)
    every = merged.get("every")
    every = every if isinstance(every, str) and js_trim(every) else DEFAULT_HEARTBEAT_EVERY
    try:
        every_ms: int | None = parse_duration_ms(every, "m")
    except UnitError:
        every_ms = None
    prompt = merged.get("prompt")
    target = merged.get("target")
    ack = merged.get("ackMaxChars")
    return {"enabled": merged.get("enabled") is not False, "every": every, "everyMs": every_ms or None,
            "prompt": prompt if isinstance(prompt, str) and prompt else DEFAULT_HEARTBEAT_PROMPT,
            "target": target if isinstance(target, str) and target else DEFAULT_HEARTBEAT_TARGET,
            "ackMaxChars": ack if isinstance(ack, int) and not isinstance(ack, bool) and ack >= 0
            else DEFAULT_ACK_MAX_CHARS}


def store_summary(server: GatewayServer, path: str, recent: int = RECENT_PER_STORE) -> dict[str, Any]:
    """``{path, count, recent}`` of one store (blocking: call off the loop)."""
    from openclaw_core.engine.store.writer import get_writer, store_exists

    now = _now_ms()

    def summarise(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        # The first `recent` of a stable sort by updatedAt descending: ties in store order.
        newest = heapq.nsmallest(recent, entries.items(), key=lambda kv: -srpc.number(kv[1].get("updatedAt")))
        return {"path": path, "count": len(entries), "recent": [
            {"key": k, "updatedAt": e.get("updatedAt"), "age": now - srpc.number(e.get("updatedAt"))}
            for k, e in newest]}

    if not store_exists(path, server.config, server.hooks):
        return {"path": path, "count": 0, "recent": []}
    return get_writer(path, server.config, server.hooks).read(summarise)


async def health_payload(server: GatewayServer) -> dict[str, Any]:
    """The ``health`` answer (also pushed as the ``health`` event)."""
    started = time.monotonic()
    config = server.config
    default = config.default_agent_id()
    agents = []
    for agent_id in config.agent_ids():
        sessions = await server.run_light(store_summary, server, str(config.store_path(agent_id)))
        hb = heartbeat_config(config, agent_id)
        agents.append({"agentId": agent_id, "isDefault": agent_id == default, "heartbeat": hb, "sessions": sessions})
    default_agent = next((a for a in agents if a["isDefault"]), None)
    every = default_agent["heartbeat"]["everyMs"] if default_agent else None
    return {"ok": True, "ts": _now_ms(), "durationMs": int((time.monotonic() - started) * 1000),
            "eventLoop": server.ops.event_loop.snapshot(), "channels": {}, "channelOrder": [], "channelLabels": {},
            "heartbeatSeconds": every // 1000 if every else 0, "defaultAgentId": default, "agents": agents,
            "sessions": default_agent["sessions"] if default_agent else None}


async def health(call: MethodCall) -> dict[str, Any]:
    return await health_payload(call.gateway)


def system_presence(call: MethodCall) -> list[dict[str, Any]]:
    return call.gateway.ops.presence.entries()


def last_heartbeat(call: MethodCall) -> None:
    return None  # no agent runtime here: no heartbeat has run


def health_methods() -> list[GatewayMethod]:
    return [
        GatewayMethod("health", health, scope=None, params=HEALTH),
        GatewayMethod("system-presence", system_presence, scope=READ_SCOPE, params=OPEN),
        GatewayMethod("last-heartbeat", last_heartbeat, scope=READ_SCOPE, params=OPEN),
    ]
