"""The tables, created on first use (idempotent, safe when several processes
start at once).

``stores``
    one row per store: its name, ``version`` (bumped by every commit),
    ``next_position`` (where the next appended entry goes) and
    ``refresh_floor`` (a cache older than this version must reload fully:
    the removals before it were forgotten, or the store was replaced).
``entries``
    one row per (store, session key): ``entry`` is the entry exactly as
    sessions.json holds it (a ``json`` column keeps the text, so key order and
    number spelling survive; JSONB would reorder keys), ``position`` orders
    the store, ``version`` is the commit that last wrote the row (what a
    cache fetches to catch up), and ``updated_at`` / ``protected`` are the
    columns maintenance filters on: ``updated_at`` is JavaScript's ToNumber of
    ``updatedAt`` (as the stale prune compares it), ``protected`` the
    ``openclaw_entry_protected`` decision when the row was written, by the
    protection rules ``protected_by`` names (a fingerprint of the plugins that
    decide it; a row decided by other rules is checked again).
``removed``
    the keys each commit deleted, so a cache catches up on deletions too.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

SCHEMA_VERSION = "1"

_DDL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.stores (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    version bigint NOT NULL DEFAULT 0,
    next_position bigint NOT NULL DEFAULT 0,
    refresh_floor bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {schema}.entries (
    store_id bigint NOT NULL REFERENCES {schema}.stores (id) ON DELETE CASCADE,
    session_key text NOT NULL,
    position bigint NOT NULL,
    entry json NOT NULL,
    updated_at double precision,
    protected boolean NOT NULL,
    protected_by text NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (store_id, session_key)
);
CREATE INDEX IF NOT EXISTS entries_by_position ON {schema}.entries (store_id, position);
CREATE INDEX IF NOT EXISTS entries_by_version ON {schema}.entries (store_id, version);
CREATE INDEX IF NOT EXISTS entries_stale ON {schema}.entries (store_id, updated_at) WHERE NOT protected;
CREATE INDEX IF NOT EXISTS entries_protected_by ON {schema}.entries (store_id, protected_by) WHERE protected;
CREATE TABLE IF NOT EXISTS {schema}.removed (
    store_id bigint NOT NULL REFERENCES {schema}.stores (id) ON DELETE CASCADE,
    session_key text NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (store_id, session_key)
);
CREATE INDEX IF NOT EXISTS removed_by_version ON {schema}.removed (store_id, version);
"""

_ready: set[tuple[str, str]] = set()
_ready_lock = threading.Lock()


def ensure_schema(conn: psycopg.Connection, schema: str, key: tuple[str, str]) -> None:
    """Create the tables once per process and database (serialised across
    processes by a transaction-scoped advisory lock)."""
    from psycopg import sql

    with _ready_lock:
        if key in _ready:
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"openclaw-schema:{schema}"])
            conn.execute(sql.SQL(_DDL).format(schema=sql.Identifier(schema)))  # type: ignore[arg-type]
            conn.execute(sql.SQL("INSERT INTO {}.meta (key, value) VALUES ('schema_version', %s) "
                                 "ON CONFLICT (key) DO NOTHING").format(sql.Identifier(schema)), [SCHEMA_VERSION])
            found = conn.execute(sql.SQL("SELECT value FROM {}.meta WHERE key = 'schema_version'")
                                 .format(sql.Identifier(schema))).fetchone()
        if found is None or found[0] != SCHEMA_VERSION:
            from openclaw_core.base.errors import ConfigError

            raise ConfigError(f"PostgreSQL schema {schema} has layout version {found[0] if found else '?'}; "
                              f"this openclaw-core uses {SCHEMA_VERSION}")
        _ready.add(key)
