"""sessions.patch: the reference's field rules (normalised enums, lineage fields
set once, subagent/acp-only fields), applied to one entry of the live store."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openclaw_core.base import keys
from openclaw_core.js.values import js_trim
from openclaw_core.adapters.gateway.sessions_rpc import THINKING_LEVELS, number

if TYPE_CHECKING:
    from openclaw_core.engine.store.state import MutationView


class PatchRejected(Exception):
    """A ``sessions.patch`` value the rules refuse (INVALID_REQUEST)."""


def _trimmed(value: Any) -> str:
    return js_trim(value) if isinstance(value, str) else ""


_THINK_ALIASES = {"on": "low", "enable": "low", "enabled": "low", "min": "minimal", "think": "minimal",
                  "med": "medium", "mid": "medium", "harder": "medium", "think-harder": "medium",
                  "max": "high", "highest": "high", "ultra": "high", "ultrathink": "high",
                  "x-high": "xhigh", "x_high": "xhigh", "extra-high": "xhigh", "extra high": "xhigh",
                  "disable": "off", "disabled": "off", "none": "off"}


_ON_OFF = {"on": "on", "true": "on", "yes": "on", "1": "on", "enable": "on", "enabled": "on",
           "off": "off", "false": "off", "no": "off", "0": "off", "disable": "off", "disabled": "off"}


def _enum(value: Any, allowed: dict[str, str] | tuple[str, ...]) -> str | None:
    text = _trimmed(value).lower()
    if isinstance(allowed, dict):
        return allowed.get(text)
    return text if text in allowed else None


def normalize_think(value: Any) -> str | None:
    text = _trimmed(value).lower()
    return text if text in THINKING_LEVELS else _THINK_ALIASES.get(text)


def _simple(next_entry: dict[str, Any], patch: Mapping[str, Any], name: str, normalize: Any, error: str) -> None:
    if name not in patch:
        return
    raw = patch[name]
    if raw is None:
        next_entry.pop(name, None)
        return
    value = normalize(raw)
    if not value:
        raise PatchRejected(error)
    next_entry[name] = value


def _lineage(next_entry: dict[str, Any], existing: Mapping[str, Any] | None, patch: Mapping[str, Any],
             store_key: str, name: str, normalize: Any, invalid: str) -> None:
    if name not in patch:
        return
    raw = patch[name]
    had = existing.get(name) if existing else None
    if raw is None:
        if had is not None and had != "":
            raise PatchRejected(f"{name} cannot be cleared once set")
        return
    lineage_ok = keys.is_subagent_key(store_key) or keys.is_acp_key(store_key)
    value = normalize(raw)
    if name in ("spawnedBy",) and not value:
        raise PatchRejected(invalid)
    if not lineage_ok:
        raise PatchRejected(f"{name} is only supported for subagent:* or acp:* sessions")
    if value is None or value == "":
        raise PatchRejected(invalid)
    if had is not None and had != "" and had != value:
        raise PatchRejected(f"{name} cannot be changed once set")
    next_entry[name] = value


def apply_patch(store: MutationView, store_key: str, patch: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
    """The entry ``sessions.patch`` leaves under ``store_key`` (raises PatchRejected)."""
    existing = store.peek(store_key)
    if existing is not None:
        next_entry = dict(existing)
        next_entry["updatedAt"] = max(number(existing.get("updatedAt")), now_ms)
    else:
        next_entry = {"sessionId": str(uuid.uuid4()), "updatedAt": now_ms}
    _lineage(next_entry, existing, patch, store_key, "spawnedBy", lambda v: _trimmed(v), "invalid spawnedBy: empty")
    _lineage(next_entry, existing, patch, store_key, "spawnedWorkspaceDir", lambda v: _trimmed(v),
             "invalid spawnedWorkspaceDir: empty")
    _lineage(next_entry, existing, patch, store_key, "spawnDepth",
             lambda v: v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None,
             "invalid spawnDepth (use an integer >= 0)")
    _lineage(next_entry, existing, patch, store_key, "subagentRole", lambda v: _enum(v, ("orchestrator", "leaf")),
             'invalid subagentRole (use "orchestrator" or "leaf")')
    _lineage(next_entry, existing, patch, store_key, "subagentControlScope",
             lambda v: _enum(v, ("children", "none")), 'invalid subagentControlScope (use "children" or "none")')
    if "label" in patch:
        raw = patch["label"]
        if raw is None:
            next_entry.pop("label", None)
        else:
            label = _trimmed(raw)
            if not label:
                raise PatchRejected("invalid label: empty")
            if len(label) > 512:
                raise PatchRejected("invalid label: too long (max 512)")
            # Read-only scan of the live entries (no copy): labels are unique per store.
            for key, entry in store.state.entries.items():
                if key != store_key and entry.get("label") == label:
                    raise PatchRejected(f"label already in use: {label}")
            next_entry["label"] = label
    _simple(next_entry, patch, "thinkingLevel", normalize_think,
            f"invalid thinkingLevel (use {'|'.join(THINKING_LEVELS)})")
    if "fastMode" in patch:
        raw = patch["fastMode"]
        if raw is None:
            next_entry.pop("fastMode", None)
        elif isinstance(raw, bool):
            next_entry["fastMode"] = raw
        else:
            raise PatchRejected("invalid fastMode (use true or false)")
    _simple(next_entry, patch, "verboseLevel", lambda v: _enum(v, {**_ON_OFF, "full": "full"}),
            'invalid verboseLevel (use "on"|"off"|"full")')
    _simple(next_entry, patch, "traceLevel", lambda v: _enum(v, {**_ON_OFF, "raw": "raw"}),
            'invalid traceLevel (use "on"|"off"|"raw")')
    _simple(next_entry, patch, "reasoningLevel", lambda v: _enum(v, {**_ON_OFF, "stream": "stream"}),
            'invalid reasoningLevel (use "on"|"off"|"stream")')
    if "responseUsage" in patch:
        raw = patch["responseUsage"]
        value = None if raw is None else _enum(raw, {"off": "off", "tokens": "tokens", "full": "full",
                                                     "on": "full"})
        if raw is not None and value is None:
            raise PatchRejected('invalid responseUsage (use "off"|"tokens"|"full")')
        if value in (None, "off"):
            next_entry.pop("responseUsage", None)
        else:
            next_entry["responseUsage"] = value
    _simple(next_entry, patch, "elevatedLevel", lambda v: _enum(v, {**_ON_OFF, "ask": "ask", "full": "full"}),
            'invalid elevatedLevel (use "on"|"off"|"ask"|"full")')
    _simple(next_entry, patch, "execHost", lambda v: _enum(v, ("auto", "sandbox", "gateway", "node")),
            'invalid execHost (use "auto"|"sandbox"|"gateway"|"node")')
    _simple(next_entry, patch, "execSecurity", lambda v: _enum(v, ("deny", "allowlist", "full")),
            'invalid execSecurity (use "deny"|"allowlist"|"full")')
    _simple(next_entry, patch, "execAsk", lambda v: _enum(v, ("off", "on-miss", "always")),
            'invalid execAsk (use "off"|"on-miss"|"always")')
    _simple(next_entry, patch, "execNode", _trimmed, "invalid execNode: empty")
    _simple(next_entry, patch, "sendPolicy", lambda v: _enum(v, ("allow", "deny")),
            'invalid sendPolicy (use "allow"|"deny")')
    _simple(next_entry, patch, "groupActivation", lambda v: _enum(v, ("mention", "always")),
            'invalid groupActivation (use "mention"|"always")')
    store[store_key] = next_entry
    return next_entry
