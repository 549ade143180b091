"""Session helpers the Gateway's methods share: key -> store target, the
list row, model defaults, the patch rules of ``sessions.patch`` and transcript
archiving. Pure functions of config and entries; no I/O except the archive
helpers, which the handlers call off the event loop.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core import keys, paths
from openclaw_core.jsvalues import js_trim

if TYPE_CHECKING:
    from openclaw_core.config import Config
    from openclaw_core.store.state import MutationView

DEFAULT_PROVIDER = "openai"
DEFAULT_MODEL = "gpt-5.5"
DEFAULT_CONTEXT_TOKENS = 200_000
THINKING_LEVELS = ("off", "minimal", "low", "medium", "high", "xhigh")
LIST_DEFAULT_LIMIT = 100
TRANSCRIPT_VERSION = 3


class PatchRejected(Exception):
    """A ``sessions.patch`` value the rules refuse (INVALID_REQUEST)."""


# --- keys and stores ------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionTarget:
    agent_id: str
    store_path: str
    canonical_key: str
    request_key: str


def canonical_session_key(config: Config, key: str) -> str:
    raw = js_trim(key)
    lowered = raw.lower()
    if not lowered:
        return ""
    if lowered in ("global", "unknown"):
        return lowered
    main_key = config.main_key
    parsed = keys.parse_agent_session_key(raw)
    if parsed is not None:
        agent_id = keys.normalize_agent_id(parsed.agent_id)
        rest = main_key if parsed.rest in ("main", main_key) else parsed.rest
        return f"agent:{agent_id}:{rest}"
    if lowered in ("main", main_key):
        return config.main_session_key()
    return keys.canonical_key_for_agent(config.default_agent_id(), lowered)


def session_target(config: Config, key: str) -> SessionTarget:
    canonical = canonical_session_key(config, key)
    parsed = keys.parse_agent_session_key(canonical)
    agent_id = keys.normalize_agent_id(parsed.agent_id) if parsed else config.default_agent_id()
    return SessionTarget(agent_id, str(config.store_path(agent_id)), canonical, js_trim(key))


def promote_canonical(store: MutationView, target: SessionTarget) -> str:
    """Move the freshest of the key's stored variants (legacy case, the key as
    given) to the canonical key and drop the others; returns the canonical key."""
    canonical = target.canonical_key
    candidates = {canonical, target.request_key}
    lowered = {c.lower() for c in candidates}
    if store.state.noncanonical_keys:
        variants = [k for k in store if k in candidates or k.lower() in lowered]
    else:
        variants = [k for k in candidates if k in store]
    if not variants or variants == [canonical]:
        return canonical
    freshest = max(variants, key=lambda k: _number(store.peek(k).get("updatedAt")))
    current = store.peek(canonical)
    if current is None or _number(store.peek(freshest).get("updatedAt")) > _number(current.get("updatedAt")):
        store[canonical] = store[freshest]
    for variant in variants:
        if variant != canonical:
            del store[variant]
    return canonical


def _number(value: Any) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def agent_ids_for_listing(config: Config) -> list[str]:
    """Configured agents plus agent dirs found on disk; the default first, the rest in
    ``localeCompare`` order (``listConfiguredAgentIds``)."""
    from openclaw_core.jssort import ascii_locale_key

    ids = {config.default_agent_id(), *config.agent_ids()}
    agents_dir = Path(config.state_dir) / "agents"
    try:
        for item in agents_dir.iterdir():
            if item.is_dir():
                ids.add(keys.normalize_agent_id(item.name))
    except OSError:
        pass
    default = config.default_agent_id()
    return [default, *sorted((i for i in ids if i != default), key=ascii_locale_key)]


def agent_ids_for_store_scan(config: Config) -> list[str]:
    """The agents whose stores ``sessions.list`` merges, in the reference's order: the
    configured ones in config order, then agent dirs found on disk (sorted)."""
    ids = list(dict.fromkeys([*config.agent_ids(), config.default_agent_id()]))
    try:
        found = sorted(keys.normalize_agent_id(item.name) for item in (Path(config.state_dir) / "agents").iterdir()
                       if item.is_dir())
    except OSError:
        found = []
    return ids + [i for i in dict.fromkeys(found) if i not in ids]


# --- models and rows --------------------------------------------------------------------------

def _split_model_ref(ref: Any) -> tuple[str, str] | None:
    if isinstance(ref, Mapping):
        ref = ref.get("primary")
    if not isinstance(ref, str) or not js_trim(ref):
        return None
    text = js_trim(ref)
    if "/" in text:
        provider, model = text.split("/", 1)
        return js_trim(provider) or DEFAULT_PROVIDER, js_trim(model)
    return DEFAULT_PROVIDER, text


def default_model(config: Config, agent_id: str | None = None) -> tuple[str, str]:
    if agent_id is not None:
        agent = config.find_agent(agent_id)
        if agent is not None:
            ref = _split_model_ref(agent.get("model"))
            if ref:
                return ref
    return _split_model_ref(config.get("agents.defaults.model")) or (DEFAULT_PROVIDER, DEFAULT_MODEL)


def session_model(config: Config, entry: Mapping[str, Any], agent_id: str) -> tuple[str, str]:
    provider, model = default_model(config, agent_id)
    runtime = entry.get("model")
    if isinstance(runtime, str) and js_trim(runtime):
        runtime_provider = entry.get("modelProvider")
        return (js_trim(runtime_provider) if isinstance(runtime_provider, str) and js_trim(runtime_provider)
                else provider), js_trim(runtime)
    override = entry.get("modelOverride")
    if isinstance(override, str) and js_trim(override):
        override_provider = entry.get("providerOverride")
        return (js_trim(override_provider) if isinstance(override_provider, str) and js_trim(override_provider)
                else provider), js_trim(override)
    return provider, model


# The bundled OpenAI provider offers "xhigh" only for these model ids (or ids they prefix).
_XHIGH_MODELS = {"openai": ("gpt-5.5", "gpt-5.5-pro", "gpt-5.4", "gpt-5.4-pro", "gpt-5.4-mini", "gpt-5.4-nano",
                            "gpt-5.2"),
                 "openai-codex": ("gpt-5.5", "gpt-5.5-pro", "gpt-5.4", "gpt-5.4-pro", "gpt-5.3-codex",
                                  "gpt-5.2-codex", "gpt-5.1-codex")}


def thinking_levels(provider: str = DEFAULT_PROVIDER, model: str = DEFAULT_MODEL) -> list[dict[str, str]]:
    model_id = js_trim(model).lower()
    xhigh = any(model_id.startswith(m) for m in _XHIGH_MODELS.get(js_trim(provider).lower(), ()))
    return [{"id": level, "label": level} for level in THINKING_LEVELS if level != "xhigh" or xhigh]


def list_defaults(config: Config) -> dict[str, Any]:
    provider, model = default_model(config)
    context = config.get("agents.defaults.contextTokens")
    return {
        "modelProvider": provider,
        "model": model,
        "contextTokens": context if isinstance(context, int) and not isinstance(context, bool) else DEFAULT_CONTEXT_TOKENS,
        "thinkingLevels": thinking_levels(provider, model),
        "thinkingOptions": [level["label"] for level in thinking_levels(provider, model)],
        "thinkingDefault": "off",
    }


_ROW_FIELDS = ("spawnedBy", "spawnedWorkspaceDir", "forkedFromParent", "spawnDepth", "subagentRole",
               "subagentControlScope")
_ROW_FIELDS_3 = ("subject", "groupChannel", "space", "chatType", "origin", "updatedAt", "sessionId", "systemSent",
                 "abortedLastRun", "thinkingLevel")
_ROW_FIELDS_4 = ("fastMode", "verboseLevel", "traceLevel", "reasoningLevel", "elevatedLevel", "sendPolicy",
                 "inputTokens", "outputTokens")


def _positive(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def session_row(config: Config, key: str, entry: Mapping[str, Any],
                children: list[str] | None = None) -> dict[str, Any]:
    """One ``sessions.list`` row (the reference's lightweight row; absent values omitted)."""
    from openclaw_core.gateway.sessions_read import display_fields, latest_checkpoint
    from openclaw_core.store.normalize import normalize_delivery

    parsed = keys.parse_agent_session_key(key)
    agent_id = keys.normalize_agent_id(parsed.agent_id) if parsed else config.default_agent_id()
    row: dict[str, Any] = {"key": key}
    for name in _ROW_FIELDS:
        row[name] = entry.get(name)
    row["kind"] = row_kind(key, entry)
    row["label"] = entry.get("label")
    row["displayName"], row["channel"] = display_fields(key, entry)
    for name in _ROW_FIELDS_3:
        row[name] = entry.get(name)
    row["updatedAt"] = entry.get("updatedAt")
    provider, model = session_model(config, entry, agent_id)
    levels = thinking_levels(provider, model)
    row["thinkingLevels"] = levels
    row["thinkingOptions"] = [level["label"] for level in levels]
    row["thinkingDefault"] = entry.get("thinkingLevel")
    for name in _ROW_FIELDS_4:
        row[name] = entry.get(name)
    total = _positive(entry.get("totalTokens")) if entry.get("totalTokensFresh") is not False else None
    row["totalTokens"] = total
    row["totalTokensFresh"] = total is not None
    row["estimatedCostUsd"] = entry.get("estimatedCostUsd")
    for name in ("status", "startedAt", "endedAt", "runtimeMs", "parentSessionKey"):
        row[name] = entry.get(name)
    row["childSessions"] = children or None
    row["responseUsage"] = entry.get("responseUsage")
    row["modelProvider"], row["model"] = provider, model
    row["agentRuntime"] = {"id": "pi", "source": "implicit"}
    row["contextTokens"] = _positive(entry.get("contextTokens"))
    delivery = dict(entry)  # the delivery fields as the reference derives them (the entry is not changed)
    normalize_delivery(delivery)
    row["deliveryContext"] = delivery.get("deliveryContext")
    for name in ("lastChannel", "lastTo", "lastAccountId", "lastThreadId"):
        row[name] = delivery.get(name) if delivery.get(name) is not None else entry.get(name)
    checkpoints = entry.get("compactionCheckpoints")
    row["compactionCheckpointCount"] = len(checkpoints) if isinstance(checkpoints, list) else None
    row["latestCompactionCheckpoint"] = latest_checkpoint(entry)
    row["hasActiveRun"] = False
    return {k: v for k, v in row.items() if v is not None}


def row_kind(key: str, entry: Mapping[str, Any]) -> str:
    if key in ("global", "unknown"):
        return key
    if entry.get("chatType") in ("group", "channel"):
        return "group"
    if ":group:" in key or ":channel:" in key:
        return "group"
    return "direct"


def select_rows(entries: Iterable[tuple[str, Mapping[str, Any]]], params: Mapping[str, Any],
                now_ms: int) -> tuple[list[tuple[str, Mapping[str, Any]]], int, int]:
    """Filter, sort newest first and limit; returns (selected, totalCount, limitApplied)."""
    include_global = params.get("includeGlobal") is True
    include_unknown = params.get("includeUnknown") is True
    agent = keys.normalize_agent_id(params["agentId"]) if isinstance(params.get("agentId"), str) else ""
    label = js_trim(params["label"]) if isinstance(params.get("label"), str) else ""
    spawned_by = params.get("spawnedBy") if isinstance(params.get("spawnedBy"), str) else ""
    search = js_trim(params["search"]).lower() if isinstance(params.get("search"), str) else ""
    active = params.get("activeMinutes")
    cutoff = now_ms - max(1, int(active)) * 60_000 if isinstance(active, (int, float)) else None
    kept = []
    for key, entry in entries:
        if keys.is_cron_run_key(key):
            continue
        if key == "global" and not include_global or key == "unknown" and not include_unknown:
            continue
        if agent:
            parsed = keys.parse_agent_session_key(key)
            if parsed is None or keys.normalize_agent_id(parsed.agent_id) != agent:
                continue
        if spawned_by and (key in ("global", "unknown") or (
                entry.get("spawnedBy") != spawned_by and entry.get("parentSessionKey") != spawned_by)):
            continue
        if label and entry.get("label") != label:
            continue
        if search and not any(isinstance(f, str) and search in js_trim(f).lower() for f in (
                _search_display_name(key, entry), entry.get("label"), entry.get("subject"), entry.get("sessionId"),
                key)):
            continue
        if cutoff is not None and _number(entry.get("updatedAt")) < cutoff:
            continue
        kept.append((key, entry))
    limit = max(1, int(params["limit"])) if isinstance(params.get("limit"), (int, float)) else LIST_DEFAULT_LIMIT
    return newest_first(kept, limit), len(kept), limit


def _search_display_name(key: str, entry: Mapping[str, Any]) -> Any:
    """What ``search`` matches as the display name: the entry's, else a group key's derived one."""
    from openclaw_core.gateway.sessions_read import group_display_name, parse_group_key

    if entry.get("displayName"):
        return entry["displayName"]
    group = parse_group_key(key)
    channel = entry.get("channel") if entry.get("channel") is not None else (group[0] if group else None)
    if not channel:
        return None
    return group_display_name(channel if isinstance(channel, str) else "", entry, group[1] if group else None, key)


def _updated_at_order(a: tuple[str, Mapping[str, Any]], b: tuple[str, Mapping[str, Any]]) -> float:
    """``(b.updatedAt ?? 0) - (a.updatedAt ?? 0)`` with JS arithmetic (NaN for a non-number)."""
    from openclaw_core.jsvalues import to_number

    return to_number(b[1].get("updatedAt")) - to_number(a[1].get("updatedAt"))


def newest_first(rows: list[tuple[str, Mapping[str, Any]]], limit: int) -> list[tuple[str, Mapping[str, Any]]]:
    """The reference's selection: up to 200 rows by insertion before the first older row
    (ties keep their order), more through the engine's sort."""
    from openclaw_core.jsvalues import is_number

    values = [row[1].get("updatedAt") for row in rows]
    if all(v is None or is_number(v) for v in values):  # a total order: both are a stable sort
        return sorted(rows, key=lambda row: -(row[1].get("updatedAt") or 0))[:limit]
    if limit > 200:
        from openclaw_core.jssort import v8_sort

        return v8_sort(list(rows), _updated_at_order)[:limit]
    selected: list[tuple[str, Mapping[str, Any]]] = []
    for row in rows:
        at = next((i for i, other in enumerate(selected) if _updated_at_order(row, other) < 0), -1)
        if at >= 0:
            selected.insert(at, row)
            if len(selected) > limit:
                selected.pop()
        elif len(selected) < limit:
            selected.append(row)
    return selected


# --- sessions.patch -----------------------------------------------------------------------------

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
        next_entry["updatedAt"] = max(_number(existing.get("updatedAt")), now_ms)
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


# --- sessions.reset ------------------------------------------------------------------------------

_RESET_KEPT = ("thinkingLevel", "fastMode", "verboseLevel", "traceLevel", "reasoningLevel", "elevatedLevel",
               "ttsAuto", "execHost", "execSecurity", "execAsk", "execNode", "responseUsage", "groupActivation",
               "groupActivationNeedsSystemIntro", "chatType")
_RESET_KEPT_2 = ("compactionCount", "compactionCheckpoints", "sendPolicy", "queueMode", "queueDebounceMs",
                 "queueCap", "queueDrop", "spawnedBy", "spawnedWorkspaceDir", "parentSessionKey",
                 "forkedFromParent", "spawnDepth", "subagentRole", "subagentControlScope", "label", "displayName",
                 "channel", "groupId", "subject", "groupChannel", "space", "origin", "deliveryContext",
                 "cliSessionBindings", "cliSessionIds", "claudeCliSessionId", "lastChannel", "lastTo",
                 "lastAccountId", "lastThreadId", "skillsSnapshot", "acp")


def reset_entry(config: Config, store_key: str, current: Mapping[str, Any] | None, sessions_dir: Path,
                now_ms: int) -> dict[str, Any]:
    """A fresh session for ``store_key`` keeping its settings and routing."""
    current = current or {}
    parsed = keys.parse_agent_session_key(store_key)
    agent_id = keys.normalize_agent_id(parsed.agent_id) if parsed else config.default_agent_id()
    session_id = str(uuid.uuid4())
    entry: dict[str, Any] = {
        "sessionId": session_id,
        "sessionFile": str(sessions_dir / f"{session_id}.jsonl"),
        "updatedAt": now_ms,
        "systemSent": False,
        "abortedLastRun": False,
    }
    for name in _RESET_KEPT:
        entry[name] = current.get(name)
    # The model after a reset is the configured one (runtime and override state dropped).
    provider, model = default_model(config, agent_id)
    entry["model"], entry["modelProvider"] = model, provider
    entry["contextTokens"] = current.get("contextTokens")
    for name in _RESET_KEPT_2:
        entry[name] = current.get(name)
    entry.update(inputTokens=0, outputTokens=0, totalTokens=0, totalTokensFresh=True)
    return {k: v for k, v in entry.items() if v is not None}


# --- transcripts ----------------------------------------------------------------------------------

def archive_timestamp(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    stamp = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms % 1000:03d}Z".replace(":", "-")


def archive_transcript(entry: Mapping[str, Any] | None, sessions_dir: Path, agent_id: str, kind: str) -> list[str]:
    """Rename the entry's transcript to ``<file>.<kind>.<timestamp>``; returns the new paths."""
    if not entry:
        return []
    path = paths.entry_transcript_path(entry, sessions_dir, agent_id)
    if path is None or not path.is_file():
        return []
    target = Path(f"{path}.{kind}.{archive_timestamp()}")
    try:
        os.rename(path, target)
    except OSError:
        return []
    return [str(target)]


def create_transcript(path: Path, session_id: str) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"type": "session", "version": TRANSCRIPT_VERSION, "id": session_id,
              "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
              "cwd": os.getcwd()}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, separators=(",", ":")) + "\n")
