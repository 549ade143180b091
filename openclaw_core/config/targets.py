"""Which stores a command acts on (``--store``, ``--agent``, ``--all-agents``),
shared by ``sessions``, ``sessions cleanup`` and the Gateway (spec section 9)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from openclaw_core.config import paths
from openclaw_core.config.model import Config
from openclaw_core.base.errors import UsageError
from openclaw_core.js.values import js_trim
from openclaw_core.base.keys import normalize_agent_id


class StoreTarget(NamedTuple):
    agent_id: str
    path: Path


def resolve_targets(config: Config, *, store: str | None = None, agent: str | None = None,
                    all_agents: bool = False) -> list[StoreTarget]:
    """The stores to act on, with the reference's errors for bad combinations.

    As in the reference, a blank ``--agent`` counts as not given (also for the
    conflict checks) and so does an empty ``--store``.
    """
    has_agent = agent is not None and js_trim(agent) != ""
    if has_agent and all_agents:
        raise UsageError("--agent and --all-agents cannot be used together")
    if store and (has_agent or all_agents):
        raise UsageError("--store cannot be combined with --agent or --all-agents")
    default_agent = config.default_agent_id()
    if store:
        return [StoreTarget(default_agent, paths.resolve_store_path(store, default_agent, config.state_dir, config.env))]
    if all_agents:
        targets: list[StoreTarget] = []
        seen: set[Path] = set()
        for agent_id in config.agent_ids():
            path = config.store_path(agent_id)
            if path not in seen:
                seen.add(path)
                targets.append(StoreTarget(agent_id, path))
        return targets
    if has_agent:
        agent_id = normalize_agent_id(agent)
        if agent_id not in config.agent_ids():
            raise UsageError(f'Unknown agent id "{agent}". Use "openclaw agents list" to see configured agents.')
        return [StoreTarget(agent_id, config.store_path(agent_id))]
    return [StoreTarget(default_agent, config.store_path(default_agent))]
