"""Which files of a sessions dir maintenance may delete when other stores share it.

With ``session.store`` templated into one directory (``<dir>/{agentId}.json``)
every agent's store keeps its transcripts side by side. The reference's disk
budget and sweeps call a transcript the current store does not reference an
orphan, so one agent's budget deletes another agent's live transcripts (and its
stale prune renames one that another store names too). Here a file goes (or is
archived) only if no store of that directory references it: every other
``*.json`` there that parses as a JSON object counts as a store, read under its
lock, and the locks stay held while files are removed (so the Gateway cannot
commit a new reference to a file in between). What cannot be proven
unreferenced stays: a ``*.json`` that does not parse, or a store whose lock is
not free within :data:`LOCK_WAIT`, keeps every transcript of the dir. On a
backend whose stores are rows (PostgreSQL, SQLite), the configured agents'
stores in the same dir are read through their backend.
(docs/differences.md; tests/test_hostile_store.py.)
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from openclaw_core.js import json as jsjson
from openclaw_core.engine.maintenance import MaintenanceContext

from openclaw_maintenance import artifacts
from openclaw_maintenance.transcripts import SessionFiles

LOCK_WAIT = 1.0  # seconds to wait for another store's lock before keeping everything
_MAX_STORE_BYTES = 256 << 20  # a bigger "store" is not read: it keeps every transcript


class OtherStores:
    """The references of every other store in one sessions dir, read on first use."""

    def __init__(self, ctx: MaintenanceContext, files: SessionFiles, referenced_paths: Callable[..., set[str]],
                 *, lock: bool) -> None:
        self._ctx = ctx
        self._files = files
        self._referenced_paths = referenced_paths
        self._lock = lock
        self._referenced: set[str] | None = None
        self._unprovable = False  # some store could not be read: no session file is provably free

    def may_remove(self, canonical: str) -> bool:
        """Whether no other store of the dir references (or might reference) this file."""
        if self._referenced is None:
            self._referenced = self._read()
        if canonical in self._referenced:
            return False
        return not (self._unprovable and _session_file(os.path.basename(canonical)))

    def keeps(self, canonical: str) -> bool:
        """The opposite of :meth:`may_remove` (what the archive rename skips)."""
        return not self.may_remove(canonical)

    def _read(self) -> set[str]:
        here = self._files
        own = here.canonical(self._ctx.store_path)
        excluded = self._ctx.excluded_files()
        referenced: set[str] = set()
        try:
            names = sorted(os.listdir(here.dir))
        except OSError:
            self._unprovable = True
            return referenced
        for name in names:
            if not name.endswith(".json") or name in excluded or artifacts.is_trajectory_artifact(name):
                continue
            path = os.path.join(here.dir, name)
            if here.canonical(path) == own:
                continue
            entries = self._load(path)
            if entries is None:
                continue
            if entries is False:
                self._unprovable = True
                continue
            referenced |= self._referenced_paths((e for e in entries.values() if isinstance(e, dict)), here)
        if self._ctx.backend.name != "file":
            referenced |= self._read_backend_siblings(own)
        return referenced

    def _read_backend_siblings(self, own: str) -> set[str]:
        """Stores that are rows (PostgreSQL, SQLite) leave no ``*.json`` to scan: the
        configured agents' stores in this dir are asked of their backend instead."""
        here = self._files
        config = self._ctx.backend.config
        referenced: set[str] = set()
        for agent_id in config.agent_ids():
            try:
                path = str(config.store_path(agent_id))
            except Exception:  # noqa: BLE001 - a store we cannot name cannot be proven free of references
                self._unprovable = True
                continue
            if os.path.dirname(here.canonical(path)) != os.path.dirname(own) or here.canonical(path) == own:
                continue
            try:
                state = _load_rows(path, config, self._ctx.hooks)  # a missing store is empty, and is not created
                if self._lock and state.exists and not self._ctx.effects.holds("rows:" + path):
                    # Its write lock, held by the run as a lock file's is (_load): until the
                    # planned files are gone its writer must not commit a reference to one.
                    self._ctx.effects.hold("rows:" + path, _rows_locked(path, config, self._ctx.hooks))
                    state = _load_rows(path, config, self._ctx.hooks)  # under its lock
                entries = state.entries
            except Exception:  # noqa: BLE001 - unreadable now: keep every session file of the dir
                self._unprovable = True
                continue
            referenced |= self._referenced_paths((e for e in entries.values() if isinstance(e, dict)), here)
        return referenced

    def _load(self, path: str) -> dict[str, Any] | None | bool:
        """The store object at ``path``; None when it is no store (not a regular
        file, JSON but not an object); False when it cannot be known."""
        first = _read_json(path)
        if not isinstance(first, dict):
            return first if first is False else None
        if not self._lock:
            return first
        from openclaw_core.base.errors import StoreLockTimeout

        hooks, effects = self._ctx.hooks, self._ctx.effects
        if not effects.holds(path):
            held = hooks.store_lock(path + ".lock", path, LOCK_WAIT) if hooks is not None else None
            if held is not None:
                try:
                    # Held past this policy: the files it plans are removed at the
                    # commit's point of no return, and until then no other store may name them.
                    effects.hold(path, held)
                except (StoreLockTimeout, OSError):
                    return False  # busy or unlockable: its references cannot be known now
        again = _read_json(path)  # under its lock: what it references until we are done
        return again if isinstance(again, dict) or again is False else None


def _load_rows(path: str, config: Any, hooks: Any) -> Any:
    from openclaw_core.engine.store.backend import open_backend

    backend = open_backend(path, config, hooks)
    try:
        return backend.load()
    finally:
        backend.close()


@contextmanager
def _rows_locked(path: str, config: Any, hooks: Any) -> Iterator[None]:
    """A row store's write lock (its own backend and connection), then that backend closed."""
    from openclaw_core.engine.store.backend import open_backend

    backend = open_backend(path, config, hooks)
    try:
        with backend.exclusive(LOCK_WAIT):
            yield
    finally:
        with contextlib.suppress(Exception):  # released after the commit: its close must not fail it
            backend.close()


@contextmanager
def other_stores(ctx: MaintenanceContext, files: SessionFiles,
                 referenced_paths: Callable[..., set[str]]) -> Iterator[OtherStores]:
    """The other stores of the store's dir, their locks taken (not in a dry run)
    and held by the run (``ctx.effects``) until the commit's planned files are
    removed, or it failed."""
    yield OtherStores(ctx, files, referenced_paths, lock=not ctx.dry_run)


def _session_file(name: str) -> bool:
    """The files a store can reference: transcripts, checkpoints, trajectories
    (archives are what a removal left; only an explicit reference keeps one)."""
    return name.endswith(".jsonl") or artifacts.is_trajectory_artifact(name)


def _read_json(path: str) -> Any:
    """The parsed JSON at ``path``; None when it is no regular file or gone; False
    when it cannot be read or parsed (it may be a store mid-write or damaged)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_size > _MAX_STORE_BYTES:
            return False
        chunks = []
        while block := os.read(fd, 1 << 20):
            chunks.append(block)
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    try:
        return jsjson.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 - any parse failure means "cannot prove"
        return False
