"""``status``, ``channels.status``, ``doctor.memory.status``, ``device.pair.list``,
``usage.cost``, ``diagnostics.stability``: what ``openclaw status``, ``gateway
status --require-rpc``, ``doctor`` and ``gateway call`` read, in OpenClaw
2026.5.4's shapes (recorded in tests/fixtures/gateway-ops/).

This Gateway runs no channels, no tasks, no memory plugin, no model calls and
no device pairing, so those parts answer empty but valid: what the reference
answers on a state where none of them has anything to report.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openclaw_core import __version__

from openclaw_core.base import keys
from openclaw_core.adapters.gateway import sessions_rpc as srpc
from openclaw_core.adapters.gateway.health_methods import OPEN, heartbeat_config
from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodCall
from openclaw_core.engine.wire.protocol import ADMIN_SCOPE, BOOL, READ_SCOPE, S, obj

PAIRING_SCOPE = "operator.pairing"
CHANNELS_STATUS = obj({"probe": BOOL, "timeoutMs": S(type="integer", minimum=0)})
STATUS_RECENT = 10
USAGE_DEFAULT_DAYS = 30
USAGE_MAX_DAYS = 366
USAGE_SCAN_MAX_FILES = 100_000  # usage.cost counts transcripts; never more than this many entries looked at
REDACTED_PATH = "[redacted]"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _status_agent_order(config: Any) -> list[str]:
    default = config.default_agent_id()
    return [default, *sorted(a for a in config.agent_ids() if a != default)]


def _zeros(*names: str) -> dict[str, int]:
    return dict.fromkeys(names, 0)


def _recent_row(agent_id: str, key: str, entry: Mapping[str, Any], now: int, model: Any, context: Any) -> dict[str, Any]:
    total = entry.get("totalTokens")
    total = total if isinstance(total, int) and not isinstance(total, bool) else None
    context = entry.get("contextTokens") if isinstance(entry.get("contextTokens"), int) else context
    remaining = max(0, context - total) if total is not None and isinstance(context, int) else None
    percent = round(total * 100 / context) if total is not None and isinstance(context, int) and context else None
    updated = srpc.number(entry.get("updatedAt"))
    row: dict[str, Any] = {"agentId": agent_id, "key": key, "kind": srpc.row_kind(key, entry),
                           "sessionId": entry.get("sessionId"), "updatedAt": entry.get("updatedAt"),
                           "age": now - updated, "totalTokens": total,
                           "totalTokensFresh": entry.get("totalTokensFresh") is True,
                           "remainingTokens": remaining, "percentUsed": percent,
                           "model": entry.get("model") if isinstance(entry.get("model"), str) else model,
                           "contextTokens": context}
    row["flags"] = [f"id:{entry['sessionId']}"] if isinstance(entry.get("sessionId"), str) else []
    return row


def _sessions_block(call: MethodCall, admin: bool) -> dict[str, Any]:
    from openclaw_core.engine.store.writer import get_writer, store_exists

    config = call.config
    now = _now_ms()
    defaults = srpc.list_defaults(config)
    model, context = defaults["model"], defaults["contextTokens"]
    by_agent = []
    everything: list[tuple[float, int, dict[str, Any]]] = []
    total = 0
    for order, agent_id in enumerate(_status_agent_order(config)):
        path = str(config.store_path(agent_id))
        rows: list[dict[str, Any]] = []
        count = 0
        if store_exists(path, config, call.gateway.hooks):
            def collect(entries: Mapping[str, Mapping[str, Any]], agent_id: str = agent_id) -> tuple[int, list]:
                newest = sorted(entries.items(), key=lambda kv: -srpc.number(kv[1].get("updatedAt")))
                return len(entries), [_recent_row(agent_id, keys.canonical_key_for_agent(agent_id, k), e, now, model,
                                                  context) for k, e in newest[:STATUS_RECENT]]

            count, rows = get_writer(path, config, call.gateway.hooks).read(collect)
        total += count
        everything.extend((-srpc.number(r["updatedAt"]), order, r) for r in rows)
        by_agent.append({"agentId": agent_id, "path": path if admin else REDACTED_PATH, "count": count,
                         "recent": rows if admin else []})
    everything.sort(key=lambda t: (t[0], t[1]))
    if not admin:
        return {"paths": [], "count": total, "defaults": {"model": None, "contextTokens": None}, "recent": [],
                "byAgent": by_agent}
    return {"paths": [a["path"] for a in by_agent], "count": total,
            "defaults": {"model": model, "contextTokens": context},
            "recent": [r for _, _, r in everything[:STATUS_RECENT]], "byAgent": by_agent}


async def status(call: MethodCall) -> dict[str, Any]:
    config = call.config
    admin = ADMIN_SCOPE in call.client.scopes  # store paths and session rows only for admins, as the reference
    sessions = await call.run_blocking(_sessions_block, call, admin)
    agents = []
    for agent_id in _status_agent_order(config):
        hb = heartbeat_config(config, agent_id)
        agents.append({"agentId": agent_id, "enabled": hb["enabled"], "every": hb["every"], "everyMs": hb["everyMs"]})
    return {
        "runtimeVersion": __version__,
        "heartbeat": {"defaultAgentId": config.default_agent_id(), "agents": agents},
        "channelSummary": [], "queuedSystemEvents": [],
        "tasks": {"total": 0, "active": 0, "terminal": 0, "failures": 0,
                  "byStatus": _zeros("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost"),
                  "byRuntime": _zeros("subagent", "acp", "cli", "cron")},
        "taskAudit": {"total": 0, "warnings": 0, "errors": 0,
                      "byCode": _zeros("stale_queued", "stale_running", "lost", "delivery_failed", "missing_cleanup",
                                       "inconsistent_timestamps")},
        "sessions": sessions,
        "eventLoop": call.gateway.ops.event_loop.snapshot(),
    }


def channels_status(call: MethodCall) -> dict[str, Any]:
    # We run no channels, so there are none to report (docs/differences.md).
    return {"ts": _now_ms(), "channelOrder": [], "channelLabels": {}, "channelDetailLabels": {},
            "channelSystemImages": {}, "channelMeta": [], "eventLoop": call.gateway.ops.event_loop.snapshot(),
            "channels": {}, "channelAccounts": {}, "channelDefaultAccountId": {}}


def doctor_memory_status(call: MethodCall) -> dict[str, Any]:
    return {"agentId": call.config.default_agent_id(), "embedding": {"ok": False, "error": "memory plugin unavailable"}}


def device_pair_list(call: MethodCall) -> dict[str, Any]:
    # No device pairing here: a device is let in by the shared token (docs/differences.md).
    return {"pending": [], "paired": []}


def _count_transcripts(sessions_dir: Path) -> int:
    count = 0
    try:
        with os.scandir(sessions_dir) as it:
            for seen, item in enumerate(it):
                if seen >= USAGE_SCAN_MAX_FILES:
                    break
                if item.name.endswith(".jsonl") and item.is_file(follow_symlinks=False):
                    count += 1
    except OSError:
        return 0
    return count


async def usage_cost(call: MethodCall) -> dict[str, Any]:
    days = call.params.get("days")
    days = days if isinstance(days, int) and not isinstance(days, bool) and 0 < days <= USAGE_MAX_DAYS \
        else USAGE_DEFAULT_DAYS
    sessions_dir = Path(call.config.store_path(call.config.default_agent_id())).parent
    files = await call.run_blocking(_count_transcripts, sessions_dir)
    now = _now_ms()
    # No model calls run here: no usage to cost. The transcripts are what a cost scan would read.
    return {"updatedAt": now, "days": days + 1, "daily": [],
            "totals": _zeros("input", "output", "cacheRead", "cacheWrite", "totalTokens", "totalCost", "inputCost",
                             "outputCost", "cacheReadCost", "cacheWriteCost", "missingCostEntries"),
            "cacheStatus": {"status": "fresh", "cachedFiles": files, "pendingFiles": 0, "staleFiles": 0,
                            "refreshedAt": now}}


def diagnostics_stability(call: MethodCall) -> dict[str, Any]:
    ring = call.gateway.ops.diagnostics
    events = ring.events()
    limit = call.params.get("limit")
    shown = events[-limit:] if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else events
    by_type: dict[str, int] = {}
    for event in events:
        by_type[event["type"]] = by_type.get(event["type"], 0) + 1
    generated = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"generatedAt": generated, "capacity": ring.capacity, "count": len(events), "dropped": ring.dropped,
            "firstSeq": events[0]["seq"] if events else None, "lastSeq": events[-1]["seq"] if events else None,
            "events": shown, "summary": {"byType": by_type}}


def status_methods() -> list[GatewayMethod]:
    return [
        GatewayMethod("status", status, scope=READ_SCOPE, params=OPEN),
        GatewayMethod("channels.status", channels_status, scope=READ_SCOPE, params=CHANNELS_STATUS),
        GatewayMethod("doctor.memory.status", doctor_memory_status, scope=READ_SCOPE, params=OPEN),
        GatewayMethod("device.pair.list", device_pair_list, scope=PAIRING_SCOPE, params=OPEN),
        GatewayMethod("usage.cost", usage_cost, scope=READ_SCOPE, params=OPEN),
        GatewayMethod("diagnostics.stability", diagnostics_stability, scope=READ_SCOPE, params=OPEN),
    ]
