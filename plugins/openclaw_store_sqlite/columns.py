"""How an entry becomes a row's key and indexed columns."""

from __future__ import annotations

import math
from typing import Any

from openclaw_core.engine.store.rows import updated_at_column
from openclaw_core.js import values as jsvalues


def row_key(key: str) -> bytes:
    """The key column: the key's UTF-8 bytes (lone surrogates kept, as JS strings may hold them)."""
    return key.encode("utf-8", "surrogatepass")


def entry_columns(entry: dict[str, Any]) -> tuple[float | None, float | None, int]:
    """The indexed columns of an entry: ``updated_at`` (the stale prune's, see
    :func:`~openclaw_core.engine.store.rows.updated_at_column`), ``sort_value``
    (the listing's ``Number(updatedAt ?? 0)``, NULL when NaN) and ``updated_is_number``."""
    value = entry.get("updatedAt")
    sort = jsvalues.to_number(value)
    return updated_at_column(entry), None if math.isnan(sort) else sort, int(jsvalues.is_number(value))
