"""The PostgreSQL store's reads that need not load the store (the stale prune's
candidates) and its change feed (LISTEN/NOTIFY of other processes' commits)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from openclaw_core.engine.store.rows import below_cutoff
from openclaw_core.engine.store.state import StoreState
from openclaw_core.js import json as jsjson

if TYPE_CHECKING:
    import psycopg

    from openclaw_store_postgres.listener import Notification


PgVersion = tuple[int, int]  # (the store's id, its version counter)
UNKNOWN_VERSION: Any = object()  # the cached version is not known: ask the database


class PostgresQueries:
    """Mixed into :class:`PostgresStoreBackend` (which provides the connection and the state)."""

    def stale_keys(self, state: StoreState, cutoff_ms: float, also: Iterable[str] = ()) -> list[str] | None:
        """The stale prune's candidates from the ``entries_stale`` index: unprotected
        rows whose ``updated_at`` is below the cutoff, rows another set of
        protection rules decided, and every key changed in memory since the
        stored version. Returns exactly the keys whose ``updatedAt`` is below the
        cutoff (the policy's own first test), in store order."""
        tracked = self._tracked
        if tracked is None or state.version is None or tracked[0] != state.version:
            return None  # not the state this backend loaded or wrote: let the policy scan
        extra = state.unsaved | self._dirty | set(also)
        params = {"id": state.version[0], "cutoff": cutoff_ms, "rules": self._protection_rules(),
                  "keys": sorted(extra)}
        with self._mutex, self._db("read"):
            conn = self._connection()
            if self._exclusive_owner == threading.get_ident():
                rows = conn.execute(self._sql["stale"], params).fetchall()  # under the lock nothing moves
            else:
                with conn.transaction():
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    if self._query_store_version(conn) != state.version:
                        return None  # the database moved on since this state was read
                    rows = conn.execute(self._sql["stale"], params).fetchall()
        entries = state.entries
        positions = {key: position for key, position in rows if key in entries}
        candidates = list(positions) + [k for k in extra if k in entries and k not in positions]
        stale = [k for k in candidates if below_cutoff(entries[k], cutoff_ms)]
        if any(k in extra for k in stale):
            # A key changed in memory may have moved: take the order from the store itself.
            wanted = set(stale)
            return [k for k in entries if k in wanted]
        # Rows not changed since they were stored keep their place: position order,
        # integer-like keys first as JavaScript orders them.
        stale.sort(key=lambda k: (0, int(k), 0) if jsjson.is_index_key(k) else (1, 0, positions[k]))
        return stale

    def _query_store_version(self, conn: psycopg.Connection) -> PgVersion | None:
        row = conn.execute(self._sql["version"], [self.store_name]).fetchone()
        return None if row is None else (row[0], row[1])

    def watch(self, on_change: Callable[[], None]) -> Callable[[], None] | None:
        from openclaw_store_postgres.listener import Watcher, get_listener

        def on_notify(notification: Notification) -> None:
            if notification.sender_pid == self._conn_pid and self._conn is not None:
                return  # our own commit: write() already knows its version
            self._generation += 1
            self._cached_version = UNKNOWN_VERSION
            on_change()

        def on_connection(connected: bool) -> None:
            self._generation += 1
            self._cached_version = UNKNOWN_VERSION
            self._listening = connected
            if connected:
                on_change()  # anything may have changed while nobody listened

        listener = get_listener(self.settings.dsn, self.settings.channel)
        remove = listener.add(Watcher(self.store_name, on_notify, on_connection))

        def stop() -> None:
            remove()
            self._listening = False
            self._cached_version = UNKNOWN_VERSION

        return stop
