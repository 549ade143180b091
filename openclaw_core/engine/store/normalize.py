"""What the reference does to every entry on load and on save (spec section 2):
legacy-field migrations, model-field trimming, delivery-field derivation and
dropping the runtime-only ``skillsSnapshot.resolvedSkills``.

Each function returns True when it changed the entry (in place). Key order
follows JS object semantics: a replaced field keeps its place, a new field is
appended.
"""

from __future__ import annotations

import math
import re
from typing import Any

from openclaw_core.base.lazy_re import lazy_compile
from openclaw_core.js.values import js_trim

# Channel aliases of the bundled channel catalog of OpenClaw 2026.5.4.
CHANNEL_ALIASES = {
    "bb": "bluebubbles", "lark": "feishu", "gchat": "googlechat", "google-chat": "googlechat",
    "teams": "msteams", "nc-talk": "nextcloud-talk", "nc": "nextcloud-talk", "twitch-chat": "twitch",
    "qywx": "wecom", "wework": "wecom", "enterprise-wechat": "wecom", "yb": "yuanbao",
    "tencent-yuanbao": "yuanbao", "元宝": "yuanbao", "zl": "zalo", "zlu": "zalouser",
    "imsg": "imessage", "internet-relay-chat": "irc",
}
_ACCOUNT_VALID = lazy_compile(r"[a-z0-9][a-z0-9_-]{0,63}", re.IGNORECASE)
_ACCOUNT_INVALID = lazy_compile(r"[^a-z0-9_-]+")
_BLOCKED_OBJECT_KEYS = frozenset({"__proto__", "prototype", "constructor"})
_DELIVERY_KEYS = ("channel", "to", "accountId", "threadId")


class _Undefined:
    """A JS property set to ``undefined``: it keeps its slot in the object but
    JSON.stringify leaves it out. Only lives between the two load passes."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()


def _val(entry: dict[str, Any], key: str) -> Any:
    value = entry.get(key)
    return None if value is UNDEFINED else value


def _opt_str(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return js_trim(value) or None


def migrate_entry(entry: dict[str, Any]) -> bool:
    """One-time renames: provider->channel, lastProvider->lastChannel, room->groupChannel.

    The new field takes the old one's value in its own place if it exists
    (with a non-string value), else it is appended; then the old key goes.
    """
    changed = False
    for old, new in (("provider", "channel"), ("lastProvider", "lastChannel")):
        if not isinstance(entry.get(new), str) and isinstance(entry.get(old), str):
            entry[new] = entry[old]
            del entry[old]
            changed = True
    if not isinstance(entry.get("groupChannel"), str) and isinstance(entry.get("room"), str):
        entry["groupChannel"] = entry["room"]
        del entry["room"]
        changed = True
    elif "room" in entry:
        del entry["room"]
        changed = True
    return changed


def normalize_model_fields(entry: dict[str, Any]) -> bool:
    """Trim ``model``/``modelProvider``; a blank model drops both, a blank provider drops it."""
    model = _opt_str(entry.get("model"))
    provider = _opt_str(entry.get("modelProvider"))
    if not model:
        changed = "model" in entry or "modelProvider" in entry
        entry.pop("model", None)
        entry.pop("modelProvider", None)
        return changed
    changed = False
    if entry.get("model") != model:
        entry["model"] = model
        changed = True
    if not provider:
        if "modelProvider" in entry:
            del entry["modelProvider"]
            changed = True
        return changed
    if entry.get("modelProvider") != provider:
        entry["modelProvider"] = provider
        changed = True
    return changed


def strip_resolved_skills(entry: dict[str, Any]) -> bool:
    snapshot = entry.get("skillsSnapshot")
    if isinstance(snapshot, dict) and "resolvedSkills" in snapshot:
        del snapshot["resolvedSkills"]
        return True
    return False


# --- delivery fields ---------------------------------------------------------------

def normalize_channel(value: Any) -> str | None:
    lowered = _opt_str(value)
    if lowered is None:
        return None
    lowered = lowered.lower()
    return CHANNEL_ALIASES.get(lowered, lowered)


def normalize_account_id(value: Any) -> str | None:
    trimmed = _opt_str(value)
    if trimmed is None:
        return None
    lowered = trimmed.lower()
    if not _ACCOUNT_VALID.fullmatch(trimmed):
        lowered = _ACCOUNT_INVALID.sub("-", lowered).strip("-")[:64]
    if not lowered or lowered in _BLOCKED_OBJECT_KEYS:
        return None
    return lowered


def normalize_thread_id(value: Any) -> str | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return int(value)  # Math.trunc
    return _opt_str(value)


def normalize_delivery_context(context: Any) -> dict[str, Any] | None:
    """``{channel, to, accountId, threadId}`` with empty parts left out, or None."""
    if not isinstance(context, dict):
        return None
    raw_channel = context.get("channel")
    channel = normalize_channel(raw_channel) if isinstance(raw_channel, str) else None
    to = _opt_str(context.get("to"))
    account = context.get("accountId")
    account_id = normalize_account_id(account) if isinstance(account, str) else None
    thread_id = normalize_thread_id(context.get("threadId"))
    if not channel and not to and not account_id and thread_id is None:
        return None
    result: dict[str, Any] = {}
    if channel:
        result["channel"] = channel
    if to:
        result["to"] = to
    if account_id:
        result["accountId"] = account_id
    if thread_id is not None:
        result["threadId"] = thread_id
    return result


def merge_delivery_context(primary: dict[str, Any] | None, fallback: dict[str, Any] | None) -> dict[str, Any] | None:
    primary = normalize_delivery_context(primary)
    fallback = normalize_delivery_context(fallback)
    if primary is None and fallback is None:
        return None
    p = primary or {}
    f = fallback or {}
    conflict = bool(p.get("channel") and f.get("channel") and p["channel"] != f["channel"])

    def pick(key: str) -> Any:
        if conflict:
            return p.get(key)
        return p.get(key) if p.get(key) is not None else f.get(key)

    return normalize_delivery_context({
        "channel": p.get("channel") or f.get("channel"),
        "to": pick("to"),
        "accountId": pick("accountId"),
        "threadId": pick("threadId"),
    })


def normalize_delivery(entry: dict[str, Any], *, keep_slots: bool = False) -> bool:
    """Make ``deliveryContext`` and ``lastChannel/lastTo/lastAccountId/lastThreadId`` agree.

    ``keep_slots`` leaves a field that became undefined in place (as
    :data:`UNDEFINED`) the way JS does, so a following pass that derives it
    again puts it back in its old position.
    """
    if _delivery_settled(entry):
        return False
    current = _val(entry, "deliveryContext")
    origin = _val(entry, "origin")
    thread = _val(entry, "lastThreadId")
    if thread is None and isinstance(current, dict):
        thread = current.get("threadId")
    if thread is None and isinstance(origin, dict):
        thread = origin.get("threadId")
    last_channel = _val(entry, "lastChannel")
    merged = merge_delivery_context(
        {
            "channel": last_channel if last_channel is not None else _val(entry, "channel"),
            "to": _val(entry, "lastTo"),
            "accountId": _val(entry, "lastAccountId"),
            "threadId": thread,
        },
        current if isinstance(current, dict) else None,
    )
    merged = merged or {}
    old = current if isinstance(current, dict) else {}
    same_delivery = all(old.get(k) == merged.get(k) for k in _DELIVERY_KEYS) and (
        isinstance(current, dict) or not merged
    )
    last = {
        "lastChannel": merged.get("channel"),
        "lastTo": merged.get("to"),
        "lastAccountId": merged.get("accountId"),
        "lastThreadId": merged.get("threadId"),
    }
    same_last = all(_val(entry, k) == v for k, v in last.items())
    if same_delivery and same_last:
        return False
    # JS `{...entry, deliveryContext, lastChannel, ...}`: existing keys keep their
    # place, new ones are appended in this order; undefined values vanish.
    updates = {"deliveryContext": merged or None, **last}
    for key, value in updates.items():
        if value is not None:
            entry[key] = value
        elif keep_slots and key in entry:
            entry[key] = UNDEFINED
        else:
            entry.pop(key, None)
    return True


def _delivery_settled(entry: dict[str, Any]) -> bool:
    """True only when :func:`normalize_delivery` would change nothing, decided
    without building its dicts (it was four fifths of normalising a loaded
    entry): a ``deliveryContext`` with a normalised channel and, if any, a
    trimmed ``to``, no account or thread anywhere, and ``lastChannel`` /
    ``lastTo`` equal to them. Anything else takes the full derivation."""
    context = entry.get("deliveryContext")
    if type(context) is not dict:
        return False
    channel = context.get("channel")
    if type(channel) is not str or not channel or js_trim(channel) != channel or channel.lower() != channel \
            or CHANNEL_ALIASES.get(channel, channel) != channel:
        return False
    last_channel = entry.get("lastChannel")
    if type(last_channel) is not str or last_channel != channel:
        return False
    to, last_to = context.get("to"), entry.get("lastTo")
    if to is None:
        if last_to is not None:
            return False
    elif type(to) is not str or not to or js_trim(to) != to or type(last_to) is not str or last_to != to:
        return False
    if context.get("accountId") is not None or context.get("threadId") is not None \
            or entry.get("lastAccountId") is not None or entry.get("lastThreadId") is not None:
        return False
    origin = entry.get("origin")
    return not (isinstance(origin, dict) and origin.get("threadId") is not None)


def drop_undefined(entry: dict[str, Any]) -> None:
    for key in [k for k, v in entry.items() if v is UNDEFINED]:
        del entry[key]


def normalize_entry(entry: dict[str, Any], *, keep_slots: bool = False) -> bool:
    """Everything the reference applies on every save (spec 2)."""
    changed = normalize_model_fields(entry)
    changed = normalize_delivery(entry, keep_slots=keep_slots) or changed
    return strip_resolved_skills(entry) or changed


# Every top-level field the functions above read or write. A lazily loaded entry
# (chunks.LazyEntry) serves its other fields as stored, without normalising:
# extend this set whenever normalisation starts to look at another field.
NORMALIZED_FIELDS = frozenset({
    "provider", "channel", "lastProvider", "lastChannel", "room", "groupChannel", "model", "modelProvider",
    "deliveryContext", "origin", "lastThreadId", "lastTo", "lastAccountId", "skillsSnapshot",
})


def normalize_loaded_entry(entry: dict[str, Any]) -> None:
    """Migrations, then the load pass and the save pass the reference makes
    before a loaded store is written back. One pass is not always idempotent
    (a blank lastChannel is dropped by the first and re-derived from channel,
    in its old place, by the second), so both are needed for identical bytes.
    A first pass that changed nothing left nothing for the second to change."""
    migrate_entry(entry)
    if normalize_entry(entry, keep_slots=True):
        normalize_entry(entry)
        drop_undefined(entry)
