"""The agents service: the agents' paths and errors, list and add (spec sections 3, 11, 14).

Used by the CLI's offline path and by the Gateway's ``agents.*`` methods, so
both do exactly the same thing. The signatures below are stable::

    list_agents(config: Config) -> list[dict]
        ``agents list --json`` rows (the reference's fields and order).

    add_agent(config: Config, raw_id: str, *, workspace: str | None = None,
              make_default: bool = False) -> AddResult
        Adds the agent to the config (under the config lock), creates its
        workspace and sessions dir. Raises AgentExists / ReservedAgentId /
        UsageError.

Deleting is :mod:`openclaw_core.services.agent_delete`.

Agent ids are normalised (``normalize_agent_id``) before anything else, so an
id such as ``../../etc`` becomes ``etc`` and every derived path stays inside
the state dir; configured paths outside the home and the state dir are never
trashed (:func:`openclaw_core.engine.trash.refusal`).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core.config import paths

from openclaw_core.base import regular_file
from openclaw_core.base.errors import OpenClawError, UsageError
from openclaw_core.js.values import JS_SPACE_CLASS, js_trim
from openclaw_core.base.keys import DEFAULT_AGENT_ID, normalize_agent_id
from openclaw_core.engine.trash import is_within

if TYPE_CHECKING:
    from openclaw_core.config.model import Config


# --- errors (the CLI and the Gateway word them differently) -----------------------------

class AgentError(OpenClawError):
    def __init__(self, message: str, agent_id: str) -> None:
        super().__init__(message)
        self.agent_id = agent_id


class MainAgentProtected(AgentError):
    def __init__(self) -> None:
        super().__init__(f'"{DEFAULT_AGENT_ID}" cannot be deleted.', DEFAULT_AGENT_ID)


class AgentNotFound(AgentError):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f'Agent "{agent_id}" not found.', agent_id)


class ReservedAgentId(AgentError):
    def __init__(self) -> None:
        super().__init__(f'"{DEFAULT_AGENT_ID}" is reserved. Choose another name.', DEFAULT_AGENT_ID)


class AgentExists(AgentError):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f'Agent "{agent_id}" already exists.', agent_id)


# --- paths (agent-scope rules of the reference) ------------------------------------------

def _string(value: Any) -> str | None:
    """A configured path: a non-blank string, trimmed, without NUL bytes."""
    if not isinstance(value, str):
        return None
    text = js_trim(value).replace("\0", "")
    return text or None


def _user_path(value: str, config: Config) -> Path:
    return paths.expand_user_path(paths.refuse_lone_surrogate(value, "workspace/agentDir"), config.env)


def _entry(config: Config, agent_id: str) -> Mapping[str, Any] | None:
    return config.find_agent(agent_id)


def default_workspace_dir(config: Config) -> Path:
    """The default agent's workspace when nothing is configured: ``<home>/.openclaw/workspace``
    (``workspace-<profile>`` with ``OPENCLAW_PROFILE``), under the home even when
    ``OPENCLAW_STATE_DIR`` moves the state dir, as the reference does."""
    home = paths.resolve_home(config.env)
    profile = js_trim(config.env.get("OPENCLAW_PROFILE") or "")
    if profile and profile.lower() != "default":
        return home / paths.STATE_DIRNAME / f"workspace-{profile}"
    return home / paths.STATE_DIRNAME / "workspace"


def workspace_dir(config: Config, agent_id: str) -> Path:
    agent = normalize_agent_id(agent_id)
    entry = _entry(config, agent)
    configured = _string(entry.get("workspace")) if entry else None
    if configured:
        return _user_path(configured, config)
    fallback = _string(config.get("agents.defaults.workspace"))
    if agent == config.default_agent_id():
        return _user_path(fallback, config) if fallback else default_workspace_dir(config)
    if fallback:
        return _user_path(fallback, config) / agent
    return Path(config.state_dir) / f"workspace-{agent}"


def agent_dir(config: Config, agent_id: str) -> Path:
    agent = normalize_agent_id(agent_id)
    entry = _entry(config, agent)
    configured = _string(entry.get("agentDir")) if entry else None
    if configured:
        return _user_path(configured, config)
    return paths.agent_dir(Path(config.state_dir), agent) / "agent"


def sessions_dir(config: Config, agent_id: str) -> Path:
    """``<stateDir>/agents/<id>/sessions`` whatever ``session.store`` says (the reference trashes this one)."""
    return paths.agent_sessions_dir(Path(config.state_dir), normalize_agent_id(agent_id))


def comparable(path: str | os.PathLike[str]) -> str:
    """A path as the shared-workspace rule compares it: absolute, links resolved."""
    return os.path.realpath(os.path.abspath(os.fspath(path).replace("\0", "")))


def overlaps(left: str | os.PathLike[str], right: str | os.PathLike[str]) -> bool:
    """Same path, or one inside the other, after resolving links."""
    a, b = comparable(left), comparable(right)
    return is_within(a, b) or is_within(b, a)


def entry_id(entry: Mapping[str, Any]) -> str:
    raw = entry.get("id")
    return normalize_agent_id(raw if isinstance(raw, str) else None)


def shared_workspace_agents(config: Config, agent_id: str, workspace: Path) -> list[str]:
    """Other configured agents whose workspace is ``workspace``, inside it, or contains it."""
    agent = normalize_agent_id(agent_id)
    found: list[str] = []
    for entry in config.agents_list():
        other = entry_id(entry)
        if other != agent and overlaps(workspace, workspace_dir(config, other)):
            found.append(other)
    return found


# --- config pruning -------------------------------------------------------------------------


# --- delete ------------------------------------------------------------------------------------


# --- list ---------------------------------------------------------------------------------------

_IDENTITY_FIELDS = ("name", "emoji", "theme", "creature", "vibe", "avatar")


def read_identity_file(workspace: Path) -> dict[str, str] | None:
    """``IDENTITY.md``'s ``Name:``/``Emoji:``... lines (``- **Name:** Fox``), or None.

    A value that is only a parenthesised hint (as in a fresh template) is
    not an identity.
    """
    try:
        text = regular_file.read_text(workspace / "IDENTITY.md")
    except (OSError, UnicodeDecodeError):
        return None
    found: dict[str, str] = {}
    for line in re.split(r"\r?\n", text):
        cleaned = re.sub(rf"^{JS_SPACE_CLASS}*-{JS_SPACE_CLASS}*", "", js_trim(line))
        label, colon, rest = cleaned.partition(":")
        if not colon:
            continue
        label = js_trim(re.sub(r"[*_]", "", label)).lower()
        value = js_trim(re.sub(r"^[*_]+|[*_]+$", "", rest))
        if not value or label not in _IDENTITY_FIELDS:
            continue
        hint = js_trim(re.sub(r"^[*_]+|[*_]+$", "", value))
        if hint.startswith("(") and hint.endswith(")"):
            continue
        found[label] = value
    return found or None


def _primary(value: Any) -> str | None:
    if isinstance(value, str):
        return js_trim(value) or None
    if isinstance(value, Mapping):
        return _primary(value.get("primary")) if isinstance(value.get("primary"), str) else None
    return None


def route_binding_counts(config: Config) -> dict[str, int]:
    counts: dict[str, int] = {}
    bindings = config.get("bindings")
    for binding in bindings if isinstance(bindings, list) else []:
        if not isinstance(binding, Mapping) or binding.get("type") == "acp":
            continue
        raw = binding.get("agentId")
        agent = normalize_agent_id(raw if isinstance(raw, str) else None)
        counts[agent] = counts.get(agent, 0) + 1
    return counts


def list_agents(config: Config) -> list[dict[str, Any]]:
    """``agents list --json``: one summary per configured agent (or the implicit default)."""
    default = config.default_agent_id()
    entries = config.agents_list()
    ids: list[str] = []
    for agent in [entry_id(e) for e in entries] or [default]:
        if agent not in ids:
            ids.append(agent)
    counts = route_binding_counts(config)
    rows = []
    for agent in ids:
        entry = next((e for e in entries if entry_id(e) == agent), None) or {}
        workspace = workspace_dir(config, agent)
        identity = read_identity_file(workspace)
        config_identity = entry.get("identity") if isinstance(entry.get("identity"), Mapping) else None

        def from_config(name: str) -> str | None:
            value = config_identity.get(name) if config_identity else None
            return js_trim(value) if isinstance(value, str) else None

        identity_name = (identity or {}).get("name") or from_config("name")
        identity_emoji = (identity or {}).get("emoji") or from_config("emoji")
        source = "identity" if identity else "config" if config_identity and (identity_name or identity_emoji) else None
        row: dict[str, Any] = {"id": agent}
        name = entry.get("name")
        if isinstance(name, str) and js_trim(name):
            row["name"] = js_trim(name)
        if identity_name:
            row["identityName"] = identity_name
        if identity_emoji:
            row["identityEmoji"] = identity_emoji
        if source:
            row["identitySource"] = source
        row["workspace"] = str(workspace)
        row["agentDir"] = str(agent_dir(config, agent))
        model = _primary(entry.get("model")) or _primary(config.get("agents.defaults.model"))
        if model:
            row["model"] = model
        row["bindings"] = counts.get(agent, 0)
        row["isDefault"] = agent == default
        rows.append(row)
    return rows


# --- add ------------------------------------------------------------------------------------------

@dataclass
class AddResult:
    agent_id: str
    name: str
    workspace: Path
    agent_dir: Path
    sessions_dir: Path
    is_default: bool
    config_path: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "agentId": self.agent_id,
            "name": self.name,
            "workspace": str(self.workspace),
            "agentDir": str(self.agent_dir),
            "bindings": {"added": [], "updated": [], "skipped": [], "conflicts": []},
            "isDefault": self.is_default,
        }


def add_agent(config: Config, raw_id: str, *, workspace: str | None = None,
              make_default: bool = False, name: str | None = None,
              fields: Mapping[str, Any] | None = None) -> AddResult:
    """Add an agent to the config (the CLI's ``agents add``, the Gateway's ``agents.create``):
    ``name`` defaults to the id as typed; ``fields`` (model, identity ...) go into the entry
    before ``agentDir``."""
    from openclaw_core.config import edit as config_edit

    typed = js_trim(raw_id or "")
    if not typed:
        raise UsageError("Agent id is required.")
    agent = normalize_agent_id(typed)
    name = typed if name is None else name
    if agent == DEFAULT_AGENT_ID:
        raise ReservedAgentId()
    if workspace is not None and not js_trim(workspace):
        raise UsageError("--workspace must not be empty.")
    with config_edit.editing(config) as current:
        if current.find_agent(agent) is not None:
            raise AgentExists(agent)
        if workspace is not None:
            ws = _user_path(workspace, current)
        else:
            # Where a non-default agent's workspace goes, written out so that it
            # stays put if the default agent changes later.
            fallback = _string(current.get("agents.defaults.workspace"))
            ws = _user_path(fallback, current) / agent if fallback else Path(current.state_dir) / f"workspace-{agent}"
        a_dir = paths.agent_dir(Path(current.state_dir), agent) / "agent"
        data = copy.deepcopy(current.data)
        entries = copy.deepcopy(current.agents_list())
        if not entries and agent != current.default_agent_id():
            entries.append({"id": current.default_agent_id()})  # keep the implicit default agent
        new_entry: dict[str, Any] = {"id": agent}
        if make_default:
            for other in entries:
                other.pop("default", None)
            new_entry["default"] = True
        new_entry.update({"name": name, "workspace": str(ws), **(fields or {}), "agentDir": str(a_dir)})
        entries.append(new_entry)
        agents = data.get("agents") if isinstance(data.get("agents"), dict) else {}
        data["agents"] = {**agents, "list": entries}
        config_edit.write(current, data)
    config.data = current.data
    s_dir = sessions_dir(current, agent)
    ws.mkdir(parents=True, exist_ok=True)
    s_dir.mkdir(parents=True, exist_ok=True)
    return AddResult(agent, name, ws, a_dir, s_dir, current.default_agent_id() == agent, current.path)
