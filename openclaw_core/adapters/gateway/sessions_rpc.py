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

from openclaw_core.base import keys

from openclaw_core.config import paths
from openclaw_core.js.values import js_trim
from openclaw_core.config.models import DEFAULT_MODEL, DEFAULT_PROVIDER, split_gateway_ref

if TYPE_CHECKING:
    from openclaw_core.config.model import Config
    from openclaw_core.engine.store.state import MutationView

DEFAULT_CONTEXT_TOKENS = 200_000
THINKING_LEVELS = ("off", "minimal", "low", "medium", "high", "xhigh")
LIST_DEFAULT_LIMIT = 100
TRANSCRIPT_VERSION = 3


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
    freshest = max(variants, key=lambda k: number(store.peek(k).get("updatedAt")))
    current = store.peek(canonical)
    if current is None or number(store.peek(freshest).get("updatedAt")) > number(current.get("updatedAt")):
        store[canonical] = store[freshest]
    for variant in variants:
        if variant != canonical:
            del store[variant]
    return canonical


def number(value: Any) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def agent_ids_for_listing(config: Config) -> list[str]:
    """Configured agents plus agent dirs found on disk; the default first, the rest in
    ``localeCompare`` order (``listConfiguredAgentIds``)."""
    from openclaw_core.js.sort import ascii_locale_key

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

def default_model(config: Config, agent_id: str | None = None) -> tuple[str, str]:
    if agent_id is not None:
        agent = config.find_agent(agent_id)
        if agent is not None:
            ref = split_gateway_ref(agent.get("model"))
            if ref:
                return ref
    return split_gateway_ref(config.get("agents.defaults.model")) or (DEFAULT_PROVIDER, DEFAULT_MODEL)


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
    from openclaw_core.adapters.gateway.session_display import display_fields, latest_checkpoint
    from openclaw_core.engine.store.normalize import normalize_delivery

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
        if cutoff is not None and number(entry.get("updatedAt")) < cutoff:
            continue
        kept.append((key, entry))
    limit = max(1, int(params["limit"])) if isinstance(params.get("limit"), (int, float)) else LIST_DEFAULT_LIMIT
    return newest_first(kept, limit), len(kept), limit


def _search_display_name(key: str, entry: Mapping[str, Any]) -> Any:
    """What ``search`` matches as the display name: the entry's, else a group key's derived one."""
    from openclaw_core.adapters.gateway.session_display import group_display_name, parse_group_key

    if entry.get("displayName"):
        return entry["displayName"]
    group = parse_group_key(key)
    channel = entry.get("channel") if entry.get("channel") is not None else (group[0] if group else None)
    if not channel:
        return None
    return group_display_name(channel if isinstance(channel, str) else "", entry, group[1] if group else None, key)


def _updated_at_order(a: tuple[str, Mapping[str, Any]], b: tuple[str, Mapping[str, Any]]) -> float:
    """``(b.updatedAt ?? 0) - (a.updatedAt ?? 0)`` with JS arithmetic (NaN for a non-number)."""
    from openclaw_core.js.values import to_number

    return to_number(b[1].get("updatedAt")) - to_number(a[1].get("updatedAt"))


def newest_first(rows: list[tuple[str, Mapping[str, Any]]], limit: int) -> list[tuple[str, Mapping[str, Any]]]:
    """The reference's selection: up to 200 rows by insertion before the first older row
    (ties keep their order), more through the engine's sort."""
    from openclaw_core.js.values import is_number

    values = [row[1].get("updatedAt") for row in rows]
    if all(v is None or is_number(v) for v in values):  # a total order: both are a stable sort
        return sorted(rows, key=lambda row: -(row[1].get("updatedAt") or 0))[:limit]
    if limit > 200:
        from openclaw_core.js.sort import v8_sort

        return v8_sort(list(rows), _updated_at_order)[:limit]
    from openclaw_core.js.sort import insertion_select

    return insertion_select(rows, _updated_at_order, limit)


# --- sessions.patch -----------------------------------------------------------------------------


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
