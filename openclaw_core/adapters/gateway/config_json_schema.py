"""The strict config as a JSON schema (draft-07), for ``config.schema`` and
``config.schema.lookup``: generated from the key tables of
:mod:`openclaw_core.config.schema` (their one home), so what the schema
describes is what the check accepts.

An object whose keys the check knows gets ``properties`` (one per known key,
in the reference's order) and ``additionalProperties: false``; a section the
check does not look into stays open (``{}``, anything). The few leaves the
check types (``session.scope``, ``gateway.port`` ...) say their type. Plugin
sections (``openclaw_config_sections``) are added where they are declared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from openclaw_core.config import schema as cs
from openclaw_core.config.fields import MAINTENANCE_KEYS

_INT = {"type": "integer", "exclusiveMinimum": 0, "maximum": 9007199254740991}
_STRING_OR_NUMBER = {"anyOf": [{"type": "string"}, {"type": "number"}]}


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


#: The objects the check refuses unknown keys in: dotted path (``*`` = any list item) -> known keys.
STRICT_OBJECTS: dict[str, tuple[str, ...]] = {
    "": cs.ROOT_KEYS,
    "agents": cs.AGENTS_KEYS,
    "agents.defaults": cs.AGENT_DEFAULTS_KEYS,
    "agents.list.*": cs.AGENT_KEYS,
    "session": cs.SESSION_KEYS + cs.SESSION_CORE_KEYS,
    "session.maintenance": MAINTENANCE_KEYS,
    "gateway": cs.GATEWAY_KEYS,
    "gateway.auth": cs.GATEWAY_AUTH_KEYS,
    "gateway.remote": cs.GATEWAY_REMOTE_KEYS,
    "plugins": cs.PLUGINS_KEYS,
}
#: Lists of objects among them.
ARRAYS = ("agents.list",)
#: The leaves the check types (config_schema.check_* and config.validate_maintenance).
LEAVES: dict[str, dict[str, Any]] = {
    "agents.list.*.id": {"type": "string"},
    "agents.list.*.default": {"type": "boolean"},
    "agents.list.*.name": {"type": "string"},
    "agents.list.*.workspace": {"type": "string"},
    "agents.list.*.agentDir": {"type": "string"},
    "session.scope": _enum(*cs.SCOPES),
    "session.store": {"type": "string"},
    "session.mainKey": {"type": "string"},
    "session.backend": {"type": "string", "minLength": 1},
    "session.maintenance.mode": _enum("enforce", "warn"),
    "session.maintenance.pruneAfter": _STRING_OR_NUMBER,
    "session.maintenance.pruneDays": _INT,
    "session.maintenance.maxEntries": _INT,
    "session.maintenance.rotateBytes": _STRING_OR_NUMBER,
    "session.maintenance.resetArchiveRetention": {"anyOf": [{"type": "string"}, {"type": "number"},
                                                            {"type": "boolean", "const": False}]},
    "session.maintenance.maxDiskBytes": _STRING_OR_NUMBER,
    "session.maintenance.highWaterBytes": _STRING_OR_NUMBER,
    "gateway.port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "gateway.mode": _enum(*cs.GATEWAY_MODES),
    "gateway.bind": _enum(*cs.GATEWAY_BINDS),
    "gateway.customBindHost": {"type": "string"},
    "gateway.auth.token": {"type": "string"},
    "gateway.remote.url": {"type": "string"},
}


def _node(path: str, sections: Mapping[str, cs.ConfigSection]) -> dict[str, Any]:
    if path in ARRAYS:
        return {"type": "array", "items": _node(f"{path}.*", sections)}
    known = STRICT_OBJECTS.get(path)
    declared = sections.get(path)
    if known is None and declared is not None:
        known = declared.keys
    children = [name for dotted in sections for parent, _, name in [dotted.rpartition(".")]
                if parent == path and name]
    if known is None and not children:
        return dict(LEAVES.get(path, {}))
    properties: dict[str, Any] = {}
    for name in [*(known or ()), *(c for c in children if c not in (known or ()))]:
        child = f"{path}.{name}" if path else name
        properties[name] = _node(child, sections)
    node: dict[str, Any] = {"type": "object", "properties": properties}
    if known is not None:
        node["additionalProperties"] = False
    return node


def config_json_schema(sections: Mapping[str, cs.ConfigSection]) -> dict[str, Any]:
    """The whole schema, with the plugins' declared ``sections``."""
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", **_node("", sections)}
    schema["title"] = "OpenClawConfig"
    return schema


def sensitive_hints(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``uiHints`` marking every secret-holding path the schema names (the redaction rule's)."""
    from openclaw_core.adapters.gateway.redact import is_sensitive_key

    hints: dict[str, dict[str, Any]] = {}

    def walk(node: Mapping[str, Any], path: str) -> None:
        if node.get("type") == "array" and isinstance(node.get("items"), Mapping):
            walk(node["items"], f"{path}.*")
        for name, child in (node.get("properties") or {}).items():
            where = f"{path}.{name}" if path else name
            if is_sensitive_key(name):
                hints[where] = {"sensitive": True}
            walk(child, where)

    walk(schema, "")
    return hints


_SEGMENT = re.compile(r"[^.\[\]]+")


def lookup(schema: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """One node of ``schema`` at a dotted path (``a.b``, ``a[0]``, ``a.*``) and its
    direct children, or None when the schema has no such path."""
    parts = _SEGMENT.findall(path)
    if not parts:
        return None
    node: Mapping[str, Any] = schema
    resolved: list[str] = []
    for part in parts:
        if node.get("type") == "array" and (part == "*" or part.isdigit()):
            node = node.get("items") or {}
            resolved.append("*")
            continue
        properties = node.get("properties") or {}
        if part not in properties:
            return None
        node = properties[part]
        resolved.append(part)
    where = ".".join(resolved)
    children = []
    if node.get("type") == "array":
        items = node.get("items") or {}
        children.append(_child("*", f"{where}.*", items))
    for name, child in (node.get("properties") or {}).items():
        children.append(_child(name, f"{where}.{name}", child))
    shown = {k: v for k, v in node.items() if k not in ("properties", "items")}
    return {"path": where, "schema": shown, "children": children}


def _child(key: str, path: str, node: Mapping[str, Any]) -> dict[str, Any]:
    child: dict[str, Any] = {"key": key, "path": path}
    if isinstance(node.get("type"), str):
        child["type"] = node["type"]
    child["required"] = False  # no key of the config is required
    child["hasChildren"] = bool(node.get("properties")) or node.get("type") == "array"
    return child
