"""The database file: its layout, how it is created, and how a file that is not
ours is recognised before anything opens it for writing.

``store``
    one row (or none while the store does not exist): ``uid`` (new whenever the
    whole store is replaced, so caches of the old one reload), ``version``
    (bumped by every commit), ``next_position`` (where the next appended entry
    goes) and ``refresh_floor`` (a cache older than this version must reload
    fully: the removals before it were forgotten).
``entries``
    one row per session key: ``entry`` is the entry's exact JSON text as
    sessions.json holds it (key order and number spelling survive), ``position``
    orders the store, ``version`` is the commit that last wrote the row (what a
    cache fetches to catch up). Maintenance and listing filter on the indexed
    columns: ``updated_at`` is JavaScript's ToNumber of ``updatedAt`` as the stale
    prune compares it (NULL when absent, null or NaN), ``sort_value`` is
    ``Number(updatedAt ?? 0)`` as ``sessions`` orders rows (NULL when NaN),
    ``updated_is_number`` says ``typeof updatedAt === "number"`` (``--active``),
    ``protected`` is the ``openclaw_entry_protected`` decision when the row was
    written by the rules ``protected_by`` names.
``removed``
    the keys each commit deleted, so a cache catches up on deletions too.

Keys and entry texts are BLOBs of UTF-8 (with lone surrogates passed through):
a JSON key may hold a lone surrogate, which SQLite TEXT cannot bind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3

from openclaw_store_sqlite.temps import sweep_temps, temp_name

#: ``PRAGMA application_id``: "OCSS", OpenClaw session store
APPLICATION_ID = 0x4F435353
#: ``PRAGMA user_version``: the layout below
SCHEMA_VERSION = 1
FORMAT = "openclaw-core session store"

DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE store (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    uid TEXT NOT NULL,
    version INTEGER NOT NULL,
    next_position INTEGER NOT NULL,
    refresh_floor INTEGER NOT NULL
);
CREATE TABLE entries (
    session_key BLOB PRIMARY KEY,
    position INTEGER NOT NULL,
    entry BLOB NOT NULL,
    updated_at REAL,
    sort_value REAL,
    updated_is_number INTEGER NOT NULL,
    protected INTEGER NOT NULL,
    protected_by TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE removed (session_key BLOB PRIMARY KEY, version INTEGER NOT NULL);
CREATE INDEX removed_by_version ON removed (version);
"""

#: The secondary indexes of ``entries`` (name -> its CREATE statement): part of the
#: layout, and dropped and built again around a commit that removes most rows.
ENTRY_INDEXES = {
    "entries_by_position": "CREATE UNIQUE INDEX entries_by_position ON entries (position)",
    "entries_by_version": "CREATE INDEX entries_by_version ON entries (version)",
    "entries_stale": "CREATE INDEX entries_stale ON entries (updated_at) WHERE NOT protected",
    "entries_protected_by": "CREATE INDEX entries_protected_by ON entries (protected_by, updated_at) WHERE protected",
    "entries_newest": "CREATE INDEX entries_newest ON entries (sort_value, position)",
}
DDL += "".join(statement + ";\n" for statement in ENTRY_INDEXES.values())

_MAGIC = b"SQLite format 3\x00"


def header_problem(path: str) -> str | None:
    """Why the file at ``path`` is not a database of ours (None: it is), from its
    100-byte header alone: nothing opens it, so a foreign file is never touched."""
    with open(path, "rb") as f:
        head = f.read(100)
        size = os.fstat(f.fileno()).st_size
    if size == 0:
        return "the database file is empty"
    if not head.startswith(_MAGIC[:len(head)]) or len(head) < len(_MAGIC):
        return "not an SQLite database"
    if len(head) < 100:
        return f"truncated SQLite database ({size} bytes)"
    application_id = int.from_bytes(head[68:72], "big")
    if application_id != APPLICATION_ID:
        return f"an SQLite database of another application (application_id {application_id:#x}), not a session store"
    user_version = int.from_bytes(head[60:64], "big")
    if user_version != SCHEMA_VERSION:
        return f"layout version {user_version}; this openclaw-core reads version {SCHEMA_VERSION}"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    # The page count is valid when the change counter matches version-valid-for.
    if head[24:28] == head[92:96] and size < pages * page_size:
        return f"truncated SQLite database ({size} of {pages * page_size} bytes)"
    return None


def create_database(path: str) -> None:
    """Create an empty store database at ``path`` atomically: built under a temp
    name and linked into place, so no process ever sees half a schema, and a
    database another process created first is kept."""
    sweep_temps(path)  # what a killed create left behind
    temp = temp_name(path)
    try:
        conn = sqlite3.connect(temp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # persistent: every later connection is WAL
            conn.executescript("BEGIN;" + DDL + "COMMIT;")
            conn.execute("INSERT INTO meta (key, value) VALUES ('format', ?), ('schema_version', ?)",
                         [FORMAT, str(SCHEMA_VERSION)])
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        finally:
            conn.close()  # checkpoints: everything is in the main file, the -wal goes
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
        _fsync_dir(os.path.dirname(path))
    finally:
        for leftover in (temp, temp + "-wal", temp + "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def _fsync_dir(path: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
