"""The lazy load of a SQLite store, for a commit that keeps few of the entries
it looks at (``sessions cleanup`` of a big store), as the file store's lazy
parse does: each row's exact text becomes its sessions.json chunk and a
:class:`~openclaw_core.engine.store.chunks.LazyEntry` keeping the top-level
scalars; only the entries the commit keeps are ever normalised and re-encoded
(``StoreState.verify``). A row re-encoded to other text is rewritten by the
commit, as a full load's non-canonical rows are."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from openclaw_core.engine.store.rows import lazy_entry
from openclaw_core.engine.store.state import StoreState
from openclaw_core.js import json as jsjson

from openclaw_store_sqlite.columns import entry_columns


def lazy_state(rows: Iterable[tuple[bytes, bytes, Any, Any, Any]], version: Any,
               source: str) -> tuple[StoreState, set[str], dict[str, bytes]] | None:
    """``rows`` (key, entry text, indexed columns) in position order -> the lazy
    state, the keys whose indexed columns are not the entry's (rewritten by the
    commit), and each key's chunk as loaded (:func:`reencoded` compares). None
    when a row is anything unusual: the caller loads fully, which decides."""
    entries: dict[str, Any] = {}
    chunks: dict[str, bytes] = {}
    dirty: set[str] = set()
    for key_blob, raw, *columns in rows:
        key = key_blob.decode("utf-8", "surrogatepass")
        found = lazy_entry(key, raw)
        if found is None:
            return None
        entry, chunk, parsed = found
        entries[key] = entry
        chunks[key] = chunk
        # updatedAt is not a field the load normalisation changes: the parsed one decides.
        # A finite number (nearly every row) has columns (n, n, 1), without entry_columns' calls.
        updated = parsed.get("updatedAt")
        kind = type(updated)
        number = float(updated) if kind is int or kind is float else math.nan
        expected = (number, number, 1) if math.isfinite(number) else entry_columns(parsed)
        if tuple(columns) != expected:
            dirty.add(key)
    order = jsjson.js_key_order(list(entries))
    if order is not None:
        entries = {k: entries[k] for k in order}
    loaded = dict(chunks)
    state = StoreState(entries, chunks, version, on_disk_matches=not dirty)
    state.lazy = set(entries)
    state.unverified = set(entries)
    state.loaded_lazily = True
    state.source = source
    return state, dirty, loaded


def reencoded(state: StoreState, loaded: dict[str, bytes]) -> list[str]:
    """Keys of a lazily loaded ``state`` whose chunk is no longer the row's text
    as loaded: verified to other (canonical) text. Verifies what is left."""
    state.verify_all()
    chunks = state.chunks
    return [k for k in state.entries if k in loaded and chunks[k] is not loaded[k]]
