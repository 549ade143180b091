"""How the Gateway names a session: group keys and their display names, and the
latest compaction checkpoint of an entry."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from openclaw_core.base import keys
from openclaw_core.js.values import JS_SPACE_CLASS, is_number, js_trim, utf16_len, utf16_slice


SPACES = re.compile(JS_SPACE_CLASS + "+")


def optional_text(value: Any) -> str | None:
    """``normalizeOptionalString``: a trimmed non-empty string, or None."""
    return js_trim(value) or None if isinstance(value, str) else None


_CHECKPOINT_REASONS = ("manual", "auto-threshold", "overflow-retry", "timeout-retry")


def _slug(raw: str) -> str:
    text = js_trim(raw).lower()
    text = SPACES.sub("-", text)
    text = re.sub(r"(?:[^\w#@.+\-]|_)+", "-", text)
    text = re.sub(r"-{2,}", "-", text)
    return re.sub(r"^[-.]+|[-.]+$", "", text)


def group_display_name(provider: str, entry: Mapping[str, Any], group_id: str | None, key: str) -> str:
    """``buildGroupDisplayName``: ``<provider>:<label>`` for a group or channel session."""
    provider_key = (optional_text(provider) or "group").lower()
    group_channel = optional_text(entry.get("groupChannel"))
    space = optional_text(entry.get("space"))
    subject = optional_text(entry.get("subject"))
    if group_channel and space:
        detail = f"{space}{'' if group_channel.startswith('#') else '#'}{group_channel}"
    else:
        detail = group_channel or subject or space or ""
    raw = detail or optional_text(group_id) or key
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
    checkpoint_id = optional_text(latest.get("checkpointId"))
    created = latest.get("createdAt")
    import math

    if not checkpoint_id or not is_number(created) or not math.isfinite(created) \
            or latest.get("reason") not in _CHECKPOINT_REASONS:
        return None
    return {"checkpointId": checkpoint_id, "createdAt": created, "reason": latest["reason"]}


def _created(checkpoint: Any) -> float:
    value = checkpoint.get("createdAt") if isinstance(checkpoint, dict) else None
    return value if is_number(value) else float("-inf")
