"""The Gateway's session read methods: ``sessions.preview`` (the last messages
of transcripts), ``sessions.describe`` (one session's full row),
``sessions.compaction.list`` (an entry's compaction checkpoints), and what
``sessions.list`` rows and ``sessions.changed`` events take from the store and
the transcripts (display names, derived titles, last-message previews).

Transcripts are read, never written, with the reference's bounds: the head
(8 KiB, 10 lines) for the first user message, the tail (16 KiB, 20 lines) for
the last message, tails of 64 KiB / 256 KiB / 1 MiB (200 lines) for a preview.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openclaw_core.base import keys

from openclaw_core.adapters.gateway import sessions_rpc as srpc
from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodCall, MethodError
from openclaw_core.engine.wire.protocol import BOOL, NON_EMPTY, READ_SCOPE, S, obj
from openclaw_core.js.values import is_number, js_trim
from openclaw_core.adapters.gateway.session_display import optional_text
from openclaw_core.adapters.gateway.session_transcripts import derive_title, preview_items, title_fields

if TYPE_CHECKING:
    from openclaw_core.config.model import Config

SESSIONS_PREVIEW = obj({"keys": S(type="array", items=NON_EMPTY, minItems=1),
                        "limit": S(type="integer", minimum=1), "maxChars": S(type="integer", minimum=20)}, ("keys",))
SESSIONS_DESCRIBE = obj({"key": NON_EMPTY, "includeDerivedTitles": BOOL, "includeLastMessage": BOOL}, ("key",))
SESSIONS_COMPACTION_LIST = obj({"key": NON_EMPTY}, ("key",))

PREVIEW_MAX_KEYS = 64


# --- transcripts -------------------------------------------------------------------------------


# --- rows ----------------------------------------------------------------------------------------------


def child_sessions_index(entries: Mapping[str, Mapping[str, Any]], now_ms: int) -> dict[str, list[str]]:
    """Parent key -> child keys, from children's ``spawnedBy``/``parentSessionKey`` (stale links dropped)."""
    index: dict[str, list[str]] = {}
    for key, entry in entries.items():
        if not isinstance(entry, Mapping):
            continue
        parents = [p for p in (optional_text(entry.get("spawnedBy")), optional_text(entry.get("parentSessionKey"))) if p and p != key]
        if not parents or not _keep_child_link(entry, now_ms):
            continue
        for parent in parents:
            children = index.setdefault(parent, [])
            if key not in children:
                children.append(key)
    return index


def children_of(entries: Mapping[str, Mapping[str, Any]], parent: str, now_ms: int) -> list[str] | None:
    """``child_sessions_index(...).get(parent)`` without indexing every other parent."""
    children = [key for key, entry in entries.items() if isinstance(entry, Mapping) and key != parent
                and parent in (optional_text(entry.get("spawnedBy")), optional_text(entry.get("parentSessionKey")))
                and _keep_child_link(entry, now_ms)]
    return children or None


def _positive_time(value: Any) -> bool:
    return is_number(value) and value > 0 and value != float("inf")


def _keep_child_link(entry: Mapping[str, Any], now_ms: int) -> bool:
    if entry.get("status") in ("done", "failed", "killed", "timeout") or _positive_time(entry.get("endedAt")):
        ended = entry.get("endedAt") if _positive_time(entry.get("endedAt")) else entry.get("updatedAt")
        return _positive_time(ended) and now_ms - ended <= 30 * 60_000
    if entry.get("status") == "running" or _positive_time(entry.get("startedAt")):
        return True
    updated = entry.get("updatedAt")
    return _positive_time(updated) and now_ms - updated <= 60 * 60_000


def full_row(config: Config, key: str, entry: Mapping[str, Any], store_path: str,
             entries: Mapping[str, Mapping[str, Any]], now_ms: int, *, titles: bool = False,
             last_message: bool = False) -> dict[str, Any]:
    """One session's row as ``sessions.describe`` and ``sessions.changed`` carry it (not the list's light row)."""
    row = srpc.session_row(config, key, entry, children=children_of(entries, key, now_ms))
    row["thinkingDefault"] = "off"
    row.pop("hasActiveRun", None)  # only the list (and the event) say whether a run is active
    if entry.get("sessionId") and (titles or last_message):
        agent_id = _row_agent(config, key)
        first, last = title_fields(entry, store_path, agent_id)
        add_titles(row, entry, first, last, titles=titles, last_message=last_message)
    return row


def add_titles(row: dict[str, Any], entry: Mapping[str, Any], first: str | None, last: str | None, *,
               titles: bool, last_message: bool) -> None:
    """Put derivedTitle / lastMessagePreview in their place (after displayName)."""
    extra: dict[str, Any] = {}
    if titles:
        title = derive_title(entry, first)
        if title is not None:
            extra["derivedTitle"] = title
    if last_message and last:
        extra["lastMessagePreview"] = last
    if not extra:
        return
    items = list(row.items())
    anchor = next((i + 1 for i, (k, _) in enumerate(items) if k in ("displayName", "label", "kind")), 1)
    for name in ("displayName", "label"):
        at = next((i + 1 for i, (k, _) in enumerate(items) if k == name), None)
        if at is not None:
            anchor = max(anchor, at)
    row.clear()
    row.update(items[:anchor])
    row.update(extra)
    row.update(items[anchor:])


def _row_agent(config: Config, key: str) -> str:
    parsed = keys.parse_agent_session_key(key)
    return keys.normalize_agent_id(parsed.agent_id) if parsed else config.default_agent_id()


# --- sessions.changed -----------------------------------------------------------------------------

_EVENT_FIELDS = ("updatedAt", "sessionId", "kind", "channel", "subject", "groupChannel", "space", "chatType", "origin",
                 "spawnedBy", "spawnedWorkspaceDir", "forkedFromParent", "spawnDepth", "subagentRole",
                 "subagentControlScope", "label", "displayName", "deliveryContext", "parentSessionKey",
                 "childSessions", "thinkingLevel", "fastMode", "verboseLevel", "traceLevel", "reasoningLevel",
                 "elevatedLevel", "sendPolicy", "systemSent", "abortedLastRun", "inputTokens", "outputTokens",
                 "lastChannel", "lastTo", "lastAccountId", "lastThreadId", "totalTokens", "totalTokensFresh",
                 "contextTokens", "estimatedCostUsd", "responseUsage", "modelProvider", "model", "status",
                 "hasActiveRun", "startedAt", "endedAt", "runtimeMs", "compactionCheckpointCount",
                 "latestCompactionCheckpoint")


def changed_payload(config: Config, key: str, reason: str, entry: Mapping[str, Any] | None, store_path: str,
                    entries: Mapping[str, Mapping[str, Any]], now_ms: int) -> dict[str, Any]:
    """``{sessionKey, reason, ts, ...the session's row}`` as the reference broadcasts it."""
    payload: dict[str, Any] = {"sessionKey": key, "reason": reason, "ts": now_ms}
    if entry is not None:
        row = full_row(config, key, entry, store_path, entries, now_ms)
        row["hasActiveRun"] = False
        for name in _EVENT_FIELDS:
            if row.get(name) is not None:
                payload[name] = row[name]
    return payload


def _plain(value: Any) -> Any:
    """A JSON copy of live store data (the response must not share the writer's objects)."""
    import copy

    return copy.deepcopy(value)


# --- the methods -----------------------------------------------------------------------------------------

def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def _required_key(params: Mapping[str, Any]) -> str:
    key = optional_text(params.get("key"))
    if not key:
        raise MethodError("key required")
    return key


def _freshest(entries: Mapping[str, Mapping[str, Any]], target: srpc.SessionTarget) -> Mapping[str, Any] | None:
    """The freshest of the key's stored variants (canonical, as given, the main alias)."""
    candidates = [target.canonical_key]
    if target.request_key != target.canonical_key:
        candidates.append(target.request_key)
    best = None
    for candidate in candidates:
        entry = entries.get(candidate)
        if isinstance(entry, Mapping) and (best is None or srpc.number(entry.get("updatedAt"))
                                           > srpc.number(best.get("updatedAt"))):
            best = entry
    return best


async def _with_entries(call: MethodCall, store_path: str, fn: Any) -> Any:
    from openclaw_core.engine.store.writer import store_exists

    if not store_exists(store_path, call.config, call.gateway.hooks):
        return await call.run_blocking(fn, {})
    return await call.read_store(store_path, fn)


async def sessions_preview(call: MethodCall) -> dict[str, Any]:
    params = call.params
    config = call.config
    wanted = [js_trim(k) for k in params.get("keys") or [] if isinstance(k, str) and js_trim(k)][:PREVIEW_MAX_KEYS]
    limit = max(1, params["limit"]) if is_number(params.get("limit")) else 12
    max_chars = max(20, params["maxChars"]) if is_number(params.get("maxChars")) else 240
    previews = []
    for key in wanted:
        target = srpc.session_target(config, key)

        def one(entries: Mapping[str, Mapping[str, Any]], key: str = key,
                target: srpc.SessionTarget = target) -> dict[str, Any]:
            entry = _freshest(entries, target)
            if not entry or not entry.get("sessionId"):
                return {"key": key, "status": "missing", "items": []}
            items = preview_items(dict(entry), target.store_path, target.agent_id, limit, max_chars)
            return {"key": key, "status": "ok" if items else "empty", "items": items}

        try:
            previews.append(await _with_entries(call, target.store_path, one))
        except Exception:  # noqa: BLE001 - one unreadable store or transcript answers "error" for its key
            previews.append({"key": key, "status": "error", "items": []})
    return {"ts": _now_ms(), "previews": previews}


async def sessions_describe(call: MethodCall) -> dict[str, Any]:
    params = call.params
    key = _required_key(params)
    config = call.config
    target = srpc.session_target(config, key)
    now = _now_ms()

    def describe(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
        entry = _freshest(entries, target)
        if entry is None:
            return None
        return _plain(full_row(config, target.canonical_key, entry, target.store_path, entries, now,
                                   titles=params.get("includeDerivedTitles") is True,
                                   last_message=params.get("includeLastMessage") is True))

    return {"session": await _with_entries(call, target.store_path, describe)}


async def sessions_compaction_list(call: MethodCall) -> dict[str, Any]:
    key = _required_key(call.params)
    target = srpc.session_target(call.config, key)

    def checkpoints(entries: Mapping[str, Mapping[str, Any]]) -> list[Any]:
        entry = _freshest(entries, target)
        found = entry.get("compactionCheckpoints") if entry else None
        if not isinstance(found, list):
            return []
        from openclaw_core.js.sort import v8_sort
        from openclaw_core.js.values import to_number

        def created(c: Any) -> float:
            return to_number(c.get("createdAt")) if isinstance(c, dict) else float("nan")

        return _plain(v8_sort(list(found), lambda a, b: created(b) - created(a)))

    return {"ok": True, "key": target.canonical_key, "checkpoints": await _with_entries(call, target.store_path,
                                                                                       checkpoints)}


def methods() -> list[GatewayMethod]:
    return [
        GatewayMethod("sessions.preview", sessions_preview, scope=READ_SCOPE, params=SESSIONS_PREVIEW),
        GatewayMethod("sessions.describe", sessions_describe, scope=READ_SCOPE, params=SESSIONS_DESCRIBE),
        GatewayMethod("sessions.compaction.list", sessions_compaction_list, scope=READ_SCOPE,
                      params=SESSIONS_COMPACTION_LIST),
    ]
