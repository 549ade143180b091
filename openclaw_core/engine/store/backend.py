"""The writer's seam: where a store lives is a plugin's business.

A backend loads a validated :class:`StoreState`, tells whether the stored
store moved since a version it handed out, writes a commit atomically and
durably, and reports outside changes. The writer, maintenance, the Gateway
and the CLI only ever talk to this interface; the file store
(``openclaw_store_file``) and the PostgreSQL store are plugins behind it,
chosen by ``session.backend`` through the ``openclaw_store_backend`` hook.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from openclaw_core.js import json as jsjson
from openclaw_core.base.errors import ConfigError
from openclaw_core.base.keys import store_key
from openclaw_core.engine.store.state import ChangeSet, StoreState

if TYPE_CHECKING:
    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks


#: what ``openclaw store migrate`` appends to a retired store file's name
RETIRED_SUFFIX = ".migrated"


class StoreBackend(ABC):
    """One store. Instances are owned by one writer (one per store per process)."""

    #: the ``session.backend`` value this class serves
    name: ClassVar[str] = ""
    #: True when :meth:`refresh` costs O(changed entries): the writer then keeps
    #: its cache on an outside change and refreshes it instead of dropping it
    incremental_refresh: ClassVar[bool] = False

    def __init__(self, store_path: str | Path, config: Config) -> None:
        self.path = str(store_path)
        self.config = config

    # -- identity ------------------------------------------------------------------

    @property
    def identity(self) -> str:
        """Key of the writer registry: two paths naming one store must agree."""
        return self.path

    @property
    def sessions_dir(self) -> Path:
        """Where the store's transcripts live (they stay files on every backend)."""
        return Path(self.path).parent

    def excluded_files(self) -> frozenset[str]:
        """Names in the sessions dir that belong to the backend, not to sessions
        (lock files, the copy a migration retired): listings and the disk
        budget skip them."""
        return frozenset({Path(self.path).name + RETIRED_SUFFIX})

    # -- the seam ------------------------------------------------------------------------

    @abstractmethod
    def load(self) -> StoreState:
        """The validated store with its version; :meth:`StoreState.missing` when
        there is none. Raise :class:`StoreCorruptError` for a store that does
        not parse (and never repair it)."""

    def load_lazy(self) -> StoreState:
        """Like :meth:`load`, for a commit that will keep few of the entries it
        looks at (``sessions cleanup`` of a big store): a backend that can should
        return a lazily decoded state (``StoreState.parse(..., lazy=True)``). The
        writer drops such a state after that one commit. Default: :meth:`load`."""
        return self.load()

    def load_entries(self, normalize: Callable[[dict[str, Any]], Any]) -> Mapping[str, dict[str, Any]]:
        """The entries for a one-shot reader that keeps nothing and writes nothing
        (``openclaw sessions``), each passed through ``normalize``, which brings
        the fields that reader looks at into their loaded form. A backend that can
        skips what only commits need (``StoreState.parse_entries``). Default: the
        entries of :meth:`load`."""
        return self.load().entries

    def refresh(self, state: StoreState) -> StoreState:
        """Bring a cached ``state`` up to the stored version.

        The default reloads everything. A backend that can fetch only what
        changed since ``state.version`` (rows of other writers) should apply
        those changes to ``state`` and return it, so that a foreign commit
        costs O(changed entries) instead of O(store).
        """
        return self.load()

    @abstractmethod
    def version(self) -> Any:
        """The stored version now (cheap). Compared with ``StoreState.version``."""

    @abstractmethod
    def write(self, state: StoreState, changes: ChangeSet, expected_version: Any) -> Any:
        """Make ``state`` the stored store, atomically and durably; return its new version.

        ``changes`` says which keys differ from ``expected_version`` (a backend
        that stores rows writes only those). Raise :class:`StoreConflict` if
        the stored version is no longer ``expected_version``.
        """

    def stale_keys(self, state: StoreState, cutoff_ms: float, also: Iterable[str] = ()) -> list[str] | None:
        """Keys of ``state`` that may be stale, from an index: None (the default)
        when the backend has none and the stale prune must look at every entry.

        A backend that answers returns, in store order, a superset of the keys
        whose ``updatedAt`` compares below ``cutoff_ms`` the JavaScript way and
        that the ``openclaw_entry_protected`` decision would not keep, counting
        every key in ``state.unsaved`` and ``also`` (changed in memory, not yet
        stored). The policy checks each key it gets, so results are those of a
        full scan.
        """
        return None

    def newest_entries(self, limit: int, active_minutes: float | None,
                       now_ms: int) -> tuple[list[tuple[str, dict[str, Any]]], int] | None:
        """``sessions --limit N`` without loading the store, from an index: None (the
        default) when the backend cannot, and the caller reads the whole store.

        A backend that answers returns ``(pairs, total)``: ``pairs`` the (key,
        entry) of at least the ``limit`` entries the listing shows first, newest
        first by ``Number(updatedAt ?? 0)`` with ties in store order, each entry
        as a full load would give it; ``total`` the number of entries listed
        before the limit. With ``active_minutes`` only entries whose ``updatedAt``
        is a number at most that many minutes before ``now_ms`` count (the
        listing's ``--active``). It returns None when an ``updatedAt`` would sort
        as NaN (the reference's order then depends on every entry)."""
        return None

    def lookup(self, key: str) -> tuple[bool, dict[str, Any] | None] | None:
        """One entry without loading the store: ``(True, entry)`` (a fresh object,
        as a full load gives it), ``(False, None)`` when the store has no such key
        (exact match), or None (the default) when the backend cannot and the
        caller reads the whole store."""
        return None

    def exclusive(self, timeout: float) -> AbstractContextManager[Any]:
        """Cross-process exclusion held around one commit (load check, mutations, write)."""
        return nullcontext()

    def watch(self, on_change: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``on_change`` when the store may have changed outside this process.

        Return a function that stops watching, or None if the backend cannot
        watch (the writer's version check still catches every change).
        """
        return None

    def export_bytes(self) -> bytes:
        """The store as the reference's ``sessions.json`` bytes."""
        return self.load().text()

    def import_bytes(self, data: bytes) -> None:
        """Replace the whole store with parsed ``sessions.json`` bytes (one commit)."""
        incoming = StoreState.parse(data, source="import")
        with self.exclusive(60.0):
            current = self.load()  # under the lock: nobody commits in between
            changes = ChangeSet(upserted=dict(incoming.chunks), removed=set(current.entries) - set(incoming.entries),
                                appended=dict.fromkeys(incoming.entries))
            incoming.version = current.version
            self.write(incoming, changes, current.version)

    def retire(self) -> str | None:
        """Take the store out of service once ``openclaw store migrate`` copied it
        to another backend, so no process keeps using a stale copy. Called
        inside :meth:`exclusive` (held since the copy was read).

        Return where the old copy was kept (told to the user), or None when
        it was removed. The file store renames ``sessions.json`` to
        ``sessions.json`` + :data:`RETIRED_SUFFIX`.
        """
        raise NotImplementedError(f"the {self.name or type(self).__name__} store backend cannot be migrated from")

    def drop_if_empty(self) -> bool:
        """Forget the store if it holds no entries: its agent was deleted (entries
        purged) and its sessions dir went to the trash. The file store has
        nothing to do (the file went with the dir); a database removes what it
        keeps about the store, so nothing of a deleted agent stays behind.
        Returns True when something was removed."""
        return False

    def close(self) -> None:
        """Release connections, observers and handles."""


def open_backend(store_path: str | Path, config: Config, hooks: Hooks) -> StoreBackend:
    """The backend ``session.backend`` selects for ``store_path`` (first plugin wins)."""
    name = config.session_backend
    backend = hooks.store_backend(name, str(store_path), config)
    if backend is None:
        raise ConfigError(f'session.backend "{name}": no installed plugin provides this store backend')
    return backend


def state_from_rows(decoded: Iterable[tuple[str, dict[str, Any], bytes, bool]], version: Any
                    ) -> tuple[StoreState, set[str]]:
    """A row backend's full load: ``decoded`` rows in position order as ``(key,
    entry, chunk, canonical)`` -> the state (integer-like keys first, as JS
    orders them) and the keys whose stored text is not canonical."""
    entries: dict[str, dict[str, Any]] = {}
    chunks: dict[str, bytes] = {}
    dirty: set[str] = set()
    for key, entry, chunk, canonical in decoded:
        entries[key] = entry
        chunks[key] = chunk
        if not canonical:
            dirty.add(key)
    order = jsjson.js_key_order(list(entries))
    if order is not None:
        entries = {k: entries[k] for k in order}
    return StoreState(entries, chunks, version, on_disk_matches=not dirty), dirty


def refresh_from_rows(state: StoreState, removed: Iterable[str],
                      changed: Iterable[tuple[str, int, dict[str, Any], bytes, bool]], next_position: int,
                      dirty: set[str], version: Any) -> bool:
    """Bring a row backend's cached ``state`` to ``version``: ``removed`` keys and
    ``changed`` rows as ``(key, position, entry, chunk, canonical)``, where a
    position at or past ``next_position`` (the one the state was read at) is an
    appended row. Every row is decoded before anything is applied (a decode
    error leaves ``state`` untouched). False, with nothing applied, when a row
    sits at an old place the state never held: the caller loads the store whole."""
    decoded = []
    for key, position, entry, chunk, canonical in changed:
        if position < next_position and key not in state.entries:
            return False
        decoded.append((key, position >= next_position, entry, chunk, canonical))
    apply_changed_rows(state, removed, decoded, dirty)
    state.version = version
    state.on_disk_matches = not dirty
    state.exists = True
    return True


def apply_changed_rows(state: StoreState, removed: Iterable[str],
                       decoded: list[tuple[str, bool, dict[str, Any], bytes, bool]], dirty: set[str]) -> None:
    """Bring a cached ``state`` up to date with what a row backend (PostgreSQL,
    SQLite) read since its version: ``removed`` keys, then ``decoded`` rows as
    ``(key, appended, entry, chunk, canonical)``. An appended row moves to the end
    (new, or deleted and set again), as in the file; integer-like keys go first, as
    JS orders them. ``dirty`` (the keys whose stored text is not canonical) follows."""
    entries, chunks = state.entries, state.chunks
    for key in removed:
        if entries.pop(key, None) is not None:
            del chunks[key]
            state.noncanonical_keys.discard(key)
        dirty.discard(key)
    for key, appended, entry, chunk, canonical in decoded:
        if appended:
            entries.pop(key, None)
        entries[key] = entry
        chunks[key] = chunk
        if key != store_key(key):
            state.noncanonical_keys.add(key)
        if canonical:
            dirty.discard(key)
        else:
            dirty.add(key)
    if any(jsjson.is_index_key(key) for key, *_ in decoded):
        order = jsjson.js_key_order(list(entries))
        if order is not None:
            items = [(k, entries[k]) for k in order]
            entries.clear()
            entries.update(items)
