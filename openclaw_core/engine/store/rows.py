"""What a row backend (SQLite, PostgreSQL) keeps beside each entry: the
entry's own JSON text, cut from its chunk, and the ``updatedAt`` column the
stale prune and the listing query, with JavaScript's comparison rules."""

from __future__ import annotations

import math
from typing import Any

from openclaw_core.js import json as jsjson
from openclaw_core.js.values import to_number


def entry_body(key: str, chunk: bytes) -> bytes:
    """The entry's own JSON text (as ``JSON.stringify(entry, null, 2)`` prints it)
    from its chunk in sessions.json. Raw newlines occur only between tokens, so
    dropping the chunk's extra indentation is exact."""
    prefix = len(jsjson.js_string(key).encode("utf-8", "surrogatepass")) + 4  # two spaces, the key, ": "
    return chunk[prefix:].replace(b"\n  ", b"\n")


def updated_at_column(entry: dict[str, Any]) -> float | None:
    """``updatedAt`` as the stale prune compares it (``Number()``); NULL when
    absent, null or NaN, which never compare below a cutoff."""
    value = entry.get("updatedAt")
    if value is None:
        return None
    number = to_number(value)
    return None if math.isnan(number) else number


def below_cutoff(entry: Any, cutoff_ms: float) -> bool:
    """The stale prune's age test: ``updatedAt`` present and below the cutoff (JS compare)."""
    value = entry.get("updatedAt") if isinstance(entry, dict) else None
    return value is not None and to_number(value) < cutoff_ms
