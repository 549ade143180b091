"""``agents.create`` and ``agents.update`` over the Gateway (admin scope, as in the
reference). Both write the config through the one config writer: create is the
CLI's ``agents add`` (:func:`openclaw_core.services.agents.add_agent`), update changes one
entry of ``agents.list`` under the config's lock.

What the reference does beyond the config and the agent's sessions dir (seeding
the workspace with its bootstrap files, a git repository and ``IDENTITY.md``)
belongs to an agent runtime, which this project is not: we create the workspace
directory only (docs/differences.md).
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

from openclaw_core.config import edit as config_edit

from openclaw_core.base import keys
from openclaw_core.base.errors import OpenClawError
from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodCall, MethodError
from openclaw_core.engine.wire.protocol import ADMIN_SCOPE, NON_EMPTY, STRING, obj
from openclaw_core.js.values import js_trim

AGENTS_CREATE = obj({"name": NON_EMPTY, "workspace": NON_EMPTY, "model": NON_EMPTY, "emoji": STRING,
                     "avatar": STRING}, ("name", "workspace"))
AGENTS_UPDATE = obj({"agentId": NON_EMPTY, "name": NON_EMPTY, "workspace": NON_EMPTY, "model": NON_EMPTY,
                     "emoji": STRING, "avatar": STRING}, ("agentId",))

_LINE_BREAKS = re.compile(r"[\r\n\t\x00-\x1f\x7f]+")


def identity_line(text: str) -> str:
    """A name/emoji/avatar as one clean line (it ends up in a Markdown list item)."""
    return js_trim(_LINE_BREAKS.sub(" ", text))


def _optional(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, str) and js_trim(value):
        return js_trim(value)
    return None


def _identity(name: str | None, params: dict[str, Any]) -> dict[str, str]:
    identity: dict[str, str] = {}
    if name:
        identity["name"] = name
    for key in ("emoji", "avatar"):
        value = _optional(params, key)
        if value:
            identity[key] = identity_line(value)
    return identity


def workspace_path(text: str, config: Any) -> Path:
    """A workspace a Gateway client names: ``~`` expanded; it must be absolute and inside
    the home or state dir. The reference resolves a relative path against the Gateway's
    working directory and takes any absolute one; a remote client creating directories
    anywhere the Gateway may write is refused here (docs/differences.md)."""
    from openclaw_core.services.agents import _user_path
    from openclaw_core.config.paths import resolve_home
    from openclaw_core.engine.trash import is_within

    text = js_trim(text)
    if "\0" in text or not (text.startswith("~") or Path(text).is_absolute()):
        raise MethodError(f"workspace must be an absolute path or start with ~ (got {text!r})")
    path = _user_path(text, config)
    real = os.path.realpath(path)  # "..", and links that lead elsewhere, are judged by where they go
    roots = [os.path.realpath(resolve_home(config.env)), os.path.realpath(config.state_dir)]
    if not any(is_within(real, root) for root in roots):
        raise MethodError(f"workspace {str(path)!r} is outside the home and state directories")
    return path


def _create(call: MethodCall) -> dict[str, Any]:
    from openclaw_core.services.agents import AgentExists, ReservedAgentId, add_agent

    params = call.params
    raw_name = js_trim(params["name"])
    name = identity_line(raw_name)
    model = _optional(params, "model")
    fields: dict[str, Any] = {}
    if model:
        fields["model"] = model
    fields["identity"] = _identity(name, params)
    try:
        workspace = str(workspace_path(params["workspace"], call.config))
        result = add_agent(call.config, raw_name, workspace=workspace, name=name, fields=fields)
    except ReservedAgentId:
        raise MethodError(f'"{keys.DEFAULT_AGENT_ID}" is reserved') from None
    except AgentExists as exc:
        raise MethodError(f'agent "{exc.agent_id}" already exists') from None
    answer: dict[str, Any] = {"ok": True, "agentId": result.agent_id, "name": name,
                              "workspace": str(result.workspace)}
    if model:
        answer["model"] = model
    return answer


def _update(call: MethodCall) -> dict[str, Any]:
    params = call.params
    agent_id = keys.normalize_agent_id(params["agentId"])
    config = call.config
    if config.find_agent(agent_id) is None and agent_id not in config.agent_ids():
        raise MethodError(f'agent "{agent_id}" not found')
    name = identity_line(js_trim(params["name"])) if _optional(params, "name") else None
    model = _optional(params, "model")
    identity = _identity(name, params)
    workspace: Path | None = None
    with config_edit.editing(config) as current:
        if current.find_agent(agent_id) is None and agent_id not in current.agent_ids():
            raise MethodError(f'agent "{agent_id}" not found')
        if _optional(params, "workspace"):
            workspace = workspace_path(params["workspace"], current)
        data = copy.deepcopy(current.data)
        agents = data.setdefault("agents", {})
        entries = agents.setdefault("list", [])
        entry = next((e for e in entries if isinstance(e, dict)
                      and keys.normalize_agent_id(e.get("id") if isinstance(e.get("id"), str) else None)
                      == agent_id), None)
        if entry is None:
            entry = {"id": agent_id}
            entries.append(entry)
        if name:
            entry["name"] = name
        if workspace is not None:
            entry["workspace"] = str(workspace)
        if model:
            entry["model"] = model
        if identity:
            previous = entry.get("identity") if isinstance(entry.get("identity"), dict) else {}
            entry["identity"] = {**previous, **identity}
        config_edit.write(current, data)
    config.data = current.data
    if workspace is not None:
        workspace.mkdir(parents=True, exist_ok=True)
    return {"ok": True, "agentId": agent_id}


async def _blocking(call: MethodCall, fn: Any) -> dict[str, Any]:
    try:
        return await call.run_blocking(fn, call)
    except MethodError:
        raise
    except OpenClawError as exc:  # an invalid result, a lock held too long: the caller's answer, one line
        raise MethodError(str(exc).splitlines()[0]) from None


async def agents_create(call: MethodCall) -> dict[str, Any]:
    return await _blocking(call, _create)


async def agents_update(call: MethodCall) -> dict[str, Any]:
    return await _blocking(call, _update)


def agents_methods() -> list[GatewayMethod]:
    return [
        GatewayMethod("agents.create", agents_create, scope=ADMIN_SCOPE, params=AGENTS_CREATE),
        GatewayMethod("agents.update", agents_update, scope=ADMIN_SCOPE, params=AGENTS_UPDATE),
    ]
