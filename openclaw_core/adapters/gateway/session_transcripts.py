"""What the Gateway reads from a session's transcript: the first and last user
messages (derived titles, last-message previews) and the recent messages of
sessions.preview, read from the file's head or tail only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from openclaw_core.config import paths
from openclaw_core.js.values import JS_SPACE_CLASS, is_number, js_trim, utf16_len, utf16_slice
from openclaw_core.adapters.gateway.session_display import SPACES, optional_text


PREVIEW_READ_SIZES = (64 * 1024, 256 * 1024, 1024 * 1024)


PREVIEW_MAX_LINES = 200


HEAD_BYTES = 8192


HEAD_LINES = 10


LAST_MESSAGE_BYTES = 16384


LAST_MESSAGE_LINES = 20


DERIVED_TITLE_MAX = 60


_LINE_BREAK = re.compile(r"\r?\n")


_ENVELOPE = re.compile(r"^\[([^\]]+)\]" + JS_SPACE_CLASS + "*")


_ENVELOPE_CHANNELS = ("WebChat", "WhatsApp", "Telegram", "Signal", "Slack", "Discord", "Google Chat", "iMessage",
                      "Teams", "Matrix", "Zalo", "Zalo Personal", "BlueBubbles")


_TOOL_CALL_TYPES = ("tool_use", "toolcall", "tool_call")


def transcript_file(entry: Mapping[str, Any], store_path: str, agent_id: str) -> Path | None:
    path = paths.entry_transcript_path(entry, Path(store_path).parent, agent_id)
    return path if path is not None and path.is_file() else None


def _read_slice(path: Path, size: int, *, tail: bool) -> str:
    # Never blocks: a transcript swapped for a FIFO or a device is refused, not opened for reading.
    from openclaw_core.base import regular_file

    data = regular_file.read_tail(path, size) if tail else regular_file.read_bytes(path, limit=size)
    return data.decode("utf-8", errors="replace")


def _message(line: str) -> Any:
    from openclaw_core.js import json as jsjson

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
        if optional_text(entry.get(name)):
            return optional_text(entry.get(name))
    if first_user_message and js_trim(first_user_message):
        return _truncate_title(js_trim(SPACES.sub(" ", first_user_message)), DERIVED_TITLE_MAX)
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
    if optional_text(raw):
        names.append(optional_text(raw))
    content = message.get("content")
    for block in content if isinstance(content, list) else ():
        if isinstance(block, dict) and isinstance(block.get("type"), str) and \
                js_trim(block["type"]).lower() in _TOOL_CALL_TYPES and optional_text(block.get("name")):
            if optional_text(block.get("name")) not in names:
                names.append(optional_text(block.get("name")))
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
