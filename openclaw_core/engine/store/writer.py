"""One writer per store per process: a FIFO queue, a thread that drains it,
and group commit.

A mutation borrows the writer's validated in-memory store (no re-read, no
deep copy) and runs while nothing else touches it. Mutations that queued up
behind a running commit are applied one after another and then committed
together: one maintenance run, one atomic write, one fsync. Every caller's
future resolves only after that write is durable. A mutation that raises is
undone from the encoded chunks and fails alone.

Before each commit the writer asks the backend for the store's version
(file identity, database counter). If it moved, or the backend's watcher
said so, the store is reloaded first, so a change made outside this process
is never overwritten unseen; a conflict detected during the write itself
re-runs the whole group on the fresh store.

A mutation may carry a :class:`~openclaw_core.base.cancel.CancelToken`. The writer
checks it at each stage (store loaded, each mutation, each maintenance
policy) and passes the *point of no return* just before the write (the
innermost ``openclaw_store_commit``), before any file of the commit is
touched: maintenance only plans its renames and deletions, which are
performed there, then the store is written. Cancelled before that point,
the commit is dropped and nothing on disk changed; after it, the token is
ignored and the commit completes.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from openclaw_core.base.cancel import CancelToken, OperationCancelled
from openclaw_core.base.errors import StoreConflict
from openclaw_core.engine.store.state import ChangeSet, MutationView, StoreState
from openclaw_core.engine.store.chunks import decode_chunk, gc_paused
from openclaw_core.engine.store.commit import CommitResult, Mutation, StoreCommit, begin_commit, check_cancelled

if TYPE_CHECKING:
    from concurrent.futures import Future
    from openclaw_core.engine.effects import DeferredEffects
    from openclaw_core.engine.maintenance import MaintenanceReport, MaintenanceRequest, MaintenanceSettings
    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks
    from openclaw_core.engine.store.backend import StoreBackend

T = TypeVar("T")

MAX_GROUP = 512          # mutations per commit at most
CONFLICT_RETRIES = 5     # re-runs of a group whose write met an outside change
IDLE_SECONDS = 30.0      # the writer thread ends after this long with nothing to do
LOCK_TIMEOUT = 60.0      # seconds to wait for another process's commit
GROUP_WAIT = 0.003       # seconds a commit may wait for the callers the previous one answered
#: submit's default: the maintenance of an ordinary write (a MaintenanceRequest(),
#: made at call time: a reader such as ``openclaw sessions`` never imports maintenance)
ORDINARY: Any = object()


class StoreWriter:
    """The single writer of one store in this process (see the module docstring)."""

    def __init__(self, backend: StoreBackend, config: Config, hooks: Hooks | None, *,
                 watch: bool = True, log: Callable[[str], None] | None = None) -> None:
        self.backend = backend
        self.config = config
        self.hooks = hooks
        self.log = log
        self._queue: deque[Mutation] = deque()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._state_lock = threading.RLock()
        self._state: StoreState | None = None
        self._snapshot: Mapping[str, Any] | None = None
        self._closed = False
        self._stop_watch: Callable[[], None] | None = None
        self._watch = watch
        self._group_target = 1    # mutations the next group is expected to gather (see _run)
        self.commits = 0          # durable writes made (for tests and benchmarks)
        self.mutations = 0        # mutations acknowledged

    # -- public ----------------------------------------------------------------------------

    def submit(self, fn: Callable[[MutationView], T], *, maintenance: MaintenanceRequest | None | Any = ORDINARY,
               alone: bool = False, allow_drop_acp: frozenset[str] = frozenset(), lazy: bool = False,
               cancel: CancelToken | None = None) -> Future:
        """Queue a mutation; the future resolves to a :class:`CommitResult` once durable.

        ``lazy`` is for a commit that keeps few of the entries it looks at (a
        cleanup): when the store is not cached it is loaded lazily
        (:meth:`StoreBackend.load_lazy`), committed alone, and not kept after.
        ``cancel``: set before the point of no return, the future raises
        :class:`~openclaw_core.base.cancel.OperationCancelled` and nothing is changed.
        ``maintenance``: :data:`ORDINARY` (an ordinary write's), a request, or None (none)."""
        if maintenance is ORDINARY:
            from openclaw_core.engine.maintenance import MaintenanceRequest

            maintenance = MaintenanceRequest()
        mutation = Mutation(fn, maintenance, alone or lazy or bool(maintenance and maintenance.force),
                             allow_drop_acp, lazy=lazy, cancel=cancel)
        with self._cv:
            if self._closed:
                raise RuntimeError(f"the writer of {self.backend.path} is closed")
            self._queue.append(mutation)
            if self._thread is None:
                thread = threading.Thread(target=self._run, name=f"openclaw-writer:{self.backend.path}", daemon=True)
                try:
                    thread.start()
                except RuntimeError as exc:
                    # No thread to be had (the process is at its limit): this commit
                    # fails now instead of waiting for a thread that never runs; the
                    # queue was empty, so the next submit simply tries again.
                    self._queue.remove(mutation)
                    mutation.future.set_exception(
                        RuntimeError(f"cannot start the writer of {self.backend.path}: {exc}"))
                    return mutation.future
                self._thread = thread
            else:
                self._cv.notify()
        return mutation.future

    def run(self, fn: Callable[[MutationView], T], **options: Any) -> T:
        """Apply ``fn`` and wait until it is durable; returns what ``fn`` returned."""
        return self.submit(fn, **options).result().value

    def run_with_report(self, fn: Callable[[MutationView], T], **options: Any) -> CommitResult:
        return self.submit(fn, **options).result()

    def snapshot(self) -> Mapping[str, Mapping[str, Any]]:
        """The store as last loaded or committed, read-only (do not modify entries)."""
        with self._state_lock:
            self._fresh_state()
            if self._snapshot is None:
                self._snapshot = MappingProxyType(self._state.snapshot())
            return self._snapshot

    def read(self, fn: Callable[[Mapping[str, Mapping[str, Any]]], T]) -> T:
        """Run ``fn`` on the live entries (fresh from the backend), without copying
        them: for listings of big stores. ``fn`` must not modify the entries nor
        keep references to them; it holds off commits while it runs."""
        with self._state_lock:
            return fn(MappingProxyType(self._fresh_state().entries))

    def newest(self, limit: int, active_minutes: float | None,
               now_ms: int) -> tuple[list[tuple[str, dict[str, Any]]], int] | None:
        """The first ``limit`` entries of a listing and the count, from the backend's
        index when the store is not cached (:meth:`StoreBackend.newest_entries`);
        None: read the store instead (cached, or a backend without an index)."""
        with self._state_lock:
            if self._state is not None:
                return None
            return self.backend.newest_entries(limit, active_minutes, now_ms)

    def entry(self, key: str) -> dict[str, Any] | None:
        """A copy of one entry (exact key), None when absent: asked of the backend
        when the store is not cached and it can (:meth:`StoreBackend.lookup`)."""
        with self._state_lock:
            if self._state is None:
                found = self.backend.lookup(key)
                if found is not None:
                    return found[1]
            state = self._fresh_state()
            if key not in state.entries:
                return None
            state.verify(key)
            return decode_chunk(state.chunks[key])

    def read_once(self, fn: Callable[[Mapping[str, Mapping[str, Any]]], T],
                  normalize: Callable[[dict[str, Any]], Any]) -> T:
        """:meth:`read` for a one-shot reader (``openclaw sessions``): the cached
        store if it is current, else the backend's read-only load
        (:meth:`StoreBackend.load_entries` with ``normalize``), not cached."""
        with self._state_lock:
            state = self._state
            if state is not None and self.backend.version() == state.version:
                return fn(MappingProxyType(state.entries))
            return fn(MappingProxyType(self.backend.load_entries(normalize)))

    def invalidate(self) -> None:
        """Forget the cached store; the next commit or read reloads it."""
        with self._state_lock:
            self._state = None
            self._snapshot = None

    def update_config(self, config: Config) -> None:
        self.config = config

    def close(self, timeout: float | None = None) -> None:
        """Finish queued mutations, stop the thread and the watcher."""
        with self._cv:
            self._closed = True
            thread = self._thread
            self._cv.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if self._stop_watch is not None:
            self._stop_watch()
            self._stop_watch = None
        self.backend.close()

    def pending(self) -> int:
        with self._cv:
            return len(self._queue)

    # -- the writer thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue:
                    if self._closed or not self._cv.wait(IDLE_SECONDS):
                        if not self._queue:
                            self._thread = None
                            return
                self._await_returning_callers()
                group = self._take_group()
            self._commit_group(group)
            with self._cv:
                # Callers just answered tend to come straight back (a Gateway's
                # clients); with those still queued that is the next group's size.
                self._group_target = min(MAX_GROUP, len(group) + len(self._queue))

    def _await_returning_callers(self) -> None:
        """Hold the next commit up to GROUP_WAIT for the callers the last commit
        answered, so concurrent clients share one commit instead of alternating
        between two half-size ones. A lone caller never waits (target 1)."""
        target = self._group_target
        if target <= len(self._queue) or self._queue[0].alone:
            return
        deadline = time.monotonic() + GROUP_WAIT
        while len(self._queue) < target and not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._cv.wait(remaining)

    def _take_group(self) -> list[Mutation]:
        first = self._queue.popleft()
        group = [first]
        if first.alone:
            return group
        while self._queue and len(group) < MAX_GROUP and not self._queue[0].alone:
            group.append(self._queue.popleft())
        return group

    def _on_outside_change(self) -> None:
        # From the watcher's thread. Waiting for the state lock lets a commit in
        # progress finish, so the write we just made is never mistaken for a
        # foreign one: only a version we did not produce drops the cache.
        # A backend that refreshes incrementally keeps it: the next read or
        # commit sees the version moved and fetches only what changed.
        with self._state_lock:
            state = self._state
            if state is not None and self.backend.version() != state.version:
                if not self.backend.incremental_refresh:
                    self._state = None
                self._snapshot = None

    def _fresh_state(self, lazy: bool = False) -> StoreState:
        """The cached store if the stored one has not moved, else a reload."""
        state = self._state
        if state is not None and self.backend.version() != state.version:
            state = self.backend.refresh(state)
            self._state = state
            self._snapshot = None
        if state is None:
            state = self.backend.load_lazy() if lazy else self.backend.load()
            self._state = state
            self._snapshot = None
            if self._watch and self._stop_watch is None:
                self._stop_watch = self.backend.watch(self._on_outside_change)
        return state

    def _commit_group(self, group: list[Mutation]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        report: MaintenanceReport | None = None
        written = False
        try:
            for attempt in range(CONFLICT_RETRIES + 1):
                try:
                    with self._state_lock, self.backend.exclusive(LOCK_TIMEOUT):
                        outcomes, report, written = self._apply_and_write(group)
                        if self._state is not None and self._state.loaded_lazily:
                            self._state = None  # a lazy load serves one commit; the next user reloads
                            self._snapshot = None
                    break
                except StoreConflict:
                    self.invalidate()
                    if attempt == CONFLICT_RETRIES:
                        raise
        except BaseException as exc:  # noqa: BLE001 - every caller must hear about it
            # The in-memory store may hold half a group: drop it, the stored one is intact.
            self.invalidate()
            for mutation in group:
                if not mutation.future.done():
                    mutation.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for mutation, (ok, value) in zip(group, outcomes):
            if ok:
                self.mutations += 1
                mutation.future.set_result(CommitResult(value, report, written))
            else:
                mutation.future.set_exception(value)

    # No cyclic GC during a commit either: maintenance of a big store allocates
    # hundreds of thousands of small objects, and each full collection they
    # trigger walks every object of the loaded store (a fifth of a 100,000-entry
    # cleanup). Cycles made meanwhile are collected after the commit.
    @gc_paused()
    def _apply_and_write(self, group: list[Mutation]) -> tuple[list[tuple[bool, Any]], MaintenanceReport | None, bool]:
        state = self._fresh_state(lazy=len(group) == 1 and group[0].lazy)
        check_cancelled(group)
        outcomes: list[tuple[bool, Any]] = []
        changes = ChangeSet()
        request: MaintenanceRequest | None = None
        wants_save = False
        for mutation in group:
            if mutation.cancel is not None and mutation.cancel.cancelled:
                outcomes.append((False, OperationCancelled()))  # never applied: it fails alone
                continue
            view = MutationView(state, mutation.allow_drop_acp)
            try:
                value = mutation.fn(view)
                changes.merge(view.finish())
            except Exception as exc:  # noqa: BLE001 - the mutation fails alone
                view.rollback()
                outcomes.append((False, exc))
                continue
            outcomes.append((True, value))
            if view.save_cancelled and not view.touched:
                continue
            wants_save = True
            if mutation.maintenance is not None:
                request = mutation.maintenance if request is None else request.merged_with(mutation.maintenance)
        applied = [m for m, (ok, _) in zip(group, outcomes) if ok]
        if not wants_save:
            check_cancelled(applied)
            return outcomes, None, False
        from openclaw_core.engine.effects import DeferredEffects

        effects = DeferredEffects(self.log)
        try:
            report, written = self._maintain_and_write(state, changes, request, applied, effects)
        finally:
            effects.release()  # the sibling stores' locks maintenance decided under
        return outcomes, report, written

    def _maintain_and_write(self, state: StoreState, changes: ChangeSet, request: MaintenanceRequest | None,
                            applied: list[Mutation], effects: DeferredEffects) -> tuple[MaintenanceReport | None, bool]:
        report = None
        if request is not None:
            view = MutationView(state)
            try:
                from openclaw_core.engine.maintenance import run_maintenance

                report = run_maintenance(view, self.backend, self._settings(), request, self.hooks, log=self.log,
                                         effects=effects, check=lambda: check_cancelled(applied))
                changes.merge(view.finish())
            except BaseException:
                view.rollback()
                raise

        def point_of_no_return() -> None:
            begin_commit(applied)
            effects.apply_files()  # the reference's order: files first, then the store

        written = False
        if changes or not state.on_disk_matches:
            commit = StoreCommit(self, state, changes, before_write=point_of_no_return)
            if self.hooks is not None:
                self.hooks.store_commit(commit)
            commit.write()  # no-op when the core plugin already wrote it
            state.version = commit.new_version
            state.unsaved.clear()
            state.on_disk_matches = True
            state.exists = True
            self._snapshot = None
            self.commits += 1
            written = True
            if self.hooks is not None and changes:
                # The write is durable: a failing listener must not fail the callers.
                self.hooks.store_committed(self.backend.path, commit.changed_keys, commit.removed_keys)
        elif effects.files:
            point_of_no_return()  # nothing to write, but archives to purge
        else:
            check_cancelled(applied)
        # Only now that it went through: "pruned stale session entries" and the like.
        effects.emit_logs()
        return report, written

    def _settings(self) -> MaintenanceSettings:
        from openclaw_core.engine.maintenance import MaintenanceSettings

        return MaintenanceSettings.resolve(self.config.get("session.maintenance"))


# --- the registry: one writer per store per process --------------------------------------

_writers: dict[str, StoreWriter] = {}
_registry_lock = threading.Lock()
_defaults: dict[str, Any] = {"watch": True, "log": None}


def configure_writers(*, watch: bool | None = None, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Process-wide defaults for writers created from now on (the CLI turns
    watching off: a one-shot command relies on the version check alone).
    Returns the previous defaults, so a caller can put them back."""
    previous = dict(_defaults)
    if watch is not None:
        _defaults["watch"] = watch
    if log is not None:
        _defaults["log"] = log
    return previous


def store_exists(store_path: str | os.PathLike[str], config: Config, hooks: Hooks) -> bool:
    """Whether the store has been created, asked of its writer's backend when
    there is one (no second connection), without creating a writer."""
    from openclaw_core.engine.store.backend import open_backend

    backend = open_backend(os.fspath(store_path), config, hooks)
    with _registry_lock:
        writer = _writers.get(backend.identity)
    if writer is not None and not writer._closed:
        backend.close()
        backend = writer.backend
        return backend.version() is not None
    try:
        return backend.version() is not None
    finally:
        backend.close()


def get_writer(store_path: str | os.PathLike[str], config: Config, hooks: Hooks) -> StoreWriter:
    """The writer of the store at ``store_path`` (created on first use)."""
    from openclaw_core.engine.store.backend import open_backend

    backend = open_backend(os.fspath(store_path), config, hooks)
    with _registry_lock:
        writer = _writers.get(backend.identity)
        if writer is None or writer._closed:
            writer = StoreWriter(backend, config, hooks, watch=_defaults["watch"], log=_defaults["log"])
            _writers[backend.identity] = writer
        else:
            backend.close()
            writer.update_config(config)
        return writer


def close_writers() -> None:
    """Finish and close every writer (Gateway shutdown, tests)."""
    with _registry_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        writer.close()
