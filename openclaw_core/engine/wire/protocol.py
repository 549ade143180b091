"""Protocol versions 3 and 4 on the wire: negotiation, limits, frame and params schemas, error shapes.

Schemas are small dicts checked by :func:`validate`, which reports problems in
the wording OpenClaw's validator uses (``at root: unexpected property 'x'``,
``at /limit: must be >= 1``), because clients show those messages verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROTOCOL_VERSION = 4                       # the newest we speak (the later OpenClaw's)
PROTOCOL_VERSIONS = (3, 4)                 # every version served; 3 is OpenClaw 2026.5.4's
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024      # policy.maxPayload after hello-ok
MAX_BUFFERED_BYTES = 50 * 1024 * 1024     # policy.maxBufferedBytes
PREAUTH_MAX_BYTES = 64 * 1024             # any frame before a successful connect
PREAUTH_TIMEOUT_S = 15.0                  # connect must complete within this
TICK_INTERVAL_MS = 30_000

# Close codes the server uses.
CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
CLOSE_SERVICE_RESTART = 1012

READ_SCOPE = "operator.read"
WRITE_SCOPE = "operator.write"
ADMIN_SCOPE = "operator.admin"


class ErrorCodes:
    NOT_LINKED = "NOT_LINKED"
    NOT_PAIRED = "NOT_PAIRED"
    AGENT_TIMEOUT = "AGENT_TIMEOUT"
    INVALID_REQUEST = "INVALID_REQUEST"
    APPROVAL_NOT_FOUND = "APPROVAL_NOT_FOUND"
    UNAVAILABLE = "UNAVAILABLE"


def negotiate(min_protocol: int, max_protocol: int) -> int | None:
    """The highest version in the client's ``min..max`` range that we serve, or None."""
    common = [v for v in PROTOCOL_VERSIONS if min_protocol <= v <= max_protocol]
    return max(common) if common else None


def protocol_mismatch(min_protocol: int, max_protocol: int) -> dict[str, Any]:
    """The refusal of a range we do not serve, in the later OpenClaw's shape (recorded from
    2026.9.6): it echoes the client's range and keeps 2026.5.4's ``expectedProtocol``, now
    the newest version, beside the oldest one still served."""
    return error_shape(ErrorCodes.INVALID_REQUEST, "protocol mismatch", details={
        "code": "PROTOCOL_MISMATCH", "clientMinProtocol": min_protocol, "clientMaxProtocol": max_protocol,
        "expectedProtocol": PROTOCOL_VERSION, "minimumProbeProtocol": PROTOCOL_VERSIONS[0]})


def error_shape(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """``{code, message, details?, retryable?, retryAfterMs?}``."""
    shape: dict[str, Any] = {"code": code, "message": message}
    for key, value in extra.items():
        if value is not None:
            shape[key] = value
    return shape


# --- schemas -------------------------------------------------------------------------
# A schema is a dict: {"type": "object"|"string"|"integer"|"number"|"boolean"|"array"|"null"|"any",
# "props": {...}, "required": [...], "additional": bool, "values": schema (records),
# "items": schema, "minLength", "maxLength", "minimum", "maximum", "const", "anyOf": [schemas]}.

def S(**kw: Any) -> dict[str, Any]:  # noqa: N802 - reads like a schema literal
    return kw


NON_EMPTY = S(type="string", minLength=1)
STRING = S(type="string")
BOOL = S(type="boolean")
LABEL = S(type="string", minLength=1, maxLength=512)


def obj(props: Mapping[str, Any], required: tuple[str, ...] = (), *, additional: bool = False) -> dict[str, Any]:
    return S(type="object", props=dict(props), required=list(required), additional=additional)


def one_of_literals(*values: str, nullable: bool = False) -> dict[str, Any]:
    options: list[dict[str, Any]] = [S(type="string", const=v) for v in values]
    if nullable:
        options.append(S(type="null"))
    return S(anyOf=options)


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return S(anyOf=[schema, S(type="null")])


REQUEST_FRAME = obj({"type": S(type="string", const="req"), "id": NON_EMPTY, "method": NON_EMPTY,
                     "params": S(type="any")}, ("type", "id", "method"))

CLIENT_IDS = ("cli", "gateway-client", "openclaw-control-ui", "webchat-ui", "webchat", "openclaw-tui",
              "openclaw-macos", "openclaw-ios", "openclaw-android", "node-host", "test", "fingerprint",
              "openclaw-probe")
CLIENT_MODES = ("cli", "backend", "ui", "webchat", "node", "probe", "test")

CONNECT_PARAMS = obj({
    "minProtocol": S(type="integer", minimum=1),
    "maxProtocol": S(type="integer", minimum=1),
    "client": obj({
        "id": S(anyOf=[S(type="string", const=v) for v in CLIENT_IDS]),
        "displayName": NON_EMPTY,
        "version": NON_EMPTY,
        "platform": NON_EMPTY,
        "deviceFamily": NON_EMPTY,
        "modelIdentifier": NON_EMPTY,
        "mode": S(anyOf=[S(type="string", const=v) for v in CLIENT_MODES]),
        "instanceId": NON_EMPTY,
    }, ("id", "version", "platform", "mode")),
    "caps": S(type="array", items=NON_EMPTY),
    "commands": S(type="array", items=NON_EMPTY),
    "permissions": S(type="object", values=BOOL),
    "pathEnv": STRING,
    "role": NON_EMPTY,
    "scopes": S(type="array", items=NON_EMPTY),
    "device": obj({"id": NON_EMPTY, "publicKey": NON_EMPTY, "signature": NON_EMPTY,
                   "signedAt": S(type="integer", minimum=0), "nonce": NON_EMPTY},
                  ("id", "publicKey", "signature", "signedAt", "nonce")),
    "auth": obj({"token": STRING, "bootstrapToken": STRING, "deviceToken": STRING, "password": STRING}),
    "locale": STRING,
    "userAgent": STRING,
}, ("minProtocol", "maxProtocol", "client"))


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise ValueError(f"unknown schema type {kind}")


def _js_length(text: str) -> int:
    # JSON Schema counts code points (ajv uses ucs2length): same as len() for str.
    return len(text)


def _check(value: Any, schema: Mapping[str, Any], path: str, errors: list[tuple[str, str, str | None]]) -> None:
    """Append (instancePath, message, additionalProperty) tuples, ajv-style, all errors."""
    if "anyOf" in schema:
        sub: list[tuple[str, str, str | None]] = []
        for option in schema["anyOf"]:
            attempt: list[tuple[str, str, str | None]] = []
            _check(value, option, path, attempt)
            if not attempt:
                return
            sub.extend(attempt)
        errors.extend(sub)
        errors.append((path, "must match a schema in anyOf", None))
        return
    kind = schema.get("type", "any")
    if not _type_ok(value, kind):
        errors.append((path, f"must be {kind}", None))
        return
    if "const" in schema and value != schema["const"]:
        errors.append((path, "must be equal to constant", None))
    if kind == "string":
        if "minLength" in schema and _js_length(value) < schema["minLength"]:
            n = schema["minLength"]
            errors.append((path, f"must NOT have fewer than {n} character{'s' if n != 1 else ''}", None))
        if "maxLength" in schema and _js_length(value) > schema["maxLength"]:
            n = schema["maxLength"]
            errors.append((path, f"must NOT have more than {n} character{'s' if n != 1 else ''}", None))
    elif kind in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append((path, f"must be >= {schema['minimum']}", None))
        if "maximum" in schema and value > schema["maximum"]:
            errors.append((path, f"must be <= {schema['maximum']}", None))
    elif kind == "array":
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append((path, f"must NOT have fewer than {schema['minItems']} items", None))
        items = schema.get("items")
        if items is not None:
            for i, item in enumerate(value):
                _check(item, items, f"{path}/{i}", errors)
    elif kind == "object":
        props: Mapping[str, Any] = schema.get("props", {})
        for name in schema.get("required", ()):
            if name not in value:
                errors.append((path, f"must have required property '{name}'", None))
        if "values" in schema:
            for key, item in value.items():
                _check(item, schema["values"], f"{path}/{_pointer(key)}", errors)
            return
        if not schema.get("additional", True) and props:
            for key in value:
                if key not in props:
                    errors.append((path, "", key))
        elif not schema.get("additional", True):
            for key in value:
                errors.append((path, "", key))
        for name, sub_schema in props.items():
            if name in value:
                _check(value[name], sub_schema, f"{path}/{_pointer(name)}", errors)


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def validate(value: Any, schema: Mapping[str, Any]) -> str | None:
    """None when ``value`` fits ``schema``, else the problems joined by ``; ``."""
    errors: list[tuple[str, str, str | None]] = []
    _check(value, schema, "", errors)
    if not errors:
        return None
    parts: list[str] = []
    for path, message, extra in errors:
        if extra is not None:
            part = f"{'at ' + path if path else 'at root'}: unexpected property '{extra}'"
        else:
            part = f"at {path}: {message}" if path else message
        if part not in parts:
            parts.append(part)
    return "; ".join(parts)
