"""The PostgreSQL store's reads that need not load the store (the stale prune's
candidates) and its change feed (LISTEN/NOTIFY of other processes' commits)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from openclaw_core.engine.store.rows import stale_in_store_order
from openclaw_core.engine.store.state import StoreState

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
        return stale_in_store_order(state.entries, dict(rows), extra, cutoff_ms)

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
