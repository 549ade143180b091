"""Config paths as ``openclaw config get|set|unset`` take them: dots and brackets
(``agents.list[1].id``, ``agents.list.1.id``, ``session["maintenance"].mode``),
and reading, setting and removing the value a path names in plain config data.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from openclaw_core.base.errors import ConfigError
from openclaw_core.js.values import js_trim

_MISSING = object()
# one segment: a bare name up to the next "." or "[", or a bracketed index or quoted key
_SEGMENT = re.compile(r"""\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\['((?:[^'\\]|\\.)*)'\]|([^.\[]*)""")


def parse(path: str) -> list[str]:
    """The segments of ``path``; an empty one (``a..b``) stays, so it names nothing."""
    if not js_trim(path):
        raise ConfigError("Error: Path is empty.")
    segments: list[str] = []
    pos = 0
    while True:
        match = _SEGMENT.match(path, pos)
        assert match is not None  # the last alternative matches the empty string
        index, dq, sq, bare = match.groups()
        if index is not None:
            segments.append(index)
        elif dq is not None or sq is not None:
            segments.append(re.sub(r"\\(.)", r"\1", dq if dq is not None else sq))
        else:
            segments.append(bare)
        pos = match.end()
        if pos >= len(path):
            return segments
        if path[pos] == ".":
            pos += 1
            if pos == len(path):
                segments.append("")
                return segments
        elif path[pos] != "[":
            raise ConfigError(f"Error: Invalid path: {path}")


def dotted(segments: list[str]) -> str:
    return ".".join(segments)


def _child(node: Any, segment: str) -> Any:
    if isinstance(node, Mapping):
        return node.get(segment, _MISSING)
    if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
        return node[int(segment)]
    return _MISSING


def get(data: Mapping[str, Any], segments: list[str]) -> Any:
    """The value at ``segments``, or :data:`_MISSING`."""
    node: Any = data
    for segment in segments:
        node = _child(node, segment)
        if node is _MISSING:
            return _MISSING
    return node


def found(value: Any) -> bool:
    return value is not _MISSING


def with_value(data: Mapping[str, Any], segments: list[str], value: Any, shown: str) -> dict[str, Any]:
    """A copy of ``data`` with ``value`` at ``segments`` (missing objects on the way made)."""
    out = copy.deepcopy(dict(data))
    node: Any = out
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        if isinstance(node, dict):
            if last:
                node[segment] = value
            else:
                if segment not in node:
                    node[segment] = {}
                node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) <= len(node):
            index = int(segment)
            if last:
                if index == len(node):
                    node.append(value)
                else:
                    node[index] = value
            else:
                if index == len(node):
                    node.append({})
                node = node[index]
        else:
            where = dotted(segments[:depth]) or "<root>"
            raise ConfigError(f"Error: Cannot set {shown}: {where} is not an object")
    return out


def without(data: Mapping[str, Any], segments: list[str]) -> dict[str, Any] | None:
    """A copy of ``data`` without the value at ``segments``; None when there is none."""
    out = copy.deepcopy(dict(data))
    parent = get(out, segments[:-1])
    last = segments[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
        return out
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
        return out
    return None
