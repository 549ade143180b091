"""The agents service: list, add and delete agents (spec sections 3, 11, 14).

Used by the CLI's offline path and by the Gateway's ``agents.*`` methods, so
both do exactly the same thing. The signatures below are stable::

    list_agents(config: Config) -> list[dict]
        ``agents list --json`` rows (the reference's fields and order).

    add_agent(config: Config, raw_id: str, *, workspace: str | None = None,
              make_default: bool = False) -> AddResult
        Adds the agent to the config (under the config lock), creates its
        workspace and sessions dir. Raises AgentExists / ReservedAgentId /
        UsageError.

    plan_delete(config: Config, raw_id: str) -> DeletePlan
        What deleting would do, computed from ``config`` without touching
        anything: paths, the pruned config and its counts, the agents whose
        workspace overlaps. Raises MainAgentProtected / AgentNotFound /
        UsageError (blank id).

    delete_agent(config: Config, raw_id: str, *, delete_files: bool = True,
                 pm: OpenClawPluginManager | None = None) -> DeleteResult
        Under the config lock: re-read the config, prune and write it. Then
        purge the agent's session entries through the store's writer, and
        (``delete_files``) move the workspace (unless shared), the agent dir
        and the sessions dir to the trash through the ``openclaw_trash``
        hook. Raises like :func:`plan_delete` before anything is changed;
        a failed purge or trash does not raise, the result reports it.
        ``config.data`` is updated to the written config.

    purge_agent_sessions(config: Config, agent_id: str,
                         pm: OpenClawPluginManager | None = None) -> PurgeResult
        Only the store purge (``config`` = the config *before* the agent was
        removed from it).

``DeleteResult.to_json()`` is the reference's JSON (plus ``trashFailed`` /
``purgeFailed`` when something could not be done); ``DeleteResult.gateway_payload()``
is the reference Gateway's ``{ok, agentId, removedBindings}`` (plus the same
two fields when needed).

Agent ids are normalised (``normalize_agent_id``) before anything else, so an
id such as ``../../etc`` becomes ``etc`` and every derived path stays inside
the state dir; configured paths outside the home and the state dir are never
trashed (:func:`openclaw_core.trash.refusal`).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core import keys, paths, regular_file
from openclaw_core.errors import OpenClawError, UsageError
from openclaw_core.jsvalues import JS_SPACE_CLASS, js_trim
from openclaw_core.keys import DEFAULT_AGENT_ID, normalize_agent_id
from openclaw_core.trash import TrashContext, TrashResult, is_within, trash_path

if TYPE_CHECKING:
    from openclaw_core.cancel import CancelToken
    from openclaw_core.config import Config
    from openclaw_core.plugins import OpenClawPluginManager


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


def _entry_id(entry: Mapping[str, Any]) -> str:
    raw = entry.get("id")
    return normalize_agent_id(raw if isinstance(raw, str) else None)


def shared_workspace_agents(config: Config, agent_id: str, workspace: Path) -> list[str]:
    """Other configured agents whose workspace is ``workspace``, inside it, or contains it."""
    agent = normalize_agent_id(agent_id)
    found: list[str] = []
    for entry in config.agents_list():
        other = _entry_id(entry)
        if other != agent and overlaps(workspace, workspace_dir(config, other)):
            found.append(other)
    return found


# --- config pruning -------------------------------------------------------------------------

@dataclass
class PrunedConfig:
    data: dict[str, Any]
    removed_bindings: int
    removed_allow: int


def prune_agent_config(data: Mapping[str, Any], agent_id: str) -> PrunedConfig:
    """The config without the agent, its bindings and its agentToAgent allow entry.

    Emptied ``agents.list``, ``bindings`` and ``allow`` lose their key; every
    other key keeps its place. ``allow`` entries must equal the id exactly.
    """
    agent = normalize_agent_id(agent_id)
    out: dict[str, Any] = copy.deepcopy(dict(data))
    agents = out.get("agents")
    if isinstance(agents, dict) and isinstance(agents.get("list"), list):
        kept = [e for e in agents["list"] if isinstance(e, dict) and _entry_id(e) != agent]
        if kept:
            agents["list"] = kept
        else:
            del agents["list"]
    removed_bindings = 0
    bindings = out.get("bindings")
    if isinstance(bindings, list):
        kept_bindings = [b for b in bindings if not _binding_of(b, agent)]
        removed_bindings = len(bindings) - len(kept_bindings)
        if kept_bindings:
            out["bindings"] = kept_bindings
        else:
            del out["bindings"]
    removed_allow = 0
    tools = out.get("tools")
    a2a = tools.get("agentToAgent") if isinstance(tools, dict) else None
    if isinstance(a2a, dict) and isinstance(a2a.get("allow"), list):
        allow = a2a["allow"]
        kept_allow = [entry for entry in allow if entry != agent]
        removed_allow = len(allow) - len(kept_allow)
        if kept_allow:
            a2a["allow"] = kept_allow
        else:
            del a2a["allow"]
    return PrunedConfig(out, removed_bindings, removed_allow)


def _binding_of(binding: Any, agent: str) -> bool:
    raw = binding.get("agentId") if isinstance(binding, Mapping) else None
    return normalize_agent_id(raw if isinstance(raw, str) else None) == agent


# --- delete ------------------------------------------------------------------------------------

@dataclass
class DeletePlan:
    agent_id: str
    workspace: Path
    agent_dir: Path
    sessions_dir: Path
    workspace_shared_with: list[str]
    pruned: PrunedConfig


def normalize_requested_id(raw_id: str | None) -> str:
    """The reference's id handling: blank is an error, anything else is normalised."""
    if raw_id is None or not js_trim(raw_id):
        raise UsageError("Agent id is required.")
    return normalize_agent_id(raw_id)


def plan_delete(config: Config, raw_id: str) -> DeletePlan:
    agent = normalize_requested_id(raw_id)
    if agent == DEFAULT_AGENT_ID:
        raise MainAgentProtected()
    if config.find_agent(agent) is None:
        raise AgentNotFound(agent)
    workspace = workspace_dir(config, agent)
    return DeletePlan(
        agent_id=agent,
        workspace=workspace,
        agent_dir=agent_dir(config, agent),
        sessions_dir=sessions_dir(config, agent),
        workspace_shared_with=shared_workspace_agents(config, agent, workspace),
        pruned=prune_agent_config(config.data, agent),
    )


@dataclass
class PurgeResult:
    store_path: Path
    removed: list[str] = field(default_factory=list)
    error: str | None = None
    existed: bool = True


def _store_exists(store_path: Path, config: Config, pm: OpenClawPluginManager | None) -> bool:
    """Asked of the backend without a writer (a writer would create the store's dir)."""
    from openclaw_core.store.backend import open_backend

    backend = open_backend(store_path, config, pm)
    try:
        return backend.version() is not None or backend.load().exists
    finally:
        backend.close()


def purge_agent_sessions(config: Config, agent_id: str, pm: OpenClawPluginManager | None = None) -> PurgeResult:
    """Delete the agent's entries from its store, through the store's writer.

    The store is ``session.store`` resolved for the agent. Un-prefixed keys
    belong to the deleted agent when the path is ``{agentId}``-templated,
    else to the config's default agent (spec 11). Normal maintenance runs
    with the write. A store that does not exist is left absent.
    """
    from openclaw_core.store.writer import get_writer

    agent = normalize_agent_id(agent_id)
    store_path = config.store_path(agent)
    store_owner = agent if paths.is_templated_store(config.session_store) else config.default_agent_id()
    owner_rules = {
        "default_agent_id": config.default_agent_id(),
        "configured_agent_ids": frozenset(config.agent_ids()),
        "main_key": config.main_key,
        "global_scope": config.get("session.scope") == "global",
    }

    def purge(store: Any) -> list[str]:
        if not store.state.exists:
            store.cancel_save()  # it vanished meanwhile: nothing to purge
            return []
        doomed = [key for key, _ in store.peek_items()
                  if keys.owner_agent_id(key, store_owner, **owner_rules) == agent]
        for key in doomed:
            del store[key]
        return doomed

    try:
        if not _store_exists(store_path, config, pm):
            return PurgeResult(store_path, existed=False)  # nothing to purge, and no empty store left behind
        removed = get_writer(store_path, config, pm).run(purge)
    except Exception as exc:  # noqa: BLE001 - reported, the deletion goes on (the reference's best effort)
        message = exc.message if isinstance(exc, OpenClawError) else f"{type(exc).__name__}: {exc}"
        return PurgeResult(store_path, error=message)
    return PurgeResult(store_path, removed)


def _others_paths(config: Config, agent: str) -> list[tuple[str, str, Path]]:
    """(agent, what, path) of every other configured agent: what a trash must never take along."""
    seen: list[str] = []
    owned: list[tuple[str, str, Path]] = []
    for entry in config.agents_list():
        other = _entry_id(entry)
        if other == agent or other in seen:
            continue
        seen.append(other)
        owned += [
            (other, "workspace", workspace_dir(config, other)),
            (other, "agent dir", agent_dir(config, other)),
            (other, "sessions dir", sessions_dir(config, other)),
            (other, "session store", config.store_path(other)),
        ]
    return owned


@dataclass
class TrashStep:
    role: str          # "workspace", "agentDir", "sessionsDir"
    result: TrashResult


@dataclass
class DeleteResult:
    plan: DeletePlan
    config_path: Path
    purge: PurgeResult | None
    trashed: list[TrashStep] = field(default_factory=list)

    @property
    def agent_id(self) -> str:
        return self.plan.agent_id

    @property
    def removed_bindings(self) -> int:
        return self.plan.pruned.removed_bindings

    @property
    def removed_allow(self) -> int:
        return self.plan.pruned.removed_allow

    @property
    def trash_failures(self) -> list[TrashResult]:
        return [step.result for step in self.trashed if step.result.failed]

    @property
    def ok(self) -> bool:
        return not self.trash_failures and not (self.purge and self.purge.error)

    def problems(self) -> dict[str, Any]:
        """``trashFailed`` / ``purgeFailed``, only when something could not be done."""
        out: dict[str, Any] = {}
        if self.trash_failures:
            out["trashFailed"] = [{"path": r.path, "reason": r.reason} for r in self.trash_failures]
        if self.purge is not None and self.purge.error:
            out["purgeFailed"] = self.purge.error
        return out

    def to_json(self, *, transport: str | None = None, removed_bindings: Any = None) -> dict[str, Any]:
        return plan_json(self.plan, removed_bindings=self.removed_bindings if removed_bindings is None
                         else removed_bindings, extra=self.problems(), transport=transport)

    def gateway_payload(self) -> dict[str, Any]:
        return {"ok": True, "agentId": self.agent_id, "removedBindings": self.removed_bindings, **self.problems()}


def plan_json(plan: DeletePlan, *, removed_bindings: Any, extra: Mapping[str, Any] | None = None,
              transport: str | None = None) -> dict[str, Any]:
    """The reference's ``agents delete --json`` object, keys in its order."""
    out: dict[str, Any] = {"agentId": plan.agent_id, "workspace": str(plan.workspace)}
    if plan.workspace_shared_with:
        out["workspaceRetained"] = True
        out["workspaceRetainedReason"] = "shared"
        out["workspaceSharedWith"] = list(plan.workspace_shared_with)
    out["agentDir"] = str(plan.agent_dir)
    out["sessionsDir"] = str(plan.sessions_dir)
    out["removedBindings"] = removed_bindings
    out["removedAllow"] = plan.pruned.removed_allow
    out.update(extra or {})
    if transport:
        out["transport"] = transport
    return out


def delete_agent(config: Config, raw_id: str, *, delete_files: bool = True,
                 pm: OpenClawPluginManager | None = None, cancel: CancelToken | None = None) -> DeleteResult:
    """See the module docstring. ``cancel`` stops it (:class:`~openclaw_core.cancel.OperationCancelled`)
    until the config is rewritten, its point of no return; from there on the
    purge and the trash always follow."""
    from openclaw_core import config_edit

    agent = normalize_requested_id(raw_id)
    if agent == DEFAULT_AGENT_ID:
        raise MainAgentProtected()
    if cancel is not None:
        cancel.check()
    with config_edit.editing(config, cancel=cancel) as current:
        before = copy.deepcopy(current)  # purge and the shared rule read the config as it was
        plan = plan_delete(current, agent)
        if cancel is not None:
            cancel.begin_commit()  # raises if cancelled: nothing was changed
        config_edit.write(current, plan.pruned.data)
    config.data = current.data
    purge = purge_agent_sessions(before, agent, pm)
    result = DeleteResult(plan, current.path, purge)
    if not delete_files:
        return result
    if purge.existed:
        _release_store(purge.store_path, plan.sessions_dir, before, pm)
    guarded = _others_paths(before, agent)
    steps = [("agentDir", plan.agent_dir), ("sessionsDir", plan.sessions_dir)]
    if not plan.workspace_shared_with:
        steps.insert(0, ("workspace", plan.workspace))
    for role, path in steps:
        context = TrashContext.for_config(before, agent_id=agent, role=role)
        conflict = next(((who, what) for who, what, owned in guarded if overlaps(path, owned)), None)
        if conflict is not None and os.path.lexists(path):
            who, what = conflict
            outcome = TrashResult(str(path), moved=False,
                                  reason=f"kept: it overlaps the {what} of agent \"{who}\"")
        else:
            outcome = trash_path(path, context, pm)
        result.trashed.append(TrashStep(role, outcome))
    return result


def _release_store(store_path: Path, trashed_dir: Path, config: Config, pm: OpenClawPluginManager | None) -> None:
    """A store about to go to the trash with the agent's sessions dir: stop this
    process's writer (it finishes what is queued; its watcher would follow the
    directory into the trash), then let the backend forget the store if it is
    empty (a database row would outlive the directory)."""
    if not is_within(comparable(store_path), comparable(trashed_dir)):
        return
    from openclaw_core.store.backend import open_backend
    from openclaw_core.store.writer import get_writer

    try:
        get_writer(store_path, config, pm).close()
        backend = open_backend(store_path, config, pm)
        try:
            backend.drop_if_empty()
        finally:
            backend.close()
    except Exception:  # noqa: BLE001 - only housekeeping
        pass


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
    for agent in [_entry_id(e) for e in entries] or [default]:
        if agent not in ids:
            ids.append(agent)
    counts = route_binding_counts(config)
    rows = []
    for agent in ids:
        entry = next((e for e in entries if _entry_id(e) == agent), None) or {}
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
    from openclaw_core import config_edit

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
