"""The SQLite store backend (see the package docstring and schema.py).

The writer calls :meth:`SqliteStoreBackend.exclusive` around a group: it opens
a ``BEGIN IMMEDIATE`` transaction (SQLite's single writer, waited for at most
the writer's lock timeout), inside which the version check, the mutations and
maintenance see the latest committed rows; :meth:`write` changes only the rows
the writer changed, bumps the version and commits. In WAL mode with
``synchronous=FULL`` the COMMIT returns once the WAL is fsynced, so nothing is
acknowledged before it is durable. Commits of other processes are noticed by
``PRAGMA data_version`` (it changes when another connection commits); a cache
that fell behind fetches only the rows written and keys removed since its
version (:meth:`refresh`).
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core.js import json as jsjson

from openclaw_core.base.errors import OpenClawError, StoreConflict, StoreCorruptError, StoreLockTimeout
from openclaw_core.engine.store.backend import StoreBackend, refresh_from_rows, state_from_rows
from openclaw_core.engine.store.state import ChangeSet, StoreState
from openclaw_core.engine.store.chunks import encode_chunk, gc_paused
from openclaw_core.base.errors import first_line
from openclaw_core.engine.store.rows import entry_body
from openclaw_store_sqlite.schema import FORMAT, create_database, header_problem
from openclaw_store_sqlite.removal import delete_rows
from openclaw_store_sqlite.columns import entry_columns, row_key
from openclaw_store_sqlite.queries import SqliteQueries
from openclaw_store_sqlite.temps import sweep_temps
from openclaw_store_sqlite.lazy import lazy_state, reencoded

if TYPE_CHECKING:
    from openclaw_core.contract.hooks import Hooks
    from openclaw_core.config.model import Config

#: (store uid, store version); None while the store does not exist
SqliteVersion = tuple[str, int]

DATABASE_SUFFIX = ".sqlite"
SIDE_FILES = ("-wal", "-shm", "-journal")
READ_BUSY_MS = 10_000            # a reader waits this long at most (WAL readers rarely wait at all)
FORGET_REMOVALS_EVERY = 256      # commits between two prunes of the removed-keys log
KEEP_REMOVALS_FOR = 4096         # commits a lagging cache may be behind and still catch up row by row


class StoreUnavailable(OpenClawError):
    """The database refused the operation (disk full, I/O error, read-only); nothing was written."""


def database_path(store_path: str) -> str:
    """Where the store of ``store_path`` lives: ``X.json`` -> ``X.sqlite`` beside it."""
    base = store_path[:-5] if store_path.endswith(".json") else store_path
    return base + DATABASE_SUFFIX


class SqliteStoreBackend(SqliteQueries, StoreBackend):
    name = "sqlite"
    incremental_refresh = True

    def __init__(self, store_path: str | os.PathLike[str], config: Config, hooks: Hooks) -> None:
        self.hooks = hooks
        super().__init__(os.path.abspath(store_path), config)
        self.db_path = database_path(self.path)
        self._mutex = threading.RLock()        # one user of the connection at a time
        self._conn: sqlite3.Connection | None = None
        self._conn_inode: int | None = None
        self._depth = 0                        # exclusive() nesting
        self._busy_ms = -1
        # (PRAGMA data_version, store version) when last asked: unchanged
        # data_version means no other connection committed since.
        self._cached: tuple[int, SqliteVersion | None] | None = None
        # The state last handed out or written: its version and next free position.
        self._tracked: tuple[SqliteVersion | None, int] | None = None
        # Keys whose stored text or columns are not what we write (edited by
        # hand, or migrated on load): the next commit rewrites them.
        self._dirty: set[str] = set()
        # The chunks of a lazily loaded state as loaded (see lazy.py), kept while the state lives.
        self._lazy_loaded: weakref.WeakKeyDictionary[StoreState, dict[str, bytes]] = weakref.WeakKeyDictionary()
        self._swept = False  # temp databases of killed creators removed (once per backend)

    # -- identity ------------------------------------------------------------------------------

    @property
    def identity(self) -> str:
        return "sqlite:" + os.path.realpath(self.db_path)

    @property
    def source(self) -> str:
        return self.db_path

    def excluded_files(self) -> frozenset[str]:
        name = Path(self.db_path).name
        # sessions.json beside the database is not this store (a leftover of the file store)
        return super().excluded_files() | {Path(self.path).name, name} | {name + s for s in SIDE_FILES}

    # -- the connection ------------------------------------------------------------------------------

    @contextmanager
    def _db(self, doing: str) -> Iterator[None]:
        """SQLite's errors as one-line errors the CLI prints."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = first_line(exc)
            if "locked" in text or "busy" in text:
                raise StoreLockTimeout(f"session store {self.db_path} is locked by another process ({text}); "
                                       f"nothing was written") from None
            raise StoreUnavailable(f"cannot {doing} session store {self.db_path}: {text}") from None
        except sqlite3.IntegrityError as exc:  # rows not as the cache thought: reload and re-run
            raise StoreConflict(f"session store {self.db_path} is out of step with its cache: "
                                f"{first_line(exc)}") from None
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.DatabaseError as exc:  # SQLITE_CORRUPT, SQLITE_NOTADB
            self._drop_connection()
            raise StoreCorruptError(self.db_path, first_line(exc)) from None

    def _connection(self, create: bool) -> sqlite3.Connection | None:
        """The open connection; None when there is no database and ``create`` is
        false. A database file that is not ours is refused before it is opened."""
        conn = self._conn
        if conn is not None:
            if self._depth:
                return conn  # never reopen inside exclusive(): the new one would not hold the lock
            try:
                inode = os.stat(self.db_path).st_ino
            except OSError:
                inode = None
            if inode == self._conn_inode:
                return conn
            self._drop_connection()  # replaced or removed under us
        if not self._swept:
            sweep_temps(self.db_path)  # a killed create's leftovers (create_database sweeps too)
            self._swept = True
        if not os.path.lexists(self.db_path):
            if not create:
                return None
            os.makedirs(os.path.dirname(self.db_path), exist_ok=True)
            create_database(self.db_path)
        try:
            problem = header_problem(self.db_path)
        except IsADirectoryError:
            problem = "it is a directory"
        except OSError as exc:
            problem = exc.strerror or str(exc)
        if problem is not None:
            raise StoreCorruptError(self.db_path, problem)
        inode = os.stat(self.db_path).st_ino
        conn = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False,
                               timeout=READ_BUSY_MS / 1000)
        try:
            conn.execute("PRAGMA synchronous = FULL")  # WAL fsynced at every commit
            # Deleted rows are zeroed on the pages a commit writes anyway, but pages
            # freed whole are not rewritten just to zero them (many builds default to
            # zeroing them: a cleanup of 400,000 rows then writes the freed pages too).
            conn.execute("PRAGMA secure_delete = FAST")
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            found = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if found is None or found[0] != FORMAT:
                raise StoreCorruptError(self.db_path, "its meta table does not name it a session store")
            if mode != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreCorruptError(self.db_path, first_line(exc)) from None
        except BaseException:
            conn.close()
            raise
        self._conn, self._conn_inode, self._busy_ms, self._cached = conn, inode, READ_BUSY_MS, None
        return conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._cached = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._mutex:
            self._drop_connection()

    @contextmanager
    def _snapshot(self, conn: sqlite3.Connection) -> Iterator[None]:
        """One consistent read: a read transaction unless one is open already."""
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def _begin_immediate(self, conn: sqlite3.Connection, timeout: float) -> None:
        busy_ms = max(1, math.ceil(timeout * 1000))
        if busy_ms != self._busy_ms:
            conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
            self._busy_ms = busy_ms
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            text = first_line(exc)
            if "locked" in text or "busy" in text:
                raise StoreLockTimeout(
                    f"timed out after {timeout:g}s waiting for the lock of session store {self.db_path} "
                    f"(another openclaw process is committing to it)") from None
            raise

    # -- versions ------------------------------------------------------------------------------------

    @staticmethod
    def _query_version(conn: sqlite3.Connection) -> SqliteVersion | None:
        row = conn.execute("SELECT uid, version FROM store WHERE id = 1").fetchone()
        return None if row is None else (row[0], row[1])

    def version(self) -> SqliteVersion | None:
        with self._mutex, self._db("read"):
            conn = self._connection(create=False)
            if conn is None:
                return None
            if conn.in_transaction:
                return self._query_version(conn)  # under the lock the database itself answers
            data_version = conn.execute("PRAGMA data_version").fetchone()[0]
            cached = self._cached
            if cached is not None and cached[0] == data_version:
                return cached[1]
            version = self._query_version(conn)
            self._cached = (data_version, version)
            return version

    # -- reading --------------------------------------------------------------------------------------

    def _decode(self, key: str, raw: bytes, columns: tuple[Any, Any, Any]) -> tuple[dict[str, Any], bytes, bool]:
        """The validated, normalised entry of one row, its chunk, and whether the
        row already holds exactly what we would write."""
        entry = self._row_entry(key, raw)  # exactly what StoreState.from_entries does for a file
        try:
            chunk = encode_chunk(key, entry, parsed=True)
        except jsjson.JSONError as exc:
            raise StoreCorruptError(self.db_path, f'entry {jsjson.js_string(key)}: {exc}') from None
        return entry, chunk, entry_body(key, chunk) == raw and tuple(columns) == entry_columns(entry)

    def load(self) -> StoreState:
        with self._mutex, self._db("read"):
            conn = self._connection(create=False)
            store = rows = None
            if conn is not None:
                with self._snapshot(conn):
                    store = conn.execute("SELECT uid, version, next_position FROM store WHERE id = 1").fetchone()
                    if store is not None:
                        rows = conn.execute("SELECT session_key, entry, updated_at, sort_value, updated_is_number "
                                            "FROM entries ORDER BY position").fetchall()
        if store is None:
            self._tracked = (None, 0)
            self._dirty = set()
            return StoreState.missing()
        version: SqliteVersion = (store[0], store[1])

        def decoded() -> Iterator[tuple[str, dict[str, Any], bytes, bool]]:
            for key_blob, raw, *columns in rows or ():
                key = key_blob.decode("utf-8", "surrogatepass")
                yield (key, *self._decode(key, raw, columns))

        state, dirty = state_from_rows(decoded(), version)
        self._tracked = (version, store[2])
        self._dirty = dirty
        return state

    @gc_paused()
    def load_lazy(self) -> StoreState:
        """Every row as its text and top-level scalars (lazy.py): a cleanup of a big
        store normalises and re-encodes only the entries it keeps."""
        with self._mutex, self._db("read"):
            conn = self._connection(create=False)
            if conn is None:
                return self.load()
            with self._snapshot(conn):
                store = conn.execute("SELECT uid, version, next_position FROM store WHERE id = 1").fetchone()
                if store is None:
                    return self.load()
                version: SqliteVersion = (store[0], store[1])
                found = lazy_state(conn.execute("SELECT session_key, entry, updated_at, sort_value, "
                                                "updated_is_number FROM entries ORDER BY position"),
                                   version, self.db_path)
        if found is None:
            return self.load()  # a row out of the ordinary: the full load reads (or refuses) it
        state, self._dirty, loaded = found
        self._lazy_loaded[state] = loaded
        self._tracked = (version, store[2])
        return state

    def refresh(self, state: StoreState) -> StoreState:
        """Catch ``state`` up with the rows written and the keys removed since its
        version; a full load when it is too old, replaced, or not ours."""
        tracked = self._tracked
        if tracked is None or state.version is None or tracked[0] != state.version:
            return self.load()
        uid, version = state.version
        with self._mutex, self._db("read"):
            conn = self._connection(create=False)
            if conn is None:
                return self.load()
            with self._snapshot(conn):
                store = conn.execute("SELECT uid, version, next_position, refresh_floor FROM store "
                                     "WHERE id = 1").fetchone()
                usable = store is not None and store[0] == uid and store[3] <= version <= store[1]
                if usable and store[1] == version:
                    return state
                if usable:
                    changed = conn.execute("SELECT session_key, position, entry, updated_at, sort_value, "
                                           "updated_is_number FROM entries WHERE version > ? ORDER BY position",
                                           [version]).fetchall()
                    removed = [r[0].decode("utf-8", "surrogatepass") for r in
                               conn.execute("SELECT session_key FROM removed WHERE version > ?", [version])]
        if not usable:
            return self.load()
        def rows() -> Iterator[tuple[str, int, dict[str, Any], bytes, bool]]:
            for key_blob, position, raw, *columns in changed:
                key = key_blob.decode("utf-8", "surrogatepass")
                yield (key, position, *self._decode(key, raw, columns))

        if not refresh_from_rows(state, removed, rows(), tracked[1], self._dirty, (store[0], store[1])):
            return self.load()  # a row we never saw at an old place: out of step
        self._tracked = (state.version, store[2])
        return state

    # -- writing ----------------------------------------------------------------------------------------

    def exclusive(self, timeout: float) -> AbstractContextManager[Any]:
        return self._exclusive(timeout)

    @contextmanager
    def _exclusive(self, timeout: float) -> Iterator[None]:
        with self._mutex:
            if self._depth == 0:
                with self._db("lock"):
                    self._begin_immediate(self._connection(create=True), timeout)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    conn = self._conn
                    if conn is not None and conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")  # nothing was committed in it: leave no trace

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[sqlite3.Connection]:
        """The write transaction exclusive() opened (or one of its own), committed
        at the end; rolled back on any error."""
        with self._mutex, self._db(doing):
            conn = self._connection(create=True)
            assert conn is not None
            if not conn.in_transaction:
                self._begin_immediate(conn, 60.0)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def _after_commit(self, conn: sqlite3.Connection, version: SqliteVersion | None) -> None:
        self._cached = (conn.execute("PRAGMA data_version").fetchone()[0], version)

    def _is_protected(self, key: str, entry: dict[str, Any]) -> bool:
        return self.hooks.is_protected(key, entry, self.path)

    def _protection_rules(self) -> str:
        return self.hooks.protection_rules()

    def _row(self, state: StoreState, key: str, rules: str, version: int) -> tuple[Any, ...]:
        """(entry, updated_at, sort_value, updated_is_number, protected, protected_by, version, key)."""
        entry = state.entries[key]
        return (entry_body(key, state.chunks[key]), *entry_columns(entry), int(self._is_protected(key, entry)),
                rules, version, row_key(key))

    def write(self, state: StoreState, changes: ChangeSet, expected_version: Any) -> SqliteVersion:
        loaded = self._lazy_loaded.pop(state, None)
        if loaded is not None:
            self._dirty.update(reencoded(state, loaded))  # rows a full load would call dirty
        appended = [k for k in changes.appended if k in changes.upserted]
        in_place = [k for k in changes.upserted if k not in changes.appended]
        in_place += [k for k in self._dirty if k in state.chunks and k not in changes.upserted]
        removed = sorted(changes.removed)
        rules = self._protection_rules()
        with self._transaction("write") as conn:
            store = conn.execute("SELECT uid, version, next_position FROM store WHERE id = 1").fetchone()
            current = None if store is None else (store[0], store[1])
            if current != expected_version:
                raise StoreConflict(f"session store {self.db_path} changed while it was being updated")
            if store is None:
                store = (uuid.uuid4().hex, 0, 0)
                conn.execute("INSERT INTO store (id, uid, version, next_position, refresh_floor) "
                             "VALUES (1, ?, 0, 0, 0)", [store[0]])
            uid, version, next_position = store
            new_version = version + 1
            if removed:
                delete_rows(conn, [row_key(k) for k in removed], new_version,
                            len(removed) > max(KEEP_REMOVALS_FOR, len(state.entries)))
            if in_place:
                cur = conn.executemany(
                    "UPDATE entries SET entry = ?, updated_at = ?, sort_value = ?, updated_is_number = ?, "
                    "protected = ?, protected_by = ?, version = ? WHERE session_key = ?",
                    [self._row(state, k, rules, new_version) for k in in_place])
                if cur.rowcount != len(in_place):
                    raise StoreConflict(f"session store {self.db_path} is out of step with its cache")
            if appended:
                rows = [(*self._row(state, k, rules, new_version), next_position + i) for i, k in enumerate(appended)]
                # A key deleted and set again in this group still has its row: it moves.
                conn.executemany("DELETE FROM entries WHERE session_key = ?", [(r[7],) for r in rows])
                conn.executemany(
                    "INSERT INTO entries (entry, updated_at, sort_value, updated_is_number, protected, "
                    "protected_by, version, session_key, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                conn.executemany("DELETE FROM removed WHERE session_key = ?", [(r[7],) for r in rows])
            next_position += len(appended)
            conn.execute("UPDATE store SET version = ?, next_position = ? WHERE id = 1",
                         [new_version, next_position])
            if new_version % FORGET_REMOVALS_EVERY == 0 and new_version > KEEP_REMOVALS_FOR:
                floor = new_version - KEEP_REMOVALS_FOR
                conn.execute("DELETE FROM removed WHERE version <= ?", [floor])
                conn.execute("UPDATE store SET refresh_floor = max(refresh_floor, ?) WHERE id = 1", [floor])
        result: SqliteVersion = (uid, new_version)
        with self._mutex:
            self._after_commit(conn, result)
        self._dirty.difference_update(in_place)
        self._dirty.difference_update(appended)
        self._tracked = (result, next_position)
        return result

    def import_bytes(self, data: bytes) -> None:
        """Replace the whole store in one transaction; every cache of the old one
        reloads (a new uid)."""
        incoming = StoreState.parse(data, source="import")
        rules = self._protection_rules()
        rows = [(*self._row(incoming, key, rules, 1), position) for position, key in enumerate(incoming.entries)]
        with self.exclusive(60.0), self._transaction("import") as conn:
            conn.execute("DELETE FROM entries")
            conn.execute("DELETE FROM removed")
            conn.execute("DELETE FROM store")
            conn.execute("INSERT INTO store (id, uid, version, next_position, refresh_floor) VALUES (1, ?, 1, ?, 1)",
                         [uuid.uuid4().hex, len(rows)])
            conn.executemany(
                "INSERT INTO entries (entry, updated_at, sort_value, updated_is_number, protected, "
                "protected_by, version, session_key, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self._tracked = None
        self._cached = None

    def retire(self) -> str | None:
        """Delete the store's rows (the migration verified the copy first); the
        database file stays, holding no store."""
        with self._transaction("retire") as conn:
            conn.execute("DELETE FROM entries")
            conn.execute("DELETE FROM removed")
            conn.execute("DELETE FROM store")
        self._tracked = None
        self._cached = None
        return None

    def drop_if_empty(self) -> bool:
        """Forget a store with no entries left (a deleted agent's). Its database
        usually went to the trash with the sessions dir: then nothing is created."""
        with self._mutex:
            if self._connection(create=False) is None:
                return False
            with self.exclusive(60.0), self._transaction("remove") as conn:
                if conn.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is not None:
                    return False
                dropped = conn.execute("DELETE FROM store").rowcount
            self._tracked = None
            self._cached = None
            return bool(dropped)

    # -- reads that do not load the store ---------------------------------------------------------------


    # -- maintenance push-down --------------------------------------------------------------------------


