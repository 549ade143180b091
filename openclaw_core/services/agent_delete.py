"""Deleting an agent (spec section 14), for ``agents delete`` offline and the
Gateway's ``agents.delete``. The signatures below are stable::

    plan_delete(config: Config, raw_id: str) -> DeletePlan
        What deleting would do, computed from ``config`` without touching
        anything: paths, the pruned config and its counts, the agents whose
        workspace overlaps. Raises MainAgentProtected / AgentNotFound /
        UsageError (blank id).

    delete_agent(config: Config, raw_id: str, *, delete_files: bool = True,
                 hooks: Hooks) -> DeleteResult
        Under the config lock: re-read the config, prune and write it. Then
        purge the agent's session entries through the store's writer, and
        (``delete_files``) move the workspace (unless shared), the agent dir
        and the sessions dir to the trash through the ``openclaw_trash``
        hook. Raises like :func:`plan_delete` before anything is changed;
        a failed purge or trash does not raise, the result reports it.
        ``config.data`` is updated to the written config.

    purge_agent_sessions(config: Config, agent_id: str,
                         hooks: Hooks) -> PurgeResult
        Only the store purge (``config`` = the config *before* the agent was
        removed from it).

``DeleteResult.to_json()`` is the reference's JSON (plus ``trashFailed`` /
``purgeFailed`` when something could not be done); ``DeleteResult.gateway_payload()``
is the reference Gateway's ``{ok, agentId, removedBindings}`` (plus the same
two fields when needed).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core.base import keys
from openclaw_core.base.errors import OpenClawError, UsageError
from openclaw_core.base.keys import DEFAULT_AGENT_ID, normalize_agent_id
from openclaw_core.config import paths
from openclaw_core.engine.trash import TrashContext, TrashResult, is_within, trash_path
from openclaw_core.js.values import js_trim
from openclaw_core.services.agents import (
    AgentNotFound,
    MainAgentProtected,
    agent_dir,
    comparable,
    entry_id,
    overlaps,
    sessions_dir,
    shared_workspace_agents,
    workspace_dir,
)

if TYPE_CHECKING:
    from openclaw_core.base.cancel import CancelToken
    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks


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
        kept = [e for e in agents["list"] if isinstance(e, dict) and entry_id(e) != agent]
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


def _store_exists(store_path: Path, config: Config, hooks: Hooks) -> bool:
    """Asked of the backend without a writer (a writer would create the store's dir)."""
    from openclaw_core.engine.store.backend import open_backend

    backend = open_backend(store_path, config, hooks)
    try:
        return backend.version() is not None or backend.load().exists
    finally:
        backend.close()


def purge_agent_sessions(config: Config, agent_id: str, hooks: Hooks) -> PurgeResult:
    """Delete the agent's entries from its store, through the store's writer.

    The store is ``session.store`` resolved for the agent. Un-prefixed keys
    belong to the deleted agent when the path is ``{agentId}``-templated,
    else to the config's default agent (spec 11). Normal maintenance runs
    with the write. A store that does not exist is left absent.
    """
    from openclaw_core.engine.store.writer import get_writer

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
        if not _store_exists(store_path, config, hooks):
            return PurgeResult(store_path, existed=False)  # nothing to purge, and no empty store left behind
        removed = get_writer(store_path, config, hooks).run(purge)
    except Exception as exc:  # noqa: BLE001 - reported, the deletion goes on (the reference's best effort)
        message = exc.message if isinstance(exc, OpenClawError) else f"{type(exc).__name__}: {exc}"
        return PurgeResult(store_path, error=message)
    return PurgeResult(store_path, removed)


def _others_paths(config: Config, agent: str) -> list[tuple[str, str, Path]]:
    """(agent, what, path) of every other configured agent: what a trash must never take along."""
    seen: list[str] = []
    owned: list[tuple[str, str, Path]] = []
    for entry in config.agents_list():
        other = entry_id(entry)
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
                 hooks: Hooks, cancel: CancelToken | None = None) -> DeleteResult:
    """See the module docstring. ``cancel`` stops it (:class:`~openclaw_core.base.cancel.OperationCancelled`)
    until the config is rewritten, its point of no return; from there on the
    purge and the trash always follow."""
    from openclaw_core.config import edit as config_edit

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
    purge = purge_agent_sessions(before, agent, hooks)
    result = DeleteResult(plan, current.path, purge)
    if not delete_files:
        return result
    if purge.existed:
        _release_store(purge.store_path, plan.sessions_dir, before, hooks)
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
            outcome = trash_path(path, context, hooks)
        result.trashed.append(TrashStep(role, outcome))
    return result


def _release_store(store_path: Path, trashed_dir: Path, config: Config, hooks: Hooks) -> None:
    """A store about to go to the trash with the agent's sessions dir: stop this
    process's writer (it finishes what is queued; its watcher would follow the
    directory into the trash), then let the backend forget the store if it is
    empty (a database row would outlive the directory)."""
    if not is_within(comparable(store_path), comparable(trashed_dir)):
        return
    from openclaw_core.engine.store.backend import open_backend
    from openclaw_core.engine.store.writer import get_writer

    try:
        get_writer(store_path, config, hooks).close()
        backend = open_backend(store_path, config, hooks)
        try:
            backend.drop_if_empty()
        finally:
            backend.close()
    except Exception:  # noqa: BLE001 - only housekeeping
        pass
