"""One commit of a store: the queued mutations it serves, the stages at which
their cancel tokens are asked, and the durable write the
``openclaw_store_commit`` hook wraps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from openclaw_core.base.cancel import CancelToken, OperationCancelled
from openclaw_core.base.record import Record

if TYPE_CHECKING:
    from concurrent.futures import Future
    from openclaw_core.engine.maintenance import MaintenanceReport, MaintenanceRequest
    from openclaw_core.engine.store.state import ChangeSet, MutationView, StoreState
    from openclaw_core.engine.store.writer import StoreWriter


def _future() -> Future:
    # concurrent.futures (and logging with it) only once something is written:
    # a reader such as ``openclaw sessions`` never makes a Mutation
    from concurrent.futures import Future

    return Future()


class CommitResult(Record):
    """What a mutation's future resolves to."""

    __slots__ = ("value", "report", "written")

    def __init__(self, value: Any, report: MaintenanceReport | None, written: bool) -> None:
        self.value = value
        self.report = report
        self.written = written


class Mutation(Record):
    __slots__ = ("fn", "maintenance", "alone", "allow_drop_acp", "future", "lazy", "cancel")

    def __init__(self, fn: Callable[[MutationView], Any], maintenance: MaintenanceRequest | None, alone: bool,
                 allow_drop_acp: frozenset[str], future: Future | None = None, lazy: bool = False,
                 cancel: CancelToken | None = None) -> None:
        self.fn = fn
        self.maintenance = maintenance        # None: skip maintenance
        self.alone = alone                    # commit by itself (forced maintenance, cleanup)
        self.allow_drop_acp = allow_drop_acp
        self.future: Future = _future() if future is None else future
        self.lazy = lazy                      # may load the store lazily (see submit)
        self.cancel = cancel                  # checked up to the point of no return


class StoreCommit:
    """One durable write, as the ``openclaw_store_commit`` hook sees it."""

    def __init__(self, writer: StoreWriter, state: StoreState, changes: ChangeSet,
                 before_write: Callable[[], None] | None = None) -> None:
        self.store_path = writer.backend.path
        self.backend = writer.backend
        self._state = state
        self.changes = changes
        self.new_version: Any = None
        self.written = False
        self._before_write = before_write

    @property
    def changed_keys(self) -> frozenset[str]:
        return frozenset(self.changes.upserted)

    @property
    def removed_keys(self) -> frozenset[str]:
        return frozenset(self.changes.removed)

    @property
    def store(self) -> Mapping[str, Mapping[str, Any]]:
        """The store about to be written (read-only view; do not modify entries)."""
        return MappingProxyType(self._state.entries)

    def write(self) -> None:
        """Write it (the core's implementation of the hook calls this once)."""
        if self.written:
            return
        if self._before_write is not None:
            # The point of no return (a cancel raises here), then the commit's planned file operations.
            self._before_write()
            self._before_write = None
        self.new_version = self.backend.write(self._state, self.changes, self._state.version)
        self.written = True


def cancellable(mutations: list[Mutation]) -> list[CancelToken] | None:
    """The tokens of a group every mutation of which carries one, else None: a
    commit that also serves a caller who did not cancel goes through."""
    tokens = [m.cancel for m in mutations if m.cancel is not None]
    return tokens if tokens and len(tokens) == len(mutations) else None


def check_cancelled(mutations: list[Mutation]) -> None:
    """A stage boundary: drop the commit if every caller of it cancelled."""
    tokens = cancellable(mutations)
    if tokens is not None and all(t.cancelled and not t.committing for t in tokens):
        raise OperationCancelled()


def begin_commit(mutations: list[Mutation]) -> None:
    """The point of no return: from here on a cancel is refused and the commit completes."""
    tokens = cancellable(mutations)
    if tokens is not None and len(tokens) == 1:
        tokens[0].begin_commit()  # raises if the cancel came first
        return
    check_cancelled(mutations)
    for mutation in mutations:
        if mutation.cancel is not None:
            try:
                mutation.cancel.begin_commit()
            except OperationCancelled:
                pass  # cancelled alone in a shared commit: it is written with the others
