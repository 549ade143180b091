"""Where things live: home, state dir, config file, stores and transcripts
(spec section 1). Pure functions of an environment mapping, so tests and the
Gateway can resolve paths for another environment than the process's own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from openclaw_core.base.lazy_re import lazy_compile
from openclaw_core.base.errors import ConfigError, UsageError
from openclaw_core.js.values import has_lone_surrogate, js_trim
from openclaw_core.base.keys import DEFAULT_AGENT_ID, normalize_agent_id

STATE_DIRNAME = ".openclaw"
LEGACY_STATE_DIRNAMES = (".clawdbot",)
TOML_CONFIG = "openclaw.toml"
JSON_CONFIG = "openclaw.json"
LEGACY_JSON_CONFIGS = ("clawdbot.json",)
STORE_FILENAME = "sessions.json"
AGENT_ID_PLACEHOLDER = "{agentId}"

_SAFE_SESSION_ID = lazy_compile(r"[a-z0-9][a-z0-9._-]{0,127}", re.IGNORECASE)
_CHECKPOINT_NAME = lazy_compile(r".+\.checkpoint\.[0-9a-f-]{36}\.jsonl", re.IGNORECASE)


def _env_value(env: Mapping[str, str], name: str) -> str | None:
    value = js_trim(env.get(name) or "")
    if not value or value in ("undefined", "null"):
        return None
    return value


def os_home(env: Mapping[str, str]) -> str | None:
    return _env_value(env, "HOME") or _env_value(env, "USERPROFILE") or _safe_expanduser()


def _safe_expanduser() -> str | None:
    home = os.path.expanduser("~")
    return None if home == "~" else home


def resolve_home(env: Mapping[str, str] | None = None) -> Path:
    """``OPENCLAW_HOME`` (``~`` = OS home) -> ``HOME`` -> ``USERPROFILE`` -> OS home -> cwd."""
    env = os.environ if env is None else env
    explicit = _env_value(env, "OPENCLAW_HOME")
    raw: str | None
    if explicit:
        if explicit == "~" or explicit.startswith(("~/", "~\\")):
            base = os_home(env)
            raw = base + explicit[1:] if base else None
        else:
            raw = explicit
    else:
        raw = os_home(env)
    return Path(os.path.abspath(raw)) if raw else Path.cwd()


def expand_user_path(value: str, env: Mapping[str, str] | None = None) -> Path:
    """JS-trimmed, ``~`` expanded against the resolved home, then made absolute (relative to cwd)."""
    return _expand_home(js_trim(value), os.environ if env is None else env)


def _expand_home(text: str, env: Mapping[str, str]) -> Path:
    if has_lone_surrogate(text):
        try:  # from argv or the environment: undecodable bytes, which name their file again
            os.fsencode(text)
        except UnicodeEncodeError:
            raise UsageError(f"{_quoted(text)} holds a lone UTF-16 surrogate and cannot name a file") from None
    if text == "~" or text.startswith(("~/", "~\\")):
        text = str(resolve_home(env)) + text[1:]
    return Path(os.path.abspath(text))


def refuse_lone_surrogate(text: str, what: str) -> str:
    """A path from the config. A JS string may hold a lone surrogate (``"\\ud83d"``);
    no file name encodes it (Node would write U+FFFD, naming another file, and
    Python's surrogateescape would turn ``"\\udc80"`` into a raw byte), so refuse."""
    if has_lone_surrogate(text):
        raise ConfigError(f"{what} {_quoted(text)} holds a lone UTF-16 surrogate and cannot name a file")
    return text


def _quoted(text: str) -> str:
    from openclaw_core.js.json import stringify

    return stringify(text)


def resolve_state_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    override = js_trim(env.get("OPENCLAW_STATE_DIR") or "")
    if override:
        return expand_user_path(override, env)
    home = resolve_home(env)
    new_dir = home / STATE_DIRNAME
    if new_dir.exists():
        return new_dir
    for legacy in LEGACY_STATE_DIRNAMES:
        if (home / legacy).exists():
            return home / legacy
    return new_dir


def resolve_config_path(env: Mapping[str, str] | None = None, state_dir: Path | None = None) -> Path:
    """``OPENCLAW_CONFIG_PATH``, else the state dir's ``openclaw.toml``, else an
    existing OpenClaw ``openclaw.json`` (or legacy ``clawdbot.json``), else
    ``openclaw.toml`` (the file a first write creates)."""
    env = os.environ if env is None else env
    override = js_trim(env.get("OPENCLAW_CONFIG_PATH") or "")
    if override:
        return expand_user_path(override, env)
    state_dir = resolve_state_dir(env) if state_dir is None else state_dir
    for name in (TOML_CONFIG, JSON_CONFIG, *LEGACY_JSON_CONFIGS):
        if (state_dir / name).exists():
            return state_dir / name
    return state_dir / TOML_CONFIG


def agent_dir(state_dir: Path, agent_id: str) -> Path:
    return state_dir / "agents" / normalize_agent_id(agent_id)


def agent_sessions_dir(state_dir: Path, agent_id: str | None) -> Path:
    # normalize_agent_id keeps "../x" inside the state dir.
    return agent_dir(state_dir, agent_id or DEFAULT_AGENT_ID) / "sessions"


def resolve_store_path(store: str | None, agent_id: str | None, state_dir: Path,
                       env: Mapping[str, str] | None = None) -> Path:
    """``session.store`` / ``--store`` for one agent: ``{agentId}`` replaced, ``~`` expanded,
    absolute. Not trimmed: as in the reference, ``"sessions.json  "`` is another file."""
    agent = normalize_agent_id(agent_id or DEFAULT_AGENT_ID)
    if not store:
        return agent_sessions_dir(state_dir, agent) / STORE_FILENAME
    return _expand_home(store.replace(AGENT_ID_PLACEHOLDER, agent), os.environ if env is None else env)


def is_templated_store(store: str | None) -> bool:
    return isinstance(store, str) and AGENT_ID_PLACEHOLDER in store


def is_valid_session_id(session_id: str) -> bool:
    trimmed = js_trim(session_id)
    return bool(_SAFE_SESSION_ID.fullmatch(trimmed)) and not _CHECKPOINT_NAME.fullmatch(trimmed + ".jsonl")


def _realpath_or_self(path: str) -> str:
    try:
        return os.path.realpath(path, strict=True)
    except OSError:
        return path


def _inside(base: str, candidate: str) -> str | None:
    rel = os.path.relpath(candidate, base)
    if rel == "." or rel.startswith("..") or os.path.isabs(rel):
        return None
    return os.path.join(base, rel)


def resolve_within_sessions_dir(sessions_dir: Path, candidate: str, agent_id: str | None = None) -> Path | None:
    """A transcript path that stays inside the sessions dir (after realpath), or None.

    An absolute path under a sibling ``agents/<id>/sessions`` dir of the same
    root is accepted too, as the reference does.
    """
    trimmed = js_trim(candidate)
    if not trimmed:
        return None
    base = os.path.abspath(sessions_dir)
    real_base = _realpath_or_self(base)
    if os.path.isabs(trimmed):
        real = _realpath_or_self(trimmed)
        inside = _inside(real_base, real)
        if inside:
            return Path(inside)
        for sibling_agent in filter(None, (agent_id, _agent_from_sessions_path(real))):
            sibling = _sibling_sessions_dir(real_base, sibling_agent)
            if sibling:
                inside = _inside(_realpath_or_self(sibling), real)
                if inside:
                    return Path(inside)
        return None
    joined = os.path.normpath(os.path.join(real_base, trimmed))
    inside = _inside(real_base, joined)
    return Path(inside) if inside else None


def _agent_from_sessions_path(path: str) -> str | None:
    parts = [p for p in os.path.normpath(path).split(os.sep) if p]
    try:
        idx = len(parts) - 1 - parts[::-1].index("sessions")
    except ValueError:
        return None
    if idx < 2 or parts[idx - 2] != "agents":
        return None
    return parts[idx - 1] or None


def _sibling_sessions_dir(base_sessions_dir: str, agent_id: str) -> str | None:
    base = os.path.abspath(base_sessions_dir)
    if os.path.basename(base) != "sessions":
        return None
    agents_dir = os.path.dirname(os.path.dirname(base))
    if os.path.basename(agents_dir) != "agents":
        return None
    return os.path.join(agents_dir, normalize_agent_id(agent_id), "sessions")


def transcript_path(session_id: str, sessions_dir: Path, topic_id: str | int | None = None) -> Path | None:
    """``<sessionsDir>/<sessionId>.jsonl`` (or the topic variant); None for an unsafe id."""
    if not is_valid_session_id(session_id):
        return None
    name = js_trim(session_id)
    if topic_id is not None:
        topic = quote(topic_id, safe="-_.!~*'()") if isinstance(topic_id, str) else str(topic_id)
        name = f"{name}-topic-{topic}"
    return resolve_within_sessions_dir(sessions_dir, name + ".jsonl")


def entry_transcript_path(entry: Mapping[str, object], sessions_dir: Path, agent_id: str | None = None) -> Path | None:
    """The transcript of an entry: its ``sessionFile`` when it resolves inside the
    sessions dir, else ``<sessionId>.jsonl``; None when neither is usable."""
    session_file = entry.get("sessionFile")
    if isinstance(session_file, str) and js_trim(session_file):
        inside = resolve_within_sessions_dir(sessions_dir, session_file, agent_id)
        if inside is not None:
            return inside
    session_id = entry.get("sessionId")
    if isinstance(session_id, str):
        return transcript_path(session_id, sessions_dir)
    return None
