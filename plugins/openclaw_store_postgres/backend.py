"""The PostgreSQL store backend (see the package docstring and schema.py).

A commit (:meth:`PostgresStoreBackend.write`) is one transaction that checks
the store's version, writes only the rows the writer changed, bumps the
version and NOTIFYs; the writer calls it inside :meth:`exclusive`, which holds
the store's session-level advisory lock for the whole group (version check,
mutations, maintenance, write), so two Gateways never interleave commits. A
cache that fell behind (another host committed) fetches only the rows written
and the keys removed since its version (:meth:`refresh`).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core.js import json as jsjson
from openclaw_core.base.errors import ConfigError, OpenClawError, StoreConflict, StoreCorruptError, StoreLockTimeout
from openclaw_core.engine.store.backend import StoreBackend, refresh_from_rows, state_from_rows
from openclaw_core.engine.store.normalize import normalize_loaded_entry
from openclaw_core.engine.store.state import ChangeSet, StoreState
from openclaw_core.engine.store.chunks import encode_chunk
from openclaw_core.base.errors import first_line
from openclaw_core.engine.store.rows import entry_body, updated_at_column
from openclaw_store_postgres.schema import ensure_schema
from openclaw_store_postgres.settings import PostgresSettings, connect_options, resolve_settings, store_name
from openclaw_store_postgres.queries import UNKNOWN_VERSION, PgVersion, PostgresQueries

if TYPE_CHECKING:
    from openclaw_core.contract.hooks import Hooks
    import psycopg

    from openclaw_core.config.model import Config

#: (store row id, store version); None while the store does not exist

FORGET_REMOVALS_EVERY = 256     # commits between two prunes of the removed-keys log
KEEP_REMOVALS_FOR = 4096        # commits a lagging cache may be behind and still catch up row by row
CACHED_VERSION_SECONDS = 5.0    # a NOTIFY-kept version is trusted this long, then asked again
class StoreUnavailable(OpenClawError):
    """The database cannot be reached or refused the operation; nothing was written."""


def describe_dsn(dsn: str) -> str:
    """``postgresql://user@host:port/db`` for messages: never the password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - a message helper must not fail
        return "the configured PostgreSQL database"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}:{port}/{parts.get('dbname') or ''}"


def require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ConfigError('session.backend "postgres" needs psycopg: pip install "openclaw-core[postgres]"') from None


class PostgresStoreBackend(PostgresQueries, StoreBackend):
    name = "postgres"
    incremental_refresh = True

    def __init__(self, store_path: str | os.PathLike[str], config: Config, hooks: Hooks) -> None:
        self.hooks = hooks
        super().__init__(os.path.abspath(store_path), config)
        self.settings: PostgresSettings = resolve_settings(config)
        require_psycopg()
        self.store_name = store_name(self.path, config.state_dir)
        digest = hashlib.blake2b(f"{self.settings.schema}\0{self.store_name}".encode(), digest_size=8).digest()
        self._lock_key = int.from_bytes(digest, "big", signed=True)
        s = f'"{self.settings.schema}"'  # validated: [a-z_][a-z0-9_]*
        self._sql = {
            "version": f"SELECT id, version FROM {s}.stores WHERE name = %s",
            "store": f"SELECT id, version, next_position, refresh_floor FROM {s}.stores WHERE name = %s",
            "store_for_update": f"SELECT id, version, next_position FROM {s}.stores WHERE name = %s FOR UPDATE",
            "create_store": f"INSERT INTO {s}.stores (name) VALUES (%s) RETURNING id, version, next_position",
            "all_rows": (f"SELECT session_key, entry::text, updated_at FROM {s}.entries WHERE store_id = %s "
                         f"ORDER BY position"),
            "changed_rows": (f"SELECT session_key, position, entry::text, updated_at FROM {s}.entries "
                             f"WHERE store_id = %s AND version > %s ORDER BY position"),
            "removed_keys": f"SELECT session_key FROM {s}.removed WHERE store_id = %s AND version > %s",
            "delete_rows": f"DELETE FROM {s}.entries WHERE store_id = %s AND session_key = ANY(%s)",
            "log_removed": (f"INSERT INTO {s}.removed (store_id, session_key, version) "
                            f"SELECT %s, k, %s FROM unnest(%s::text[]) AS k "
                            f"ON CONFLICT (store_id, session_key) DO UPDATE SET version = EXCLUDED.version"),
            "update_rows": (f"UPDATE {s}.entries AS e SET entry = v.e::json, updated_at = v.u, protected = v.p, "
                            f"protected_by = %s, version = %s "
                            f"FROM unnest(%s::text[], %s::text[], %s::float8[], %s::bool[]) "
                            f"AS v(k, e, u, p) WHERE e.store_id = %s AND e.session_key = v.k"),
            "append_rows": (f"INSERT INTO {s}.entries (store_id, session_key, position, entry, updated_at, "
                            f"protected, protected_by, version) SELECT %s, v.k, v.pos, v.e::json, v.u, v.p, %s, %s "
                            f"FROM unnest(%s::text[], %s::int8[], %s::text[], %s::float8[], %s::bool[]) "
                            f"AS v(k, pos, e, u, p) ON CONFLICT (store_id, session_key) DO UPDATE SET "
                            f"position = EXCLUDED.position, entry = EXCLUDED.entry, updated_at = EXCLUDED.updated_at, "
                            f"protected = EXCLUDED.protected, protected_by = EXCLUDED.protected_by, "
                            f"version = EXCLUDED.version"),
            "unlog_removed": f"DELETE FROM {s}.removed WHERE store_id = %s AND session_key = ANY(%s)",
            "bump": (f"UPDATE {s}.stores SET version = %s, next_position = %s, changed_at = now() "
                     f"WHERE id = %s"),
            "forget_removed": f"DELETE FROM {s}.removed WHERE store_id = %s AND version <= %s",
            "raise_floor": f"UPDATE {s}.stores SET refresh_floor = GREATEST(refresh_floor, %s) WHERE id = %s",
            "clear_store": f"DELETE FROM {s}.entries WHERE store_id = %s",
            "clear_removed": f"DELETE FROM {s}.removed WHERE store_id = %s",
            "copy_rows": (f"COPY {s}.entries (store_id, session_key, position, entry, updated_at, protected, "
                          f"protected_by, version) FROM STDIN"),
            "replace_bump": (f"UPDATE {s}.stores SET version = %s, next_position = %s, refresh_floor = %s, "
                             f"changed_at = now() WHERE id = %s"),
            "drop_store": f"DELETE FROM {s}.stores WHERE name = %s RETURNING id, version",
            "drop_empty_store": (f"DELETE FROM {s}.stores AS st WHERE name = %s AND NOT EXISTS "
                                 f"(SELECT 1 FROM {s}.entries WHERE store_id = st.id) RETURNING id, version"),
            # Unprotected rows below the cutoff, protected ones whose decision other
            # rules made, and the keys named (changed in memory): index scans all three.
            "stale": (f"SELECT session_key, position FROM {s}.entries WHERE store_id = %(id)s "
                      f"AND updated_at < %(cutoff)s AND NOT protected "
                      f"UNION SELECT session_key, position FROM {s}.entries WHERE store_id = %(id)s AND protected "
                      f"AND (protected_by < %(rules)s OR protected_by > %(rules)s) AND updated_at < %(cutoff)s "
                      f"UNION SELECT session_key, position FROM {s}.entries WHERE store_id = %(id)s "
                      f"AND session_key = ANY(%(keys)s)"),
            "notify": "SELECT pg_notify(%s, %s)",
        }
        self._mutex = threading.RLock()          # one user of the connection at a time
        self._conn: psycopg.Connection | None = None
        self._conn_pid = 0
        self._lock_timeout_ms = -1
        self._exclusive_depth = 0
        self._exclusive_owner: int | None = None
        self._locked_conn: psycopg.Connection | None = None
        # The version LISTEN/NOTIFY keeps valid, so readers skip the round trip.
        self._listening = False
        self._cached_version: Any = UNKNOWN_VERSION
        self._cached_at = 0.0
        self._generation = 0
        # The state last handed out or written: its version and next free position.
        self._tracked: tuple[PgVersion | None, int] | None = None
        # Keys whose stored text is not the canonical encoding (rows edited by
        # hand, or migrated on load): the next commit rewrites them.
        self._dirty: set[str] = set()

    # -- identity -------------------------------------------------------------------------------

    @property
    def identity(self) -> str:
        return f"postgres:{self.settings.fingerprint}:{self.store_name}"

    @property
    def source(self) -> str:
        """How error messages name this store."""
        return f"{self.store_name} (PostgreSQL schema {self.settings.schema})"

    def excluded_files(self) -> frozenset[str]:
        # sessions.json next to the transcripts is not this store (a leftover of the file store)
        return super().excluded_files() | {Path(self.path).name}

    # -- the connection ----------------------------------------------------------------------------

    @contextmanager
    def _db(self, doing: str) -> Iterator[None]:
        """Turn database errors into one-line errors the CLI prints."""
        import psycopg

        try:
            yield
        except psycopg.errors.LockNotAvailable:
            raise
        except psycopg.OperationalError as exc:
            self._drop_connection()
            raise StoreUnavailable(f"cannot {doing} session store {self.source} at "
                                   f"{describe_dsn(self.settings.dsn)}: {first_line(exc)}") from None
        except psycopg.DataError as exc:
            raise StoreUnavailable(f"PostgreSQL refused to {doing} session store {self.source}: "
                                   f"{first_line(exc)}") from None

    def _connection(self) -> psycopg.Connection:
        conn = self._conn
        if self._exclusive_depth and self._exclusive_owner == threading.get_ident():
            # Never reconnect under the store lock: a new session would not hold it.
            if conn is None or conn is not self._locked_conn or conn.closed or conn.broken:
                raise StoreUnavailable(f"lost the connection to {describe_dsn(self.settings.dsn)} while holding "
                                       f"the lock of session store {self.source}; nothing was written")
            return conn
        if conn is None or conn.closed or conn.broken:
            conn = self._connect()
        return conn

    def _connect(self) -> psycopg.Connection:
        import psycopg

        self._drop_connection()
        try:
            conn = psycopg.connect(self.settings.dsn, autocommit=True, application_name="openclaw",
                                   **connect_options(self.settings.dsn))
        except psycopg.ProgrammingError as exc:
            raise ConfigError(f"session.postgres.dsn: {first_line(exc)}") from None
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot connect to {describe_dsn(self.settings.dsn)} for session store "
                                   f"{self.source}: {first_line(exc)}") from None
        try:
            encoding = conn.execute("SHOW server_encoding").fetchone()
            if encoding is None or encoding[0].upper() not in ("UTF8", "UTF-8"):
                raise ConfigError(f"{describe_dsn(self.settings.dsn)}: the database encoding must be UTF8, "
                                  f"not {encoding[0] if encoding else '?'}")
            ensure_schema(conn, self.settings.schema, (self.settings.dsn, self.settings.schema))
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._conn_pid = conn.info.backend_pid
        self._lock_timeout_ms = -1
        return conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._mutex:
            self._drop_connection()

    # -- versions -------------------------------------------------------------------------------------

    def _query_version(self) -> PgVersion | None:
        with self._mutex, self._db("read"):
            row = self._connection().execute(self._sql["version"], [self.store_name]).fetchone()
        return None if row is None else (row[0], row[1])

    def version(self) -> PgVersion | None:
        if not self._listening or self._exclusive_owner == threading.get_ident():
            return self._query_version()  # under the lock the database itself answers
        cached = self._cached_version
        if cached is not UNKNOWN_VERSION and time.monotonic() - self._cached_at < CACHED_VERSION_SECONDS:
            return cached
        generation = self._generation
        version = self._query_version()
        if generation == self._generation:  # no notification arrived meanwhile
            self._cached_version = version
            self._cached_at = time.monotonic()
        return version

    # -- reading ------------------------------------------------------------------------------------------

    def _decode(self, key: str, text: str, updated_at: float | None) -> tuple[dict[str, Any], bytes, bool]:
        """The validated, normalised entry of one row, its chunk, and whether the
        row already holds exactly the canonical text and its ``updated_at``."""
        raw = text.encode("utf-8", "surrogatepass")
        try:
            entry = jsjson.loads(raw)
        except jsjson.JSONError as exc:
            raise StoreCorruptError(self.source, f'entry {jsjson.js_string(key)}: {exc}') from None
        if not isinstance(entry, dict):
            raise StoreCorruptError(self.source, f'entry {jsjson.js_string(key)} is {jsjson.a_json_type(entry)}, not an object')
        normalize_loaded_entry(entry)  # exactly what StoreState.from_entries does for a file
        try:
            chunk = encode_chunk(key, entry, parsed=True)
        except jsjson.JSONError as exc:
            raise StoreCorruptError(self.source, f'entry {jsjson.js_string(key)}: {exc}') from None
        return entry, chunk, entry_body(key, chunk) == raw and updated_at == updated_at_column(entry)

    def load(self) -> StoreState:
        with self._mutex, self._db("read"):
            conn = self._connection()
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                store = conn.execute(self._sql["store"], [self.store_name]).fetchone()
                rows = [] if store is None else conn.execute(self._sql["all_rows"], [store[0]]).fetchall()
        if store is None:
            self._tracked = (None, 0)
            self._dirty = set()
            return StoreState.missing()
        version: PgVersion = (store[0], store[1])
        state, dirty = state_from_rows(((key, *self._decode(key, text, updated_at)) for key, text, updated_at in rows),
                                       version)
        self._tracked = (version, store[2])
        self._dirty = dirty
        return state

    def refresh(self, state: StoreState) -> StoreState:
        """Catch ``state`` up with the rows written and the keys removed since its
        version; a full load when it is too old, replaced, or not ours."""
        tracked = self._tracked
        if tracked is None or state.version is None or tracked[0] != state.version:
            return self.load()
        store_id, version = state.version
        with self._mutex, self._db("read"):
            conn = self._connection()
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                store = conn.execute(self._sql["store"], [self.store_name]).fetchone()
                usable = store is not None and store[0] == store_id and store[3] <= version <= store[1]
                if usable and store[1] == version:
                    return state
                if usable:
                    changed = conn.execute(self._sql["changed_rows"], [store_id, version]).fetchall()
                    removed = [r[0] for r in conn.execute(self._sql["removed_keys"], [store_id, version])]
        if not usable:
            return self.load()
        rows = ((key, position, *self._decode(key, text, updated_at)) for key, position, text, updated_at in changed)
        if not refresh_from_rows(state, removed, rows, tracked[1], self._dirty, (store[0], store[1])):
            return self.load()  # a row we never saw at an old place: out of step
        self._tracked = (state.version, store[2])
        return state

    # -- writing ---------------------------------------------------------------------------------------------

    def exclusive(self, timeout: float) -> AbstractContextManager[Any]:
        return self._exclusive(timeout)

    @contextmanager
    def _exclusive(self, timeout: float) -> Iterator[None]:
        import psycopg

        with self._mutex:
            outermost = self._exclusive_depth == 0
            if outermost:
                with self._db("lock"):
                    conn = self._connection()
                    timeout_ms = max(1, math.ceil(timeout * 1000))
                    try:
                        if self._lock_timeout_ms != timeout_ms:
                            conn.execute(f"SET lock_timeout = {timeout_ms}")
                            self._lock_timeout_ms = timeout_ms
                        conn.execute("SELECT pg_advisory_lock(%s)", [self._lock_key])
                    except psycopg.errors.LockNotAvailable:
                        raise StoreLockTimeout(
                            f"timed out after {timeout:g}s waiting for the lock of session store {self.source} "
                            f"(another openclaw process is committing to it)") from None
                self._locked_conn = conn
                self._exclusive_owner = threading.get_ident()
            self._exclusive_depth += 1
            try:
                yield
            finally:
                self._exclusive_depth -= 1
                if self._exclusive_depth == 0:
                    self._exclusive_owner = None
                    conn, self._locked_conn = self._locked_conn, None
                    try:
                        if conn is not None and not conn.broken:
                            conn.execute("SELECT pg_advisory_unlock(%s)", [self._lock_key])
                    except psycopg.Error:
                        self._drop_connection()  # the session is gone, and its lock with it

    def _is_protected(self, key: str, entry: dict[str, Any]) -> bool:
        return self.hooks.is_protected(key, entry, self.path)

    def _protection_rules(self) -> str:
        return self.hooks.protection_rules()

    def _row(self, state: StoreState, key: str) -> tuple[str, float | None, bool]:
        entry = state.entries[key]
        body = entry_body(key, state.chunks[key]).decode("utf-8", "surrogatepass")
        return body, updated_at_column(entry), self._is_protected(key, entry)

    def write(self, state: StoreState, changes: ChangeSet, expected_version: Any) -> PgVersion:
        appended = [k for k in changes.appended if k in changes.upserted]
        in_place = [k for k in changes.upserted if k not in changes.appended]
        in_place += [k for k in self._dirty if k in state.chunks and k not in changes.upserted]
        removed = sorted(changes.removed)
        new_rows = [self._row(state, k) for k in appended]
        old_rows = [self._row(state, k) for k in in_place]
        rules = self._protection_rules()
        with self._mutex, self._db("write"):
            conn = self._connection()
            with conn.transaction():
                store = conn.execute(self._sql["store_for_update"], [self.store_name]).fetchone()
                current = None if store is None else (store[0], store[1])
                if current != expected_version:
                    raise StoreConflict(f"session store {self.source} changed while it was being updated")
                created = store is None
                if created:
                    store = conn.execute(self._sql["create_store"], [self.store_name]).fetchone()
                store_id, version, next_position = store
                new_version = version + 1
                if removed:
                    conn.execute(self._sql["delete_rows"], [store_id, removed])
                    conn.execute(self._sql["log_removed"], [store_id, new_version, removed])
                if in_place:
                    cur = conn.execute(self._sql["update_rows"], [
                        rules, new_version, in_place, [r[0] for r in old_rows], [r[1] for r in old_rows],
                        [r[2] for r in old_rows], store_id])
                    if cur.rowcount != len(in_place):
                        raise StoreConflict(f"session store {self.source} is out of step with its cache")
                if appended:
                    positions = list(range(next_position, next_position + len(appended)))
                    conn.execute(self._sql["append_rows"], [
                        store_id, rules, new_version, appended, positions, [r[0] for r in new_rows],
                        [r[1] for r in new_rows], [r[2] for r in new_rows]])
                    conn.execute(self._sql["unlog_removed"], [store_id, appended])
                next_position += len(appended)
                conn.execute(self._sql["bump"], [new_version, next_position, store_id])
                if new_version % FORGET_REMOVALS_EVERY == 0 and new_version > KEEP_REMOVALS_FOR:
                    floor = new_version - KEEP_REMOVALS_FOR
                    conn.execute(self._sql["forget_removed"], [store_id, floor])
                    conn.execute(self._sql["raise_floor"], [floor, store_id])
                conn.execute(self._sql["notify"], [self.settings.channel,
                                                   f"{store_id} {new_version} {self.store_name}"])
        result: PgVersion = (store_id, new_version)
        self._dirty.difference_update(in_place)
        self._dirty.difference_update(appended)
        self._tracked = (result, next_position)
        if self._listening:
            self._cached_version = result
            self._cached_at = time.monotonic()
        if created:  # like the file store, a first write makes the sessions dir
            os.makedirs(self.sessions_dir, exist_ok=True)
        return result

    def import_bytes(self, data: bytes) -> None:
        """Replace the whole store in one transaction (COPY, not row by row)."""
        incoming = StoreState.parse(data, source="import")
        rows = [(key, *self._row(incoming, key)) for key in incoming.entries]
        rules = self._protection_rules()
        with self.exclusive(60.0), self._mutex, self._db("import"):
            conn = self._connection()
            with conn.transaction():
                store = conn.execute(self._sql["store_for_update"], [self.store_name]).fetchone()
                if store is None:
                    store = conn.execute(self._sql["create_store"], [self.store_name]).fetchone()
                store_id, version, _ = store
                new_version = version + 1
                conn.execute(self._sql["clear_store"], [store_id])
                conn.execute(self._sql["clear_removed"], [store_id])
                with conn.cursor() as cur, cur.copy(self._sql["copy_rows"]) as copy:
                    for position, (key, body, updated_at, protected) in enumerate(rows):
                        copy.write_row((store_id, key, position, body, updated_at, protected, rules, new_version))
                # every cache reloads fully: the removals were not logged
                conn.execute(self._sql["replace_bump"], [new_version, len(rows), new_version, store_id])
                conn.execute(self._sql["notify"], [self.settings.channel,
                                                   f"{store_id} {new_version} {self.store_name}"])
        self._tracked = None
        self._cached_version = UNKNOWN_VERSION
        os.makedirs(self.sessions_dir, exist_ok=True)

    def retire(self) -> str | None:
        """Delete the store's rows (the migration verified the copy first)."""
        self._drop("drop_store")
        return None

    def drop_if_empty(self) -> bool:
        """Delete the store's row when it has no entries left (a deleted agent's)."""
        with self.exclusive(60.0):
            return self._drop("drop_empty_store")

    def _drop(self, statement: str) -> bool:
        with self._mutex, self._db("remove"):
            conn = self._connection()
            with conn.transaction():
                dropped = conn.execute(self._sql[statement], [self.store_name]).fetchone()
                if dropped is not None:
                    conn.execute(self._sql["notify"], [self.settings.channel,
                                                       f"{dropped[0]} {dropped[1] + 1} {self.store_name}"])
        self._tracked = None
        self._cached_version = UNKNOWN_VERSION
        return dropped is not None

    # -- maintenance push-down ----------------------------------------------------------------------------------



    # -- outside changes ---------------------------------------------------------------------------------------


