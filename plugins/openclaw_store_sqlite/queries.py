"""The SQLite store's reads that need not load the store: the newest entries for
a limited listing, one entry's lookup, and the stale prune's candidates, each
answered from the indexes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openclaw_core.base.errors import StoreCorruptError
from openclaw_core.engine.store.normalize import normalize_loaded_entry
from openclaw_core.engine.store.rows import stale_in_store_order
from openclaw_core.engine.store.state import StoreState
from openclaw_core.js import json as jsjson

from openclaw_store_sqlite.columns import entry_columns, row_key


#: The stale prune's candidate rows, each branch an index seek: unprotected rows
#: below the cutoff, and protected rows below it that other protection rules
#: decided. ``protected_by <> ?`` would scan every protected row on every commit;
#: instead the few distinct rule fingerprints are walked (a skip scan of
#: ``entries_protected_by``) and each other one is sought with its cutoff.
STALE_ROWS = """
WITH RECURSIVE rules(v) AS (
    SELECT (SELECT min(protected_by) FROM entries WHERE protected)
    UNION ALL
    SELECT (SELECT min(protected_by) FROM entries WHERE protected AND protected_by > rules.v)
    FROM rules WHERE rules.v IS NOT NULL)
SELECT session_key, position FROM entries WHERE updated_at < ?1 AND NOT protected
UNION ALL
SELECT session_key, position FROM rules JOIN entries
    ON entries.protected_by = rules.v AND entries.protected AND entries.updated_at < ?1
WHERE rules.v <> ?2
"""


class SqliteQueries:
    """Mixed into :class:`SqliteStoreBackend` (which provides the connection and the state)."""

    def _row_entry(self, key: str, raw: bytes) -> dict[str, Any]:
        """A row's stored text as its entry, loaded and normalised as a file's
        entry is; a row that is not a JSON object makes the store unreadable."""
        try:
            entry = jsjson.loads(raw)
        except jsjson.JSONError as exc:
            raise StoreCorruptError(self.db_path, f'entry {jsjson.js_string(key)}: {exc}') from None
        if not isinstance(entry, dict):
            raise StoreCorruptError(self.db_path,
                                    f'entry {jsjson.js_string(key)} is {jsjson.a_json_type(entry)}, not an object')
        normalize_loaded_entry(entry)
        return entry

    def _listed(self, key: str, raw: bytes, columns: tuple[Any, ...]) -> dict[str, Any] | None:
        """The entry of a row as a full load gives it; None when the row's indexed
        columns do not match it (edited by hand): the caller then loads the store."""
        entry = self._row_entry(key, raw)
        return entry if tuple(columns) == entry_columns(entry) else None

    def newest_entries(self, limit: int, active_minutes: float | None,
                       now_ms: int) -> tuple[list[tuple[str, dict[str, Any]]], int] | None:
        """The listing's first rows from the ``entries_newest`` index: the rows at or
        above the ``limit``-th newest ``sort_value`` (ties at the edge included),
        put in the listing's order here."""
        if active_minutes is None:
            where, params = "1", []
        else:  # the listing's own test, in the same float arithmetic
            where, params = "updated_is_number = 1 AND ? - sort_value <= ?", [float(now_ms), active_minutes * 60_000.0]
        with self._mutex, self._db("read"):
            conn = self._connection(create=False)
            if conn is None:
                return [], 0
            with self._snapshot(conn):
                if conn.execute("SELECT 1 FROM store WHERE id = 1").fetchone() is None:
                    return [], 0
                if active_minutes is None and conn.execute(
                        "SELECT 1 FROM entries WHERE sort_value IS NULL LIMIT 1").fetchone() is not None:
                    return None  # a NaN: the reference's order depends on every entry
                total = conn.execute(f"SELECT count(*) FROM entries WHERE {where}", params).fetchone()[0]
                if total == 0:
                    return [], 0
                edge = conn.execute(f"SELECT sort_value FROM entries WHERE {where} ORDER BY sort_value DESC "
                                    f"LIMIT 1 OFFSET ?", [*params, min(limit, total) - 1]).fetchone()[0]
                rows = conn.execute(f"SELECT session_key, position, entry, updated_at, sort_value, updated_is_number "
                                    f"FROM entries WHERE {where} AND sort_value >= ?", [*params, edge]).fetchall()
        decoded = []
        for key_blob, position, raw, *columns in rows:
            key = key_blob.decode("utf-8", "surrogatepass")
            order = (0, int(key)) if jsjson.is_index_key(key) else (1, position)  # store order: JS's
            decoded.append((-columns[1], order, key, raw, columns))
        decoded.sort(key=lambda row: (row[0], row[1]))
        pairs = []
        for _, _, key, raw, columns in decoded[:limit]:
            entry = self._listed(key, raw, columns)
            if entry is None:
                return None
            pairs.append((key, entry))
        return pairs, total

    def lookup(self, key: str) -> tuple[bool, dict[str, Any] | None] | None:
        with self._mutex, self._db("read"):
            conn = self._connection(create=False)
            if conn is None:
                return False, None
            with self._snapshot(conn):
                if conn.execute("SELECT 1 FROM store WHERE id = 1").fetchone() is None:
                    return False, None
                row = conn.execute("SELECT entry, updated_at, sort_value, updated_is_number FROM entries "
                                   "WHERE session_key = ?", [row_key(key)]).fetchone()
        if row is None:
            return False, None
        entry = self._listed(key, row[0], row[1:])
        return None if entry is None else (True, entry)

    def stale_keys(self, state: StoreState, cutoff_ms: float, also: Iterable[str] = ()) -> list[str] | None:
        """The stale prune's candidates from the ``entries_stale`` index: unprotected
        rows whose ``updated_at`` is below the cutoff, rows another set of
        protection rules decided, and every key changed in memory since the
        stored version. Returns exactly the keys whose ``updatedAt`` is below the
        cutoff (the policy's own first test), in store order."""
        tracked = self._tracked
        if tracked is None or state.version is None or tracked[0] != state.version:
            return None  # not the state this backend loaded or wrote: let the policy scan
        if state.loaded_lazily:
            # Just read whole (a cleanup): scanning it costs less than fetching the
            # candidate rows, most of the store there, one table lookup each.
            return None
        extra = state.unsaved | self._dirty | set(also)
        with self._mutex, self._db("read"):
            conn = self._connection(create=False)
            if conn is None:
                return None
            with self._snapshot(conn):
                if self._query_version(conn) != state.version:
                    return None  # the database moved on since this state was read
                rows = conn.execute(STALE_ROWS, [cutoff_ms, self._protection_rules()]).fetchall()
        positions = {key_blob.decode("utf-8", "surrogatepass"): position for key_blob, position in rows}
        return stale_in_store_order(state.entries, positions, extra, cutoff_ms)
