"""What a row backend (SQLite, PostgreSQL) keeps beside each entry: the
entry's own JSON text, cut from its chunk (and the chunk, with a lazily decoded
entry, back from that text), and the ``updatedAt`` column the stale prune and
the listing query, with JavaScript's comparison rules."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from openclaw_core.base.mapping import is_mapping
from openclaw_core.engine.store.chunks import LazyEntry
from openclaw_core.js import json as jsjson
from openclaw_core.js.values import to_number


def entry_body(key: str, chunk: bytes) -> bytes:
    """The entry's own JSON text (as ``JSON.stringify(entry, null, 2)`` prints it)
    from its chunk in sessions.json. Raw newlines occur only between tokens, so
    dropping the chunk's extra indentation is exact."""
    prefix = len(jsjson.js_string(key).encode("utf-8", "surrogatepass")) + 4  # two spaces, the key, ": "
    return chunk[prefix:].replace(b"\n  ", b"\n")


def lazy_entry(key: str, body: bytes) -> tuple[LazyEntry, bytes, dict[str, Any]] | None:
    """A row's stored text as a lazy load of the file store keeps an entry: its
    chunk in sessions.json's form (the exact inverse of :func:`entry_body`), a
    :class:`LazyEntry` on that chunk keeping the top-level scalars, and the entry
    as parsed (not normalised; the caller drops it). None for anything unusual
    (text orjson does not read as an object): the full load decides."""
    try:
        prefix = b"  " + jsjson.js_string(key).encode("utf-8") + b": "
        parsed = orjson.loads(body)
    except (UnicodeEncodeError, orjson.JSONDecodeError):
        return None
    if type(parsed) is not dict:
        return None
    chunk = prefix + body.replace(b"\n", b"\n  ")
    return LazyEntry.of_parsed(chunk, len(prefix), parsed), chunk, parsed


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
    value = entry.get("updatedAt") if is_mapping(entry) else None  # a LazyEntry too
    return value is not None and to_number(value) < cutoff_ms


def stale_in_store_order(entries: Mapping[str, Any], positions: Mapping[str, int], extra: Iterable[str],
                         cutoff_ms: float) -> list[str]:
    """A row backend's stale-prune answer: of the candidate rows (key -> stored
    position, from its index) and the keys changed in memory since (``extra``),
    exactly those whose ``updatedAt`` is below the cutoff, in store order."""
    extra = set(extra)
    candidates = [k for k in positions if k in entries] + [k for k in extra if k in entries and k not in positions]
    stale = [k for k in candidates if below_cutoff(entries[k], cutoff_ms)]
    if any(k in extra for k in stale):
        wanted = set(stale)  # a key changed in memory may have moved: the store's own order
        return [k for k in entries if k in wanted]
    # Unchanged rows keep their place: position order, integer-like keys first as JS orders them.
    stale.sort(key=lambda k: (0, int(k), 0) if jsjson.is_index_key(k) else (1, 0, positions[k]))
    return stale
