"""The core's Gateway methods, returned through ``openclaw_gateway_methods``
like any plugin's (see :func:`builtin_methods`).

Every mutation goes through the store's writer (``call.mutate``); the
response is built only after the write is durable. Whole-store work (a
cleanup, an agent purge) runs off the event loop and still queues its writes
on the same writers, so it serialises with concurrent patches.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openclaw_core.base import keys
from openclaw_core.base import regular_file
from openclaw_core.js.values import js_trim
from openclaw_core.adapters.gateway import sessions_rpc as srpc
from openclaw_core.adapters.gateway.agents_methods import agents_methods
from openclaw_core.adapters.gateway.config_methods import config_methods
from openclaw_core.adapters.gateway.health_methods import health_methods
from openclaw_core.adapters.gateway.logs_methods import logs_methods
from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodCall, MethodError
from openclaw_core.adapters.gateway.status_methods import status_methods
from openclaw_core.engine.wire.protocol import (
    ADMIN_SCOPE,
    BOOL,
    LABEL,
    NON_EMPTY,
    READ_SCOPE,
    STRING,
    S,
    ErrorCodes,
    nullable,
    obj,
    one_of_literals,
)

from openclaw_core.adapters.gateway.redact import REDACTED, redact  # noqa: F401 - REDACTED re-exported
from openclaw_core.adapters.gateway import session_patch, session_transcripts, sessions_read


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- params schemas (the reference's, unknown properties rejected) ---------------------------

SESSIONS_LIST = obj({
    "limit": S(type="integer", minimum=1), "activeMinutes": S(type="integer", minimum=1),
    "includeGlobal": BOOL, "includeUnknown": BOOL, "includeDerivedTitles": BOOL, "includeLastMessage": BOOL,
    "label": LABEL, "spawnedBy": NON_EMPTY, "agentId": NON_EMPTY, "search": STRING})
SESSIONS_CLEANUP = obj({"agent": NON_EMPTY, "allAgents": BOOL, "enforce": BOOL, "activeKey": NON_EMPTY,
                        "fixMissing": BOOL})
SESSIONS_PATCH = obj({
    "key": NON_EMPTY,
    "label": nullable(LABEL),
    "thinkingLevel": nullable(NON_EMPTY),
    "fastMode": nullable(BOOL),
    "verboseLevel": nullable(NON_EMPTY),
    "traceLevel": nullable(NON_EMPTY),
    "reasoningLevel": nullable(NON_EMPTY),
    "responseUsage": one_of_literals("off", "tokens", "full", "on", nullable=True),
    "elevatedLevel": nullable(NON_EMPTY),
    "execHost": nullable(NON_EMPTY),
    "execSecurity": nullable(NON_EMPTY),
    "execAsk": nullable(NON_EMPTY),
    "execNode": nullable(NON_EMPTY),
    "model": nullable(NON_EMPTY),
    "spawnedBy": nullable(NON_EMPTY),
    "spawnedWorkspaceDir": nullable(NON_EMPTY),
    "spawnDepth": nullable(S(type="integer", minimum=0)),
    "subagentRole": one_of_literals("orchestrator", "leaf", nullable=True),
    "subagentControlScope": one_of_literals("children", "none", nullable=True),
    "sendPolicy": one_of_literals("allow", "deny", nullable=True),
    "groupActivation": one_of_literals("mention", "always", nullable=True),
}, ("key",))
SESSIONS_RESET = obj({"key": NON_EMPTY, "reason": one_of_literals("new", "reset")}, ("key",))
SESSIONS_DELETE = obj({"key": NON_EMPTY, "deleteTranscript": BOOL, "emitLifecycleHooks": BOOL}, ("key",))
EMPTY = obj({})
AGENTS_DELETE = obj({"agentId": NON_EMPTY, "deleteFiles": BOOL}, ("agentId",))


def _require_key(params: Mapping[str, Any]) -> str:
    key = js_trim(params["key"]) if isinstance(params.get("key"), str) else ""
    if not key:
        raise MethodError("key required")
    return key


def _entry_copy(entry: Mapping[str, Any]) -> dict[str, Any]:
    import orjson

    try:
        return orjson.loads(orjson.dumps(entry))
    except orjson.JSONEncodeError:  # a lone surrogate, an integer beyond 64 bits: any value a store holds
        import copy

        return copy.deepcopy(dict(entry))


async def _emit_changed(call: MethodCall, target: srpc.SessionTarget, reason: str) -> None:
    """``sessions.changed`` with the session's row as it is after the write (the reference's fields)."""
    if not any(client.subscribed for client in list(call.gateway.clients.values())):
        return  # the row is built only for someone who listens
    now = _now_ms()
    try:
        payload = await call.read_store(target.store_path, lambda entries: sessions_read.changed_payload(
            call.config, target.canonical_key, reason, entries.get(target.canonical_key), target.store_path,
            entries, now))
    except Exception as exc:  # noqa: BLE001 - the write is done; the event must not turn it into an error
        call.gateway.log(f"[gateway] sessions.changed not built: {type(exc).__name__}: {exc}")
        payload = {"sessionKey": target.canonical_key, "reason": reason}
    call.emit_sessions_changed(payload)


# --- config ----------------------------------------------------------------------------------------

# --- sessions -----------------------------------------------------------------------------------------

async def sessions_list(call: MethodCall) -> dict[str, Any]:
    params = call.params
    config = call.config
    now = _now_ms()
    agent = params.get("agentId")
    if config.session_store and not config.session_store.count("{agentId}"):
        targets = [(config.default_agent_id(), str(config.store_path()))]
        path = targets[0][1]
    elif isinstance(agent, str):
        agent_id = keys.normalize_agent_id(agent)
        targets = [(agent_id, str(config.store_path(agent_id)))]
        # The reference names the store only when it found exactly one (an agent without one: "(multiple)").
        path = targets[0][1] if _store_exists(targets[0][1], config, call.gateway.hooks) else "(multiple)"
    else:
        targets = [(a, str(config.store_path(a))) for a in srpc.agent_ids_for_store_scan(config)]
        path = "(multiple)"

    def build() -> dict[str, Any]:
        from openclaw_core.engine.store.writer import get_writer

        combined: list[tuple[str, Mapping[str, Any]]] = []
        stores: dict[str, str] = {}
        seen: set[str] = set()
        for agent_id, store_path in targets:
            if store_path in seen:
                continue
            seen.add(store_path)
            if not _store_exists(store_path, config, call.gateway.hooks):
                continue  # no writer (and no watcher creating its dir) for a store that is not there

            def collect(entries: Mapping[str, Mapping[str, Any]], agent_id: str = agent_id,
                        store_path: str = store_path) -> None:
                for key, entry in entries.items():
                    canonical = keys.canonical_key_for_agent(agent_id, key)
                    combined.append((canonical, entry))
                    stores.setdefault(canonical, store_path)

            get_writer(store_path, config, call.gateway.hooks).read(collect)
        selected, total, limit = srpc.select_rows(combined, params, now)
        children = sessions_read.child_sessions_index(dict(combined), now)
        titles = params.get("includeDerivedTitles") is True
        last_message = params.get("includeLastMessage") is True
        rows = []
        for index, (key, entry) in enumerate(selected):
            row = srpc.session_row(config, key, entry, children=children.get(key))
            if entry.get("sessionId") and index < 100 and (titles or last_message):
                agent_id = keys.parse_agent_session_key(key)
                first, last = session_transcripts.title_fields(
                    entry, stores.get(key, path),
                    keys.normalize_agent_id(agent_id.agent_id) if agent_id else config.default_agent_id())
                sessions_read.add_titles(row, entry, first, last, titles=titles, last_message=last_message)
            rows.append(row)
        return {"ts": now, "path": path, "count": len(rows), "totalCount": total, "limitApplied": limit,
                "hasMore": len(rows) < total, "defaults": srpc.list_defaults(config), "sessions": rows}

    return await call.run_blocking(build)


def _store_exists(store_path: str, config: Any, hooks: Any) -> bool:
    from openclaw_core.engine.store.writer import store_exists

    return store_exists(store_path, config, hooks)


async def sessions_patch(call: MethodCall) -> dict[str, Any]:
    params = call.params
    key = _require_key(params)
    if "model" in params and params["model"] is not None:
        # Choosing a model needs the model catalog of a running agent runtime.
        raise MethodError("model catalog unavailable", code=ErrorCodes.UNAVAILABLE)
    config = call.config
    target = srpc.session_target(config, key)
    model_reset = "model" in params

    def mutate(store: Any) -> dict[str, Any]:
        store_key = srpc.promote_canonical(store, target)
        entry = session_patch.apply_patch(store, store_key, params, _now_ms())
        if model_reset:  # model: null -> back to the configured default
            for name in ("providerOverride", "modelOverride", "modelOverrideSource"):
                entry.pop(name, None)
        return _entry_copy(entry)

    try:
        entry = await call.mutate(target.store_path, mutate,
                                  maintenance=_maintenance(frozenset({target.canonical_key})))
    except session_patch.PatchRejected as exc:
        raise MethodError(str(exc)) from None
    provider, model = srpc.session_model(config, entry, target.agent_id)
    await _emit_changed(call, target, "patch")
    return {"ok": True, "path": target.store_path, "key": target.canonical_key, "entry": entry,
            "resolved": {"modelProvider": provider, "model": model,
                         "agentRuntime": {"id": "pi", "source": "implicit"}}}


def _maintenance(active: frozenset[str] = frozenset()) -> Any:
    from openclaw_core.engine.maintenance import MaintenanceRequest

    return MaintenanceRequest(active_keys=active)


async def sessions_reset(call: MethodCall) -> dict[str, Any]:
    params = call.params
    key = _require_key(params)
    reason = "new" if params.get("reason") == "new" else "reset"
    config = call.config
    target = srpc.session_target(config, key)
    sessions_dir = Path(target.store_path).parent
    previous: dict[str, Any] = {}

    def mutate(store: Any) -> dict[str, Any]:
        store_key = srpc.promote_canonical(store, target)
        current = store.peek(store_key)
        previous["entry"] = _entry_copy(current) if current else None
        entry = srpc.reset_entry(config, store_key, current, sessions_dir, _now_ms())
        store[store_key] = entry
        return _entry_copy(entry)

    entry = await call.mutate(target.store_path, mutate,
                              maintenance=_maintenance(frozenset({target.canonical_key})))

    def transcripts() -> None:
        srpc.archive_transcript(previous.get("entry"), sessions_dir, target.agent_id, "reset")
        srpc.create_transcript(Path(entry["sessionFile"]), entry["sessionId"])

    await call.run_blocking(transcripts)
    await _emit_changed(call, target, reason)
    return {"ok": True, "key": target.canonical_key, "entry": entry}


async def sessions_delete(call: MethodCall) -> dict[str, Any]:
    params = call.params
    key = _require_key(params)
    config = call.config
    target = srpc.session_target(config, key)
    main_key = srpc.canonical_session_key(config, config.main_session_key())
    if target.canonical_key == main_key:
        raise MethodError(f"Cannot delete the main session ({main_key}).")
    delete_transcript = params.get("deleteTranscript") if isinstance(params.get("deleteTranscript"), bool) else True
    removed: dict[str, Any] = {}

    def mutate(store: Any) -> bool:
        store_key = srpc.promote_canonical(store, target)
        entry = store.peek(store_key)
        if entry is None:
            store.cancel_save()
            return False
        removed["entry"] = _entry_copy(entry)
        del store[store_key]
        return True

    deleted = await call.mutate(target.store_path, mutate, maintenance=_maintenance())
    archived: list[str] = []
    if deleted and delete_transcript:
        archived = await call.run_blocking(srpc.archive_transcript, removed.get("entry"),
                                           Path(target.store_path).parent, target.agent_id, "deleted")
    if deleted:
        call.emit_sessions_changed({"sessionKey": target.canonical_key, "reason": "delete"})
    return {"ok": True, "key": target.canonical_key, "deleted": deleted, "archived": archived}


async def _unless_disconnected(call: MethodCall, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, cancel=token, **kwargs)`` off the loop; if the client goes away
    first, the token is set: the job stops unless its write has started (then it
    completes). Either way the job's writer is left free for the next request."""
    import asyncio

    from openclaw_core.base.cancel import CancelToken

    token = CancelToken()
    job = asyncio.ensure_future(call.run_blocking(fn, *args, cancel=token, **kwargs))
    closed = asyncio.ensure_future(call.client.ws.wait_closed())
    try:
        await asyncio.wait({job, closed}, return_when=asyncio.FIRST_COMPLETED)
        if not job.done() and token.cancel():
            call.gateway.log(f"[gateway] {call.method} cancelled: its client disconnected before the write")
        return await job
    finally:
        closed.cancel()


async def sessions_cleanup(call: MethodCall) -> dict[str, Any]:
    params = call.params
    try:
        from openclaw_core.services.cleanup import run_cleanup
    except ImportError:
        raise MethodError("sessions.cleanup is not available in this build", code=ErrorCodes.UNAVAILABLE) from None
    config = call.config
    try:
        result = await _unless_disconnected(
            call, run_cleanup, config, agent=params.get("agent"), all_agents=params.get("allAgents") is True,
            enforce=params.get("enforce") is True, dry_run=False, active_key=params.get("activeKey"),
            fix_missing=params.get("fixMissing") is True, hooks=call.gateway.hooks)
    except MethodError:
        raise
    except Exception as exc:  # the reference answers every failure as INVALID_REQUEST with its message
        message = getattr(exc, "message", None) or str(exc)
        raise MethodError(message) from None
    stores = result.get("stores") if isinstance(result, dict) and "stores" in result else [result]
    for _ in stores:
        call.emit_sessions_changed({"reason": "cleanup"})
    return result


def sessions_subscribe(call: MethodCall) -> dict[str, Any]:
    call.client.subscribed = True
    return {"subscribed": True}


def sessions_unsubscribe(call: MethodCall) -> dict[str, Any]:
    call.client.subscribed = False
    return {"subscribed": False}


# --- agents ------------------------------------------------------------------------------------------------

def agents_list(call: MethodCall) -> dict[str, Any]:
    config = call.config
    agents = []
    configured = {keys.normalize_agent_id(a.get("id") if isinstance(a.get("id"), str) else None): a
                  for a in config.agents_list()}
    # The reference's order: the default, then the rest in localeCompare order; only the
    # configured ones when any are (agent dirs on disk alone are not listed then).
    explicit = {keys.normalize_agent_id(a["id"]) for a in config.agents_list()
                if isinstance(a.get("id"), str) and a["id"]}
    allowed = explicit | {config.default_agent_id()} if explicit else None
    ids = [a for a in srpc.agent_ids_for_listing(config) if allowed is None or a in allowed]
    if config.main_key not in ids and (allowed is None or config.main_key in allowed):
        ids.append(config.main_key)
    for agent_id in ids:
        summary: dict[str, Any] = {"id": agent_id}
        agent = configured.get(agent_id, {})
        name = agent.get("name")
        if isinstance(name, str) and js_trim(name):
            summary["name"] = js_trim(name)
        identity = agent.get("identity")
        if isinstance(identity, dict):
            cleaned = {k: v for k, v in identity.items()
                       if k in ("name", "theme", "emoji", "avatar", "avatarUrl") and isinstance(v, str) and v}
            if cleaned:
                summary["identity"] = cleaned
        workspace = agent.get("workspace")
        if isinstance(workspace, str) and js_trim(workspace):
            from openclaw_core.config.paths import expand_user_path

            summary["workspace"] = str(expand_user_path(workspace, config.env))
        model = agent.get("model")
        if isinstance(model, str) and js_trim(model):
            summary["model"] = {"primary": js_trim(model)}
        elif isinstance(model, dict) and isinstance(model.get("primary"), str):
            summary["model"] = {"primary": model["primary"]}
        summary["agentRuntime"] = {"id": "pi", "source": "implicit"}
        agents.append(summary)
    return {"defaultId": config.default_agent_id(), "mainKey": config.main_key,
            "scope": "global" if config.get("session.scope") == "global" else "per-sender", "agents": agents}


async def agents_delete(call: MethodCall) -> dict[str, Any]:
    params = call.params
    agent_id = keys.normalize_agent_id(params["agentId"])
    if agent_id == keys.DEFAULT_AGENT_ID:
        raise MethodError(f'"{keys.DEFAULT_AGENT_ID}" cannot be deleted')
    config = call.config
    if config.find_agent(agent_id) is None:
        raise MethodError(f'agent "{agent_id}" not found')
    delete_files = params.get("deleteFiles") if isinstance(params.get("deleteFiles"), bool) else True
    from openclaw_core.services.agent_delete import delete_agent

    try:
        # Config rewrite, session purge (through the store's writer), then the trash; off the loop.
        result = await _unless_disconnected(call, delete_agent, config, agent_id, delete_files=delete_files,
                                            hooks=call.gateway.hooks)
    except Exception as exc:  # noqa: BLE001 - a refusal of the service is the caller's error
        raise MethodError(getattr(exc, "message", None) or str(exc)) from None
    # No sessions.changed: the reference sends none for an agent's purge.
    return result.gateway_payload()


def builtin_methods() -> list[GatewayMethod]:
    return [
        *health_methods(), *status_methods(), *logs_methods(),  # the real CLI's everyday commands
        *config_methods(), *agents_methods(),
        GatewayMethod("agents.list", agents_list, scope=READ_SCOPE, params=EMPTY),
        GatewayMethod("agents.delete", agents_delete, scope=ADMIN_SCOPE, params=AGENTS_DELETE),
        GatewayMethod("sessions.list", sessions_list, scope=READ_SCOPE, params=SESSIONS_LIST),
        GatewayMethod("sessions.subscribe", sessions_subscribe, scope=READ_SCOPE),
        GatewayMethod("sessions.unsubscribe", sessions_unsubscribe, scope=READ_SCOPE),
        GatewayMethod("sessions.patch", sessions_patch, scope=ADMIN_SCOPE, params=SESSIONS_PATCH),
        GatewayMethod("sessions.cleanup", sessions_cleanup, scope=ADMIN_SCOPE, params=SESSIONS_CLEANUP),
        GatewayMethod("sessions.reset", sessions_reset, scope=ADMIN_SCOPE, params=SESSIONS_RESET),
        GatewayMethod("sessions.delete", sessions_delete, scope=ADMIN_SCOPE, params=SESSIONS_DELETE),
        *sessions_read.methods(),
    ]
