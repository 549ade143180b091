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

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core import keys, paths
from openclaw_core.gateway import sessions_rpc as srpc
from openclaw_core.gateway.methods import GatewayMethod, MethodCall, MethodError
from openclaw_core.gateway.protocol import BOOL, NON_EMPTY, READ_SCOPE, S, obj
from openclaw_core.jsvalues import JS_SPACE_CLASS, is_number, js_trim, utf16_len, utf16_slice

if TYPE_CHECKING:
    from openclaw_core.config import Config

SESSIONS_PREVIEW = obj({"keys": S(type="array", items=NON_EMPTY, minItems=1),
                        "limit": S(type="integer", minimum=1), "maxChars": S(type="integer", minimum=20)}, ("keys",))
SESSIONS_DESCRIBE = obj({"key": NON_EMPTY, "includeDerivedTitles": BOOL, "includeLastMessage": BOOL}, ("key",))
SESSIONS_COMPACTION_LIST = obj({"key": NON_EMPTY}, ("key",))

PREVIEW_MAX_KEYS = 64
PREVIEW_READ_SIZES = (64 * 1024, 256 * 1024, 1024 * 1024)
PREVIEW_MAX_LINES = 200
HEAD_BYTES = 8192
HEAD_LINES = 10
LAST_MESSAGE_BYTES = 16384
LAST_MESSAGE_LINES = 20
DERIVED_TITLE_MAX = 60

_LINE_BREAK = re.compile(r"\r?\n")
_SPACES = re.compile(JS_SPACE_CLASS + "+")
_ENVELOPE = re.compile(r"^\[([^\]]+)\]" + JS_SPACE_CLASS + "*")
_ENVELOPE_CHANNELS = ("WebChat", "WhatsApp", "Telegram", "Signal", "Slack", "Discord", "Google Chat", "iMessage",
                      "Teams", "Matrix", "Zalo", "Zalo Personal", "BlueBubbles")
_TOOL_CALL_TYPES = ("tool_use", "toolcall", "tool_call")
_CHECKPOINT_REASONS = ("manual", "auto-threshold", "overflow-retry", "timeout-retry")


def _text(value: Any) -> str | None:
    """``normalizeOptionalString``: a trimmed non-empty string, or None."""
    return js_trim(value) or None if isinstance(value, str) else None


# --- transcripts -------------------------------------------------------------------------------

def transcript_file(entry: Mapping[str, Any], store_path: str, agent_id: str) -> Path | None:
    path = paths.entry_transcript_path(entry, Path(store_path).parent, agent_id)
    return path if path is not None and path.is_file() else None


def _read_slice(path: Path, size: int, *, tail: bool) -> str:
    # Never blocks: a transcript swapped for a FIFO or a device is refused, not opened for reading.
    from openclaw_core import regular_file

    data = regular_file.read_tail(path, size) if tail else regular_file.read_bytes(path, limit=size)
    return data.decode("utf-8", errors="replace")


def _message(line: str) -> Any:
    from openclaw_core import jsjson

    try:
        record = jsjson.loads(line)
    except ValueError:
        return None
    return record.get("message") if isinstance(record, dict) else None


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return js_trim(content) or None
    if not isinstance(content, list):
        return None
    for part in content:
        if isinstance(part, dict) and isinstance(part.get("text"), str) and \
                part.get("type") in ("text", "output_text", "input_text"):
            text = js_trim(part["text"])
            if text:
                return text
    return None


def title_fields(entry: Mapping[str, Any], store_path: str, agent_id: str) -> tuple[str | None, str | None]:
    """(first user message, last message preview) of the entry's transcript."""
    path = transcript_file(entry, store_path, agent_id)
    if path is None:
        return None, None
    try:
        head = _read_slice(path, HEAD_BYTES, tail=False)
        tail = _read_slice(path, LAST_MESSAGE_BYTES, tail=True)
    except OSError:
        return None, None
    first = None
    for line in _LINE_BREAK.split(head)[:HEAD_LINES]:
        message = _message(line) if js_trim(line) else None
        if isinstance(message, dict) and message.get("role") == "user":
            first = _content_text(message.get("content"))
            if first:
                break
    last = None
    lines = [line for line in _LINE_BREAK.split(tail) if js_trim(line)][-LAST_MESSAGE_LINES:]
    for line in reversed(lines):
        message = _message(line)
        if isinstance(message, dict) and message.get("role") in ("user", "assistant"):
            last = _content_text(message.get("content"))
            if last:
                break
    return first, last


def _truncate_title(text: str, limit: int) -> str:
    if utf16_len(text) <= limit:
        return text
    cut = utf16_slice(text, 0, limit - 1)
    space = cut.rfind(" ")
    if space > limit * 0.6:
        return cut[:space] + "…"
    return cut + "…"


def derive_title(entry: Mapping[str, Any], first_user_message: str | None) -> str | None:
    for name in ("displayName", "subject"):
        if _text(entry.get(name)):
            return _text(entry.get(name))
    if first_user_message and js_trim(first_user_message):
        return _truncate_title(js_trim(_SPACES.sub(" ", first_user_message)), DERIVED_TITLE_MAX)
    session_id = entry.get("sessionId")
    if isinstance(session_id, str) and session_id:
        prefix = utf16_slice(session_id, 0, 8)
        updated = entry.get("updatedAt")
        if is_number(updated) and updated > 0:
            try:
                day = datetime.fromtimestamp(updated / 1000, tz=timezone.utc).strftime("%Y-%m-%d")
            except (OverflowError, OSError, ValueError):  # past year 9999: no date rather than no answer
                return prefix
            return f"{prefix} ({day})"
        return prefix
    return None


def _tool_names(message: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    raw = message.get("toolName", message.get("tool_name"))
    if _text(raw):
        names.append(_text(raw))
    content = message.get("content")
    for block in content if isinstance(content, list) else ():
        if isinstance(block, dict) and isinstance(block.get("type"), str) and \
                js_trim(block["type"]).lower() in _TOOL_CALL_TYPES and _text(block.get("name")):
            if _text(block.get("name")) not in names:
                names.append(_text(block.get("name")))
    return names


def _preview_text(message: Mapping[str, Any]) -> str | None:
    content = message.get("content")
    role = message.get("role")
    if isinstance(role, str) and js_trim(role).lower() == "assistant":
        if isinstance(content, str):
            return js_trim(content) or None
        texts = [b["text"] for b in content if isinstance(b, dict) and b.get("type") == "text"
                 and isinstance(b.get("text"), str)] if isinstance(content, list) else []
        return js_trim("\n".join(texts)) or None
    if isinstance(content, str):
        return js_trim(content) or None
    if isinstance(content, list):
        parts = [b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
                 and js_trim(b["text"])]
        if parts:
            return js_trim("\n".join(parts))
    if isinstance(message.get("text"), str):
        return js_trim(message["text"]) or None
    return None


def _media_summary(message: Mapping[str, Any]) -> str | None:
    content = message.get("content")
    for block in content if isinstance(content, list) else ():
        kind = js_trim(block["type"]).lower() if isinstance(block, dict) and isinstance(block.get("type"), str) else ""
        if kind and kind not in ("text", "toolcall", "tool_call"):
            return f"[{kind}]"
    return None


def strip_envelope(text: str) -> str:
    match = _ENVELOPE.match(text)
    if not match:
        return text
    header = match.group(1)
    if re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z\b", header) or re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}\b", header) \
            or any(header.startswith(f"{label} ") for label in _ENVELOPE_CHANNELS):
        return text[match.end():]
    return text


def _truncate_preview(text: str, limit: int) -> str:
    if utf16_len(text) <= limit:
        return text
    return utf16_slice(text, 0, limit - 3) + "..."


def _recent_messages(path: Path, count: int, size: int) -> list[Any]:
    lines = [line for line in _LINE_BREAK.split(_read_slice(path, size, tail=True)) if js_trim(line)]
    collected = []
    for line in reversed(lines[-PREVIEW_MAX_LINES:]):
        message = _message(line)
        if isinstance(message, (dict, list)):
            collected.append(message)
            if len(collected) >= count:
                break
    return collected[::-1]


def preview_items(entry: Mapping[str, Any], store_path: str, agent_id: str, limit: int,
                  max_chars: int) -> list[dict[str, str]]:
    path = transcript_file(entry, store_path, agent_id)
    if path is None:
        return []
    count = max(1, min(limit, 50))
    chars = max(20, min(max_chars, 2000))
    messages: list[Any] = []
    for size in PREVIEW_READ_SIZES:
        try:
            messages = _recent_messages(path, count, size)
        except OSError:  # unreadable, or not a regular file: no messages, as in the reference
            messages = []
        if messages:
            break
    items = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        names = _tool_names(message)
        role = message.get("role")
        role = "tool" if names else {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool"}.get(
            js_trim(role).lower() if isinstance(role, str) else "", "other")
        text = _preview_text(message)
        if not text and names:
            text = "call " + ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
        text = text or _media_summary(message)
        trimmed = js_trim(text) if text else ""
        if not trimmed:
            continue
        if role == "user":
            trimmed = strip_envelope(trimmed)
        items.append({"role": role, "text": _truncate_preview(trimmed, chars)})
    return items[-count:]


# --- rows ----------------------------------------------------------------------------------------------

def _slug(raw: str) -> str:
    text = js_trim(raw).lower()
    text = _SPACES.sub("-", text)
    text = re.sub(r"(?:[^\w#@.+\-]|_)+", "-", text)
    text = re.sub(r"-{2,}", "-", text)
    return re.sub(r"^[-.]+|[-.]+$", "", text)


def group_display_name(provider: str, entry: Mapping[str, Any], group_id: str | None, key: str) -> str:
    """``buildGroupDisplayName``: ``<provider>:<label>`` for a group or channel session."""
    provider_key = (_text(provider) or "group").lower()
    group_channel = _text(entry.get("groupChannel"))
    space = _text(entry.get("space"))
    subject = _text(entry.get("subject"))
    if group_channel and space:
        detail = f"{space}{'' if group_channel.startswith('#') else '#'}{group_channel}"
    else:
        detail = group_channel or subject or space or ""
    raw = detail or _text(group_id) or key
    token = _slug(raw)
    if not token:
        short = js_trim(raw)
        token = _slug(short if utf16_len(short) <= 14 else f"{utf16_slice(short, 0, 6)}...{short[-4:]}")
    if not entry.get("groupChannel") and token.startswith("#"):
        token = token.lstrip("#")
    if token and not re.match(r"^[@#]", token) and not token.startswith("g-") and "#" not in token:
        token = f"g-{token}"
    return f"{provider_key}:{token}" if token else provider_key


def parse_group_key(key: str) -> tuple[str, str] | None:
    """(channel, id) of a ``<channel>:group|channel:<id>`` key (agent prefix ignored)."""
    parsed = keys.parse_agent_session_key(key)
    parts = [p for p in (parsed.rest if parsed else key).split(":") if p]
    if len(parts) >= 3 and parts[1] in ("group", "channel"):
        return parts[0], ":".join(parts[2:])
    return None


def display_fields(key: str, entry: Mapping[str, Any]) -> tuple[Any, Any]:
    """(displayName, channel) of a row: the entry's, else the group name its key implies,
    else its label, else its origin's label."""
    group = parse_group_key(key)
    channel = entry.get("channel")
    if channel is None and group:
        channel = group[0]
    name = entry.get("displayName")
    if name is None and channel:
        name = group_display_name(channel if isinstance(channel, str) else "", entry, group[1] if group else None, key)
    if name is None:
        name = entry.get("label")
    if name is None and isinstance(entry.get("origin"), dict):
        name = entry["origin"].get("label")
    return name, channel


def latest_checkpoint(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    checkpoints = entry.get("compactionCheckpoints")
    if not isinstance(checkpoints, list) or not checkpoints:
        return None
    latest = None
    for checkpoint in checkpoints:
        if latest is None or _created(checkpoint) > _created(latest):
            latest = checkpoint
    if not isinstance(latest, dict):
        return None
    checkpoint_id = _text(latest.get("checkpointId"))
    created = latest.get("createdAt")
    import math

    if not checkpoint_id or not is_number(created) or not math.isfinite(created) \
            or latest.get("reason") not in _CHECKPOINT_REASONS:
        return None
    return {"checkpointId": checkpoint_id, "createdAt": created, "reason": latest["reason"]}


def _created(checkpoint: Any) -> float:
    value = checkpoint.get("createdAt") if isinstance(checkpoint, dict) else None
    return value if is_number(value) else float("-inf")


def child_sessions_index(entries: Mapping[str, Mapping[str, Any]], now_ms: int) -> dict[str, list[str]]:
    """Parent key -> child keys, from children's ``spawnedBy``/``parentSessionKey`` (stale links dropped)."""
    index: dict[str, list[str]] = {}
    for key, entry in entries.items():
        if not isinstance(entry, Mapping):
            continue
        parents = [p for p in (_text(entry.get("spawnedBy")), _text(entry.get("parentSessionKey"))) if p and p != key]
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
                and parent in (_text(entry.get("spawnedBy")), _text(entry.get("parentSessionKey")))
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
    key = _text(params.get("key"))
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
        if isinstance(entry, Mapping) and (best is None or srpc._number(entry.get("updatedAt"))
                                           > srpc._number(best.get("updatedAt"))):
            best = entry
    return best


async def _with_entries(call: MethodCall, store_path: str, fn: Any) -> Any:
    from openclaw_core.store.writer import store_exists

    if not store_exists(store_path, call.config, call.gateway.pm):
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
        from openclaw_core.jssort import v8_sort
        from openclaw_core.jsvalues import to_number

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
