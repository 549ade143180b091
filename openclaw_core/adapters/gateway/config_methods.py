"""``config.*`` over the Gateway: read the config file (redacted), its schema,
and change it.

Every write goes through the one config writer (:mod:`openclaw_core.config.edit`:
the cross-process lock, strict validation first, TOML edited in place, JSON
as OpenClaw writes it). A write names the config it was computed from
(``baseHash``, the SHA-256 of the file's bytes that ``config.get`` gave); the
check happens under the lock, so two clients cannot both win. Values the
client got as the redaction marker are put back from the file before the
new config is validated, so a ``config.get`` -> edit -> ``config.set`` round
trip keeps the secrets it never saw.

Scopes are the reference's: ``config.get`` and ``config.schema.lookup`` need
``operator.read``; everything else under ``config.`` is admin.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
import weakref
from collections.abc import Mapping
from typing import Any

from openclaw_core.config import edit as config_edit

from openclaw_core.base import regular_file
from openclaw_core.base.atomic import write_private
from openclaw_core.config.model import Config, parse_config_text, substitute_env
from openclaw_core.adapters.gateway.config_merge import RedactedValueError, changed_paths, merge_patch, restore_redacted
from openclaw_core.base.errors import ConfigError, OpenClawError
from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodCall, MethodError
from openclaw_core.engine.wire.protocol import (
    ADMIN_SCOPE,
    NON_EMPTY,
    READ_SCOPE,
    STRING,
    S,
    ErrorCodes,
    obj,
    validate,
)
from openclaw_core.adapters.gateway.redact import redact
from openclaw_core.js.values import js_trim

# --- params (the reference's schemas, unknown properties rejected) ---------------------------

EMPTY = obj({})
CONFIG_SET = obj({"raw": NON_EMPTY, "baseHash": NON_EMPTY}, ("raw",))
CONFIG_APPLY_LIKE = obj({
    "raw": NON_EMPTY, "baseHash": NON_EMPTY, "sessionKey": STRING,
    "deliveryContext": obj({"channel": STRING, "to": STRING, "accountId": STRING,
                            "threadId": S(anyOf=[STRING, S(type="number")])}),
    "note": STRING, "restartDelayMs": S(type="integer", minimum=0),
}, ("raw",))
SCHEMA_LOOKUP = obj({"path": S(type="string", minLength=1, maxLength=1024)}, ("path",))
_LOOKUP_PATH = re.compile(r"^[A-Za-z0-9_./\[\]\-*]+$")

# config.patch and config.apply may run 3 times a minute per device (and address), as in the reference.
CONTROL_PLANE_MAX = 3
CONTROL_PLANE_WINDOW_MS = 60_000
CONTROL_PLANE_MAX_BUCKETS = 10_000
# A write that shrinks a config of at least this many bytes to under half its size is refused.
SIZE_DROP_MIN_BYTES = 512
DOCTOR_HINT = "Run: openclaw doctor --non-interactive"


def _now_ms() -> int:
    return int(time.time() * 1000)


def config_hash(raw: bytes | None) -> str | None:
    return hashlib.sha256(raw).hexdigest() if raw is not None else None


def _read_raw(config: Config) -> bytes | None:
    try:
        return regular_file.read_bytes(config.path)  # a FIFO put there must not hang the Gateway
    except FileNotFoundError:
        return None
    except OSError:
        return b""


# --- config.get -------------------------------------------------------------------------------

def runtime_view(data: Mapping[str, Any], config: Config) -> dict[str, Any]:
    """The config as the reference's runtime sees it: ``${VAR}`` substituted, the defaults it
    fills in (recorded from 2026.5.4's ``config.get``), agent paths with ``~`` expanded."""
    from openclaw_core.config.paths import expand_user_path

    out = substitute_env(copy.deepcopy(dict(data)), config.env)
    agents = out.setdefault("agents", {}) if isinstance(out.get("agents", {}), dict) else None
    if agents is not None:
        defaults = agents.setdefault("defaults", {})
        if isinstance(defaults, dict):
            defaults.setdefault("maxConcurrent", 4)
            subagents = defaults.setdefault("subagents", {})
            if isinstance(subagents, dict):
                subagents.setdefault("maxConcurrent", 8)
        for entry in agents.get("list") or []:
            if isinstance(entry, dict):
                for key in ("workspace", "agentDir"):
                    if isinstance(entry.get(key), str) and js_trim(entry[key]):
                        entry[key] = str(expand_user_path(js_trim(entry[key]), config.env))
    commands = out.setdefault("commands", {})
    if isinstance(commands, dict):
        for key, value in (("native", "auto"), ("nativeSkills", "auto"), ("restart", True),
                           ("ownerDisplay", "raw")):
            commands.setdefault(key, value)
    messages = out.setdefault("messages", {})
    if isinstance(messages, dict):
        messages.setdefault("ackReactionScope", "group-mentions")
    return out


def _issues(problems: list[str]) -> list[dict[str, str]]:
    out = []
    for problem in problems:
        path, sep, message = problem.partition(": ")
        out.append({"path": "" if path == "<root>" else path, "message": message} if sep
                   else {"path": "", "message": problem})
    return out


def snapshot(config: Config) -> dict[str, Any]:
    """``config.get``'s payload: the file as parsed, resolved and as the runtime sees it,
    every secret replaced by the marker. ``raw`` (the file's text) is never sent: a text
    cannot be redacted as surely as a parsed value (see docs/differences.md)."""
    raw = _read_raw(config)
    payload: dict[str, Any] = {"path": str(config.path), "exists": raw is not None, "raw": None}
    parsed: dict[str, Any] | None = None
    problems: list[str] = []
    if raw is None:
        parsed = {}
    else:
        try:
            parsed = parse_config_text(raw.decode("utf-8"), config.format, config.path, config.env)
        except (ConfigError, UnicodeDecodeError) as exc:
            problems = list(getattr(exc, "problems", None) or [f"<root>: {str(exc).splitlines()[-1]}"])
        else:
            from openclaw_core.config.model import validate_config

            problems = list(validate_config(parsed, config.sections))
    if problems or parsed is None:
        payload.update(parsed=None, sourceConfig={}, resolved={}, valid=False, runtimeConfig={}, config={})
    else:
        resolved = redact(substitute_env(parsed, config.env))
        runtime = redact(runtime_view(parsed, config))
        payload.update(parsed=redact(parsed), sourceConfig=resolved, resolved=resolved, valid=True,
                       runtimeConfig=runtime, config=runtime)
    payload.update(hash=config_hash(raw), issues=_issues(problems), warnings=[], legacyIssues=[])
    return payload


def config_get(call: MethodCall) -> dict[str, Any]:
    payload = snapshot(call.config)
    if call.client.protocol_version >= 4:
        payload = v4_snapshot(payload)
    return payload


def v4_snapshot(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The later Gateway's (2026.9.6, protocol 4) shape: ``$include`` provenance (we have no
    includes: empty) and the revision hashes beside ``hash`` (ours are all the file's SHA-256;
    the later one's are HMACs, opaque to clients: a base hash is only ever echoed back)."""
    out: dict[str, Any] = {"path": payload["path"], "includedPaths": [], "includeProvenance": [],
                           "agentRosterIncludeOwned": False, "bindingsIncludeOwned": False}
    out.update((k, v) for k, v in payload.items() if k != "path")
    out["configRevisionHash"] = out["appliedConfigHash"] = payload["hash"]
    return out


# --- config.schema, config.schema.lookup -----------------------------------------------------

def _schema_payload(call: MethodCall) -> dict[str, Any]:
    from openclaw_core import __version__
    from openclaw_core.adapters.gateway.config_json_schema import config_json_schema, sensitive_hints

    schema = config_json_schema(_sections(call))
    return {"schema": schema, "uiHints": sensitive_hints(schema), "version": __version__,
            "generatedAt": _GENERATED_AT}


def _sections(call: MethodCall) -> Any:
    """The plugins' config sections (the one reading of them: config.schema's)."""
    from openclaw_core.config.schema import declared_sections

    return declared_sections(call.gateway.hooks)


# The schema is a function of the code (and plugins): stamped with the time it was first built.
_GENERATED_AT = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def config_schema(call: MethodCall) -> dict[str, Any]:
    return _schema_payload(call)


def config_schema_lookup(call: MethodCall) -> dict[str, Any]:
    from openclaw_core.adapters.gateway.config_json_schema import lookup

    path = call.params["path"]
    if not _LOOKUP_PATH.match(path):
        raise MethodError(f"invalid config.schema.lookup params: at /path: must match pattern "
                          f"\"{_LOOKUP_PATH.pattern}\"")
    payload = _schema_payload(call)
    result = lookup(payload["schema"], path)
    if result is None:
        raise MethodError("config schema path not found")
    hint = payload["uiHints"].get(result["path"])
    if hint is not None:
        result = {"path": result["path"], "schema": result["schema"], "hint": hint, "hintPath": result["path"],
                  "children": result["children"]}
    for child in result["children"]:
        child_hint = payload["uiHints"].get(child["path"])
        if child_hint is not None:
            child["hint"] = child_hint
            child["hintPath"] = child["path"]
    return result


# --- writes -------------------------------------------------------------------------------------

class _Refused(Exception):
    def __init__(self, message: str, code: str = ErrorCodes.INVALID_REQUEST, details: Any = None) -> None:
        super().__init__(message)
        self.error = MethodError(message, code=code, details=details)


def _parse_raw(text: str) -> Any:
    import json5

    from openclaw_core.js.values import join_surrogate_pairs

    try:
        return join_surrogate_pairs(json5.loads(text))
    except (ValueError, RecursionError) as exc:
        raise _Refused(f"SyntaxError: JSON5: {exc}") from None


def _summary(problems: list[str]) -> str:
    shown = problems[:3]
    hidden = len(problems) - len(shown)
    more = f" (+{hidden} more issue{'s' if hidden != 1 else ''})" if hidden > 0 else ""
    return "invalid config: " + "; ".join(shown) + more


def _validated(config: Config, data: Any) -> dict[str, Any]:
    from openclaw_core.config.model import validate_config

    if not isinstance(data, dict):
        raise _Refused("invalid config: <root>: Invalid input: expected object")
    problems = list(validate_config(data, config.sections))
    if problems:
        raise _Refused(_summary(problems), details={"issues": _issues(problems)})
    return data


def _guard(config: Config, before: bytes | None, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """The reference's refusals of a suspicious write: a config of 512+ bytes shrunk to under
    half, or ``gateway.mode`` removed. Nothing is written (and no copy of the payload is kept)."""
    from openclaw_core.config.model import render_config

    reasons = []
    if before is not None:
        after = len(render_config(config_edit.stamp_meta(new) if config.format == "json" else new,
                                  config.format)[0].encode("utf-8"))
        if len(before) >= SIZE_DROP_MIN_BYTES and after < len(before) // 2:
            reasons.append(f"size-drop:{len(before)}->{after}")
        old_mode = old.get("gateway", {}).get("mode") if isinstance(old.get("gateway"), Mapping) else None
        new_mode = new.get("gateway", {}).get("mode") if isinstance(new.get("gateway"), Mapping) else None
        if old_mode and not new_mode:
            reasons.append("gateway-mode-removed")
    if reasons:
        raise _Refused(f"Error: Config write rejected: {config.path} ({', '.join(reasons)}).: "
                       "code=CONFIG_WRITE_REJECTED", code=ErrorCodes.UNAVAILABLE)


def _check_base(raw: bytes | None, base_hash: str | None) -> None:
    if raw is None:
        return  # no file yet: nothing to be stale against
    if not base_hash:
        raise _Refused("config base hash required; re-run config.get and retry")
    if base_hash != config_hash(raw):
        raise _Refused("config changed since last load; re-run config.get and retry")


def write_config(config: Config, base_hash: str | None, compute: Any, *, noop_ok: bool = False
                 ) -> tuple[dict[str, Any], bool, list[str]]:
    """Under the config's lock: check ``base_hash`` against the file, compute the new config
    from the current one (``compute(current_data) -> data``), validate, write. Returns
    ``(new data, written?, changed top-level paths)``; raises :class:`_Refused`."""
    try:
        with config_edit.editing(config) as current:
            raw = _read_raw(current)
            _check_base(raw, base_hash)
            new = _validated(current, compute(current.data))
            changed = changed_paths(current.data, new)
            if noop_ok and not changed:
                return new, False, changed
            _guard(current, raw, current.data, new)
            config_edit.write(current, new)
            written = current.data
    except RedactedValueError as exc:
        raise _Refused(str(exc)) from None
    except ConfigError as exc:
        if str(exc).startswith("Invalid config at"):
            # The file on disk does not parse or validate: the base hash is still checked first
            # (as the reference does), then nothing is written over a file we could not read.
            _check_base(_read_raw(config), base_hash)
            raise _Refused("invalid config; fix before patching" if noop_ok else
                           f"invalid config at {config.path}; fix the file before replacing it") from None
        raise _Refused(str(exc).splitlines()[0]) from None
    config.data = written
    return new, True, changed  # as computed: the answer shows no meta stamp the client did not send


_budgets: weakref.WeakKeyDictionary[Any, dict[str, list[int]]] = weakref.WeakKeyDictionary()


def _consume_budget(call: MethodCall) -> None:
    """3 ``config.patch``/``config.apply`` per 60 s per device and address, counted before
    anything else is looked at (as the reference counts them)."""
    buckets = _budgets.setdefault(call.gateway, {})
    device = call.client.device_id or "unknown-device"
    try:
        address = call.client.ws.remote_address[0]
    except (AttributeError, IndexError, TypeError):
        address = "unknown-ip"
    key = f"{device}|{address}"
    now = _now_ms()
    bucket = buckets.get(key)
    if bucket is None or now - bucket[1] >= CONTROL_PLANE_WINDOW_MS:
        if key not in buckets and len(buckets) >= CONTROL_PLANE_MAX_BUCKETS:
            buckets.pop(next(iter(buckets)))
        buckets[key] = [1, now]
        return
    if bucket[0] >= CONTROL_PLANE_MAX:
        retry = max(0, bucket[1] + CONTROL_PLANE_WINDOW_MS - now)
        call.gateway.log(f"[gateway] control-plane write rate-limited method={call.method} key={key} "
                         f"retryAfterMs={retry}")
        raise MethodError(f"rate limit exceeded for {call.method}; retry after {-(-retry // 1000)}s",
                          code=ErrorCodes.UNAVAILABLE, retryable=True,
                          details={"method": call.method, "limit": f"{CONTROL_PLANE_MAX} per 60s"}) from None
    bucket[0] += 1


def _check_params(call: MethodCall, schema: Mapping[str, Any]) -> None:
    problem = validate(call.params, schema)
    if problem is not None:
        raise MethodError(f"invalid {call.method} params: {problem}")


def _sentinel(call: MethodCall, kind: str, path: str) -> dict[str, Any]:
    """The restart notice the reference leaves in ``<stateDir>/restart-sentinel.json`` after
    ``config.patch``/``config.apply`` (read after a restart; ours re-reads the config without
    one, but the file is the same). ``path`` is null when it could not be written."""
    note = call.params.get("note")
    payload = {"kind": kind, "status": "ok", "ts": _now_ms(), "message": note if isinstance(note, str) else None,
               "doctorHint": DOCTOR_HINT, "stats": {"mode": call.method, "root": path}}
    target = call.config.state_dir / "restart-sentinel.json"
    try:
        write_private(target, json.dumps({"version": 1, "payload": payload}, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        call.gateway.log(f"[gateway] restart sentinel not written: {exc}")
        return {"path": None, "payload": payload}
    return {"path": str(target), "payload": payload}


async def _run_write(call: MethodCall, compute: Any, *, noop_ok: bool = False
                     ) -> tuple[dict[str, Any], bool, list[str]]:
    try:
        return await call.run_blocking(write_config, call.config, call.params.get("baseHash"), compute,
                                       noop_ok=noop_ok)
    except _Refused as refused:
        raise refused.error from None
    except OpenClawError as exc:
        raise MethodError(str(exc).splitlines()[0], code=ErrorCodes.UNAVAILABLE) from None


def _replacement(call: MethodCall) -> Any:
    raw = call.params.get("raw")
    if not isinstance(raw, str):
        raise MethodError(f"invalid {call.method} params: raw (string) required")

    def compute(current: Mapping[str, Any]) -> Any:
        parsed = _parse_raw(raw)
        if not isinstance(parsed, (dict, list)):
            raise _Refused("input not an object")
        return restore_redacted(parsed, current)

    return compute


def _answer(call: MethodCall, data: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {"ok": True, **extra, "path": str(call.config.path), "config": redact(runtime_view(data, call.config))}


async def config_set(call: MethodCall) -> dict[str, Any]:
    data, _, _ = await _run_write(call, _replacement(call))
    return _answer(call, data)


async def config_apply(call: MethodCall) -> dict[str, Any]:
    _consume_budget(call)
    _check_params(call, CONFIG_APPLY_LIKE)
    data, _, changed = await _run_write(call, _replacement(call))
    call.gateway.log(f"[gateway] config.apply write changedPaths={','.join(changed[:8])}")
    answer = _answer(call, data)
    answer["sentinel"] = _sentinel(call, "config-apply", answer["path"])
    return answer


async def config_patch(call: MethodCall) -> dict[str, Any]:
    _consume_budget(call)
    _check_params(call, CONFIG_APPLY_LIKE)
    raw = call.params.get("raw")

    def compute(current: Mapping[str, Any]) -> Any:
        patch = _parse_raw(raw)
        if not isinstance(patch, dict):
            raise _Refused("config.patch raw must be an object")
        return restore_redacted(merge_patch(copy.deepcopy(dict(current)), patch), current)

    data, written, changed = await _run_write(call, compute, noop_ok=True)
    if not written:
        call.gateway.log("[gateway] config.patch noop (no changed paths)")
        return {"ok": True, "noop": True, "path": str(call.config.path),
                "config": redact(runtime_view(data, call.config))}
    call.gateway.log(f"[gateway] config.patch write changedPaths={','.join(changed[:8])}")
    answer = _answer(call, data)
    answer["sentinel"] = _sentinel(call, "config-patch", answer["path"])
    return answer


def config_methods() -> list[GatewayMethod]:
    # config.patch/apply check their params themselves: the rate limit is counted first.
    return [
        GatewayMethod("config.get", config_get, scope=READ_SCOPE, params=EMPTY),
        GatewayMethod("config.schema", config_schema, scope=ADMIN_SCOPE, params=EMPTY),
        GatewayMethod("config.schema.lookup", config_schema_lookup, scope=READ_SCOPE, params=SCHEMA_LOOKUP),
        GatewayMethod("config.set", config_set, scope=ADMIN_SCOPE, params=CONFIG_SET),
        GatewayMethod("config.patch", config_patch, scope=ADMIN_SCOPE),
        GatewayMethod("config.apply", config_apply, scope=ADMIN_SCOPE),
    ]
