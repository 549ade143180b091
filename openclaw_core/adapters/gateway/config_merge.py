"""Computing a new config from the current one, as plain data: an RFC 7396 merge
patch with OpenClaw's rule for lists of objects (merged by ``id``), the
redaction markers a client sent back put back from the file, and which paths
changed. Used by the Gateway's ``config.*`` writes; writing is
:mod:`openclaw_core.config.edit`'s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from openclaw_core.adapters.gateway.redact import REDACTED


class RedactedValueError(ValueError):
    """A redaction marker where the current config has no value to put back."""


def restore_redacted(incoming: Any, original: Any, path: str = "") -> Any:
    """``incoming`` with every redaction marker replaced by the value at the same place in
    ``original`` (lists matched by index, or by ``id`` for lists of objects). A marker with
    nothing to restore is refused: it must never be written as a value."""
    if isinstance(incoming, str) and incoming == REDACTED:
        if original is None or isinstance(original, (dict, list)) or original == REDACTED:
            where = path or "<root>"
            raise RedactedValueError(f'Sentinel value "{REDACTED}" in key {where} is not valid as real data')
        return original
    if isinstance(incoming, dict):
        base = original if isinstance(original, dict) else {}
        return {k: restore_redacted(v, base.get(k), f"{path}.{k}" if path else k) for k, v in incoming.items()}
    if isinstance(incoming, list):
        base = original if isinstance(original, list) else []
        by_id = {item.get("id"): item for item in base if isinstance(item, dict) and isinstance(item.get("id"), str)}
        out = []
        for i, item in enumerate(incoming):
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] in by_id:
                match = by_id[item["id"]]
            else:
                match = base[i] if i < len(base) else None
            out.append(restore_redacted(item, match, f"{path}[{i}]"))
        return out
    return incoming


def merge_patch(base: Any, patch: Any) -> Any:
    """RFC 7396 merge patch, with lists of objects merged by ``id`` (the reference's
    ``mergeObjectArraysById``): a patch entry with a known id is merged into it, others appended."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if key in ("__proto__", "constructor", "prototype"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        if isinstance(current, list) and isinstance(value, list):
            merged = _merge_by_id(current, value)
            if merged is not None:
                result[key] = merged
                continue
        if isinstance(value, dict):
            result[key] = merge_patch(current if isinstance(current, dict) else {}, value)
            continue
        result[key] = copy.deepcopy(value)
    return result


def _has_id(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("id"), str) and bool(value["id"])


def _merge_by_id(base: list[Any], patch: list[Any]) -> list[Any] | None:
    if not all(_has_id(item) for item in base):
        return None  # not a list of objects with ids: the patch replaces it
    merged = list(base)
    index = {item["id"]: i for i, item in enumerate(merged)}
    for item in patch:
        if _has_id(item) and item["id"] in index:
            merged[index[item["id"]]] = merge_patch(merged[index[item["id"]]], item)
            continue
        merged.append(copy.deepcopy(item))
        if _has_id(item):
            index[item["id"]] = len(merged) - 1
    return merged


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths whose value differs (objects compared key by key, anything else whole)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for key in [*old.keys(), *(k for k in new.keys() if k not in old)]:
            where = f"{prefix}.{key}" if prefix else key
            if key in old and key in new:
                out.extend(changed_paths(old[key], new[key], where))
            else:
                out.append(where)
        return out
    from openclaw_core.config.toml_edit import same

    return [] if same(old, new) else [prefix or "<root>"]
