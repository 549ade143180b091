"""How a commit deletes rows: one by one, logged in ``removed`` so that a cache
behind it catches up on the deletions; or, when most of the store goes (a
cleanup), without the log and with the secondary indexes built again."""

from __future__ import annotations

import sqlite3

from openclaw_store_sqlite.schema import ENTRY_INDEXES


def delete_rows(conn: sqlite3.Connection, keys: list[bytes], version: int, most: bool) -> None:
    """Delete the rows of ``keys`` in the commit making ``version``. ``most``: they
    are most of the store. A cache behind this commit then reloads what is left,
    for less than catching up on the removals: they are not logged, and the
    refresh floor moves up to ``version``. The secondary indexes are dropped and
    built again over the rows left instead of being updated row by row (the
    deletions take a third of the time at 500,000 entries). All in the commit's
    transaction: a crash leaves the store and its indexes as they were."""
    for name in ENTRY_INDEXES if most else ():
        conn.execute(f"DROP INDEX {name}")
    conn.executemany("DELETE FROM entries WHERE session_key = ?", [(k,) for k in keys])
    if not most:
        conn.executemany("INSERT INTO removed (session_key, version) VALUES (?, ?) ON CONFLICT "
                         "(session_key) DO UPDATE SET version = excluded.version", [(k, version) for k in keys])
        return
    for statement in ENTRY_INDEXES.values():
        conn.execute(statement)
    conn.execute("DELETE FROM removed")
    conn.execute("UPDATE store SET refresh_floor = ? WHERE id = 1", [version])
