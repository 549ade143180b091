"""Normalisation of the Gateway's operator answers (health, status, presence,
logs...) and of the real CLI's output about them, so that a run of OpenClaw's
Gateway and a run of ours on identical state copies compare equal: ids, times,
paths, ports, pids and the event loop's measurements become placeholders.
Used by tests/test_gateway_interop_ops.py, tests/test_gateway_ops_methods.py and
to write tests/fixtures/gateway-ops/."""

from __future__ import annotations

import re
from typing import Any

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REF_LOG = re.compile(r"/tmp/openclaw/openclaw-\d{4}-\d{2}-\d{2}\.log")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
MS = re.compile(r"\b\d+ms\b")
AGO = re.compile(r"\b\d+(?:\.\d+)?[smhd] ago\b")  # "(1440m ago)": ages in the CLI's text
# Keys whose values are times, durations, sizes or offsets of a live process.
TIME_KEYS = frozenset({
    "ts", "updatedAt", "age", "durationMs", "generatedAt", "refreshedAt", "issuedAtMs", "latencyMs",
    "intervalMs", "cursor", "size", "uptimeMs", "ageMs", "lastUpdatedAt", "lastActiveAgeMs", "lastSeenAt",
    "pid", "ppid", "signedAt", "connectLatencyMs"})
# Whole subtrees that depend on the machine or the network, not on the Gateway.
OPAQUE_KEYS = frozenset({"eventLoop", "registry", "listeners", "update"})
VERSION_KEYS = frozenset({"runtimeVersion"})


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def norm_text(text: str, home: str, ports: tuple[int, ...] = ()) -> str:
    text = text.replace(home, "$HOME")
    text = REF_LOG.sub("$LOGFILE", text).replace("$HOME/.openclaw/logs/core-gateway.log", "$LOGFILE")
    for port in ports:
        text = re.sub(rf"(?<=[:= ]){port}\b", "$PORT", text)
    text = UUID.sub("<uuid>", text)
    text = ISO.sub("<time>", text)
    return AGO.sub("<n> ago", MS.sub("<n>ms", text))


def normalise(value: Any, home: str, ports: tuple[int, ...] = (), key: str | None = None) -> Any:
    if key in OPAQUE_KEYS and isinstance(value, dict):
        return _shape(value) if key == "eventLoop" else "<opaque>"
    if key in TIME_KEYS and value is not None and not isinstance(value, (dict, list, bool)):
        return "<n>"
    if key in VERSION_KEYS and isinstance(value, str):
        return "<version>"
    if key == "port" and isinstance(value, int) and value in ports:
        return "$PORT"
    if key in ("command", "commandLine") and isinstance(value, str):
        return "<process>"
    if isinstance(value, dict):
        return {k: normalise(v, home, ports, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, home, ports) for v in value]
    if isinstance(value, str):
        return norm_text(value, home, ports)
    return value


def gateway_self(entry: dict[str, Any]) -> dict[str, Any]:
    """A presence list's own entry without what names the build (version) and the host."""
    out = dict(entry)
    for name in ("version", "text", "host", "ip", "platform", "deviceFamily", "modelIdentifier"):
        out.pop(name, None)
    return out
