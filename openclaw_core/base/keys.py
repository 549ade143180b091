"""Agent ids and session keys: normalisation, parsing, ownership and the
maintenance classification (protected / synthetic) of spec sections 3 and 7.3.

Every other module asks this one; nothing else re-implements a key rule.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, NamedTuple

from openclaw_core.base.lazy_re import lazy_compile
from openclaw_core.base.mapping import is_mapping
from openclaw_core.js.values import _JS_WHITESPACE_SET, js_trim

DEFAULT_AGENT_ID = "main"
DEFAULT_MAIN_KEY = "main"

_VALID_AGENT_ID = lazy_compile(r"[a-z0-9][a-z0-9_-]{0,63}", re.IGNORECASE)
_INVALID_AGENT_CHARS = lazy_compile(r"[^a-z0-9_-]+")

def normalize_agent_id(value: str | None) -> str:
    """The reference's ``normalizeAgentId``: a safe, lower-case path segment.

    ``"../x"`` becomes ``"x"``; an id with nothing usable becomes ``"main"``.
    """
    trimmed = js_trim(value or "")
    if not trimmed:
        return DEFAULT_AGENT_ID
    lowered = trimmed.lower()
    if _VALID_AGENT_ID.fullmatch(trimmed):
        return lowered
    cleaned = _INVALID_AGENT_CHARS.sub("-", lowered).strip("-")[:64]
    # Cutting at 64 can leave a trailing dash; the reference keeps it (it trims first).
    return cleaned or DEFAULT_AGENT_ID


def normalize_main_key(value: str | None) -> str:
    return js_trim(value or "").lower() or DEFAULT_MAIN_KEY


class AgentSessionKey(NamedTuple):
    # A tuple, not a frozen dataclass: a listing parses every key of the store,
    # and a frozen dataclass's __init__ costs a microsecond of it.
    agent_id: str
    rest: str

    def __str__(self) -> str:
        return f"agent:{self.agent_id}:{self.rest}"


def parse_agent_session_key(key: str | None) -> AgentSessionKey | None:
    """``agent:<id>:<rest>`` (lower-cased, empty segments dropped) or None."""
    # (js_trim inlined for the common key: a listing parses every key of the store)
    if not key:
        return None
    raw = (key if key[0] not in _JS_WHITESPACE_SET and key[-1] not in _JS_WHITESPACE_SET
           else js_trim(key)).lower()
    if not raw.startswith("agent:") and not raw.startswith(":"):
        return None  # no agent (empty segments before "agent" do not count)
    parts = raw.split(":", 2)
    if "" in parts or len(parts) < 3 or parts[2][0] == ":" or parts[2][-1] == ":" or "::" in parts[2]:
        parts = [p for p in raw.split(":") if p]  # empty segments do not count (rare)
        if len(parts) < 3 or parts[0] != "agent":
            return None
        parts = [parts[0], parts[1], ":".join(parts[2:])]
    agent_id = parts[1]
    if agent_id[0] in _JS_WHITESPACE_SET or agent_id[-1] in _JS_WHITESPACE_SET:
        agent_id = js_trim(agent_id)
        if not agent_id:
            return None
    return _new_key(AgentSessionKey, (agent_id, parts[2]))


_new_key = tuple.__new__  # AgentSessionKey(...) without its Python-level __new__
_UNKNOWN: Any = object()


def key_rest(key: str) -> str:
    """The part after ``agent:<id>:``, or the whole lower-cased key."""
    parsed = parse_agent_session_key(key)
    return parsed.rest if parsed else js_trim(key).lower()


def store_key(key: str) -> str:
    """The key under which an entry is stored (spec 3: trim + lower-case)."""
    return js_trim(key).lower()


# --- maintenance classification (spec 7.3) ---------------------------------

def is_cron_key(key: str) -> bool:
    parsed = parse_agent_session_key(key)
    return bool(parsed and parsed.rest.startswith("cron:"))


def is_cron_run_key(key: str) -> bool:
    parsed = parse_agent_session_key(key)
    return bool(parsed and re.fullmatch(r"cron:[^:]+:run:[^:]+", parsed.rest))


def is_subagent_key(key: str) -> bool:
    raw = js_trim(key)
    if not raw:
        return False
    return raw.lower().startswith("subagent:") or key_rest_or_empty(raw).startswith("subagent:")


def is_acp_key(key: str) -> bool:
    raw = js_trim(key)
    if not raw:
        return False
    return raw.lower().startswith("acp:") or key_rest_or_empty(raw).startswith("acp:")


def key_rest_or_empty(key: str) -> str:
    parsed = parse_agent_session_key(key)
    return parsed.rest if parsed else ""


def is_synthetic_key(key: str) -> bool:
    """Runtime keys (cron, hooks, heartbeats, subagents, acp, nodes): never protected."""
    lowered = js_trim(key).lower()
    return _is_synthetic(lowered, _agent_rest(lowered))


def _agent_rest(lowered: str) -> str | None:
    """``parse_agent_session_key(key).rest`` (or None) given ``js_trim(key).lower()``,
    without building the key object (maintenance asks for each of 100,000 keys)."""
    # The common key, "agent:<id>:<rest>" with no empty segment: no split and join.
    if lowered.startswith("agent:") and lowered[-1] != ":" and "::" not in lowered:
        end = lowered.find(":", 6)
        if end < 0:
            return None  # two segments
        if lowered[6] in _JS_WHITESPACE_SET and not js_trim(lowered[6:end]):
            return None
        return lowered[end + 1:]
    return _agent_rest_of_segments(lowered)


def _agent_rest_of_segments(lowered: str) -> str | None:
    if not lowered:
        return None
    parts = lowered.split(":")
    if "" in parts:  # empty segments do not count (rare: a list only then)
        parts = [p for p in parts if p]
    if len(parts) < 3 or parts[0] != "agent" or not js_trim(parts[1]):
        return None
    return ":".join(parts[2:])


def _is_synthetic(lowered: str, rest: str | None) -> bool:
    # One parse for every rule (maintenance asks this for each of 50,000 keys).
    # subagent/acp are synthetic at the start of the rest or of the whole key; an
    # agent key (rest not None) starts with "agent:" or ":", so only its rest counts.
    if rest is not None:
        if rest.startswith(("subagent:", "acp:", "cron:", "hook:", "node:")):
            return True
    elif lowered.startswith(("subagent:", "acp:", "hook:", "node:")):
        return True
    else:
        rest = lowered
    return "heartbeat" in rest and (rest == "heartbeat" or rest.endswith(":heartbeat") or ":heartbeat:" in rest)


_TELEGRAM_TOPIC = lazy_compile(r"telegram:(?:group|channel|direct|dm):.+:topic:[^:]+", re.DOTALL)
_GROUP_OR_CHANNEL = lazy_compile(r"[^:]+:(?:group|channel):.+", re.DOTALL)
_PROTECTED_CHAT_TYPES = frozenset({"group", "channel", "thread"})


def entry_chat_type(entry: Mapping[str, Any] | None) -> str:
    if not is_mapping(entry):
        return ""
    chat_type = entry.get("chatType")  # type: ignore[union-attr]
    if chat_type is None:
        origin = entry.get("origin")  # type: ignore[union-attr]
        chat_type = origin.get("chatType") if is_mapping(origin) else None
    return js_trim(chat_type).lower() if isinstance(chat_type, str) else ""


def is_protected_entry(key: str, entry: Mapping[str, Any] | None) -> bool:
    """Durable conversations (groups, channels, threads, topics) that age-based
    maintenance must keep. Synthetic keys are never protected."""
    raw = js_trim(key)
    lowered = raw.lower()
    rest = _agent_rest(lowered)
    if _is_synthetic(lowered, rest):
        return False
    idx = lowered.rfind(":thread:")
    if idx != -1 and js_trim(raw[idx + len(":thread:"):]):
        return True
    if rest is None:
        rest = lowered
    # (the substring tests only spare the regexes the keys they cannot match)
    if ((":group:" in rest or ":channel:" in rest) and _GROUP_OR_CHANNEL.fullmatch(rest)) or (
            ":topic:" in rest and _TELEGRAM_TOPIC.fullmatch(rest)):
        return True
    return entry_chat_type(entry) in _PROTECTED_CHAT_TYPES


# --- kinds and ownership ----------------------------------------------------

def session_kind(key: str, entry: Mapping[str, Any] | None = None, *,
                 parsed: AgentSessionKey | None | bool = False) -> str:
    """The ``kind`` of a ``sessions`` row: ``global``, ``unknown``, ``cron``, ``group``
    or ``direct``, in the reference's order (``classifySessionKey``).

    Only ``global``/``unknown`` and the group/channel markers are case-sensitive
    (``Global`` and ``agent:main:discord:GROUP:7`` are direct); the cron test
    parses the key (``AGENT:Main:CRON:x`` is cron, bare ``cron:x`` is not) and
    comes before ``chatType``. Only the entry's own ``chatType`` counts, exactly
    ``"group"`` or ``"channel"`` (not ``origin.chatType``). ``parsed`` is
    ``parse_agent_session_key(key)`` when the caller has it already.
    """
    if key == "global" or key == "unknown":
        return key
    if parsed is False:
        parsed = parse_agent_session_key(key)
    if parsed and parsed.rest.startswith("cron:"):  # is_cron_key
        return "cron"
    return _group_or_direct(key, entry)


def _group_or_direct(key: str, entry: Mapping[str, Any] | None) -> str:
    """session_kind's last rule: the entry's own chatType, else the key's markers."""
    chat_type = entry.get("chatType") if is_mapping(entry) else None
    if chat_type == "group" or chat_type == "channel" or ":group:" in key or ":channel:" in key:
        return "group"
    return "direct"


_ASCII_JS_WHITESPACE = frozenset(" \t\n\v\f\r")
_agent_of_segment: dict[str, str | None] = {}  # what agent_and_kind learnt, per agent segment of a key


def agent_and_kind(key: str, entry: Mapping[str, Any], store_agent_id: str) -> tuple[str, str]:
    """``(parse_agent_session_key(key).agent_id or store_agent_id, session_kind(key, entry))``
    in one call, without the key object (a listing asks for every entry of the store)."""
    # The common key, "agent:<id>:<rest>" in ASCII with no empty segment and
    # nothing to trim: its agent depends on <id> alone (learnt once per id) and
    # "cron:" is tested in place, without lower-casing and splitting the key.
    end = key.find(":", 6)
    if end > 6 and key.startswith("agent:") and key.isascii() and key[-1] != ":" \
            and key[-1] not in _ASCII_JS_WHITESPACE and "::" not in key:
        segment = key[6:end]
        agent_id = _agent_of_segment.get(segment, _UNKNOWN)
        if agent_id is _UNKNOWN:
            parsed = parse_agent_session_key(key)
            agent_id = parsed[0] if parsed else None
            if len(_agent_of_segment) < 4096:
                _agent_of_segment[segment] = agent_id
        if agent_id is not None:
            if key[end + 1:end + 6].lower() == "cron:":
                return agent_id, "cron"
            return agent_id, _group_or_direct(key, entry)
    parsed = parse_agent_session_key(key)
    return (parsed[0] if parsed else store_agent_id), session_kind(key, entry, parsed=parsed)


def canonical_key_for_agent(agent_id: str, key: str) -> str:
    """Read an un-prefixed (legacy) key as belonging to ``agent_id``."""
    raw = js_trim(key)
    lowered = raw.lower()
    if lowered in ("global", "unknown"):
        return lowered
    parsed = parse_agent_session_key(raw)
    if parsed:
        return str(parsed)
    if lowered.startswith("agent:"):
        return lowered
    return f"agent:{normalize_agent_id(agent_id)}:{lowered}"


def owner_agent_id(
    key: str,
    store_agent_id: str,
    *,
    default_agent_id: str = DEFAULT_AGENT_ID,
    configured_agent_ids: frozenset[str] | None = None,
    main_key: str = DEFAULT_MAIN_KEY,
    global_scope: bool = False,
) -> str | None:
    """The agent a stored key belongs to (spec 3), None for global/unknown.

    With ``global_scope`` (``session.scope = "global"``) a main-session alias
    (``agent:<id>:main``, ``agent:<id>:<mainKey>``, their ``agent:main:``
    legacy forms, or a bare ``main``) is the global session: no owner.
    """
    canonical = canonical_key_for_agent(store_agent_id, key)
    if canonical in ("global", "unknown"):
        return None
    parsed = parse_agent_session_key(canonical)
    if parsed is None:
        return normalize_agent_id(default_agent_id)
    owner = normalize_agent_id(parsed.agent_id)
    ids = configured_agent_ids or frozenset()
    mkey = normalize_main_key(main_key)
    remapped = (
        owner == DEFAULT_AGENT_ID
        and parsed.rest in (DEFAULT_MAIN_KEY, mkey)
        and DEFAULT_AGENT_ID not in ids
        and normalize_agent_id(store_agent_id) == normalize_agent_id(default_agent_id)
    )
    if remapped:
        owner = normalize_agent_id(default_agent_id)
    if global_scope:
        # The reference compares the key as written (lower-cased), not its canonical form.
        raw = js_trim(key).lower()
        if remapped:
            written = f"agent:{owner}:{parsed.rest}"
        elif parse_agent_session_key(raw) is not None or raw.startswith("agent:"):
            written = raw
        else:
            written = f"agent:{normalize_agent_id(store_agent_id)}:{raw}"
        aliases = {f"agent:{owner}:{mkey}", f"agent:{owner}:{DEFAULT_MAIN_KEY}",
                   f"agent:{DEFAULT_AGENT_ID}:{mkey}", f"agent:{DEFAULT_AGENT_ID}:{DEFAULT_MAIN_KEY}"}
        if written in aliases:
            return None
    return owner
