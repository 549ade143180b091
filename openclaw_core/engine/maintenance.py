"""The maintenance framework: settings, the request a commit makes, the context
a policy works in, and the runner the writer calls inside every commit.

The policies themselves (stale prune, entry cap, archiving, disk budget ...)
are plugins: they come from the ``openclaw_maintenance_policies`` hook and run
in ascending ``order`` (ties by name). The built-in ones live in
``plugins/openclaw_maintenance``; docs/maintenance.md lists them and shows how
to write one.

A policy reads entries with ``ctx.entry(key)`` / ``ctx.items()`` (read-only,
nothing marked changed), asks ``ctx.is_preserved(key)`` before removing one,
and removes with ``ctx.remove(key, action)`` so that later policies
(archiving, the report, the dry-run table) see what went. In a dry run
(``ctx.dry_run``) a policy must not touch any file. Otherwise it plans its
file operations on ``ctx.files`` (a :class:`~openclaw_core.base.fileplan.FilePlan`)
instead of performing them: the writer performs them only when the commit
goes through, and log lines (``ctx.log``) are printed only once it is durable.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from openclaw_core.base import keys
from openclaw_core.base.mapping import is_mapping
from openclaw_core.base.record import Record
from openclaw_core.engine.effects import LOGGER_NAME, DeferredEffects
from openclaw_core.js.values import js_trim, to_number
from openclaw_core.base.units import UnitError, parse_bytes, parse_duration_ms

if TYPE_CHECKING:
    from openclaw_core.contract.hooks import Hooks
    from openclaw_core.engine.store.backend import StoreBackend
    from openclaw_core.engine.store.state import MutationView

DEFAULT_PRUNE_AFTER_MS = 30 * 86_400_000
DEFAULT_MAX_ENTRIES = 500
DEFAULT_MODE = "enforce"
HIGH_WATER_RATIO = 0.8
LOG_PREFIX = "[sessions/store]"
MAX_SAFE_INTEGER = 2**53 - 1

# The actions of the cleanup's dry-run table; policies pass one to ctx.remove().
ACTION_MISSING = "prune-missing"
ACTION_STALE = "prune-stale"
ACTION_CAP = "cap-overflow"
ACTION_BUDGET = "evict-budget"


def _stringified(value: Any) -> str | None:
    """``normalizeStringifiedOptionalString``: numbers and booleans become text."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, (int, str)):
        text = str(value)
    else:
        return None
    return js_trim(text) or None


class MaintenanceSettings(NamedTuple):
    """``session.maintenance`` resolved the way the reference does at run time."""

    mode: str = DEFAULT_MODE
    prune_after_ms: int = DEFAULT_PRUNE_AFTER_MS
    max_entries: Any = DEFAULT_MAX_ENTRIES
    reset_archive_retention_ms: int | None = DEFAULT_PRUNE_AFTER_MS
    max_disk_bytes: int | None = None
    high_water_bytes: int | None = None

    @classmethod
    def resolve(cls, maintenance: Mapping[str, Any] | None) -> MaintenanceSettings:
        m = maintenance if isinstance(maintenance, Mapping) else {}
        prune_after = DEFAULT_PRUNE_AFTER_MS
        raw = _stringified(m.get("pruneAfter") if m.get("pruneAfter") is not None else m.get("pruneDays"))
        if raw:
            try:
                prune_after = parse_duration_ms(raw, "d")
            except UnitError:
                pass
        retention: int | None = prune_after
        if m.get("resetArchiveRetention") is False:
            retention = None
        else:
            raw = _stringified(m.get("resetArchiveRetention"))
            if raw:
                try:
                    retention = parse_duration_ms(raw, "d")
                except UnitError:
                    pass
        max_disk: int | None = None
        raw = _stringified(m.get("maxDiskBytes"))
        if raw:
            try:
                max_disk = parse_bytes(raw, "b")
            except UnitError:
                max_disk = None
        high_water: int | None = None
        if max_disk is not None:
            default_high = 0 if max_disk <= 0 else max(1, min(max_disk, math.floor(max_disk * HIGH_WATER_RATIO)))
            raw = _stringified(m.get("highWaterBytes"))
            high_water = default_high
            if raw:
                try:
                    high_water = min(parse_bytes(raw, "b"), max_disk)
                except UnitError:
                    high_water = default_high
        max_entries = m.get("maxEntries")
        if max_entries is None:
            max_entries = DEFAULT_MAX_ENTRIES
        elif isinstance(max_entries, float) and max_entries.is_integer():
            max_entries = int(max_entries)  # a TOML 500.0 is JSON's 500
        mode = m.get("mode") if m.get("mode") is not None else DEFAULT_MODE
        return cls(mode, prune_after, max_entries, retention, max_disk, high_water)

    @property
    def enforce(self) -> bool:
        # Anything but "warn" acts as enforce, as in the reference.
        return self.mode != "warn"


def entry_high_water(max_entries: Any) -> int:
    """Entry count at which batched cap maintenance runs (2->3, 50->75, 500->550)."""
    if not isinstance(max_entries, int) or isinstance(max_entries, bool) or max_entries <= 0 \
            or max_entries > MAX_SAFE_INTEGER:
        return 1
    if max_entries <= 49:
        return max_entries + 1
    return max_entries + max(25, math.ceil(max_entries * 0.1))


def updated_at_or(entry: Mapping[str, Any] | None, missing: float) -> float:
    """``entry.updatedAt`` as JS arithmetic sees it; ``missing`` when null/absent."""
    value = entry.get("updatedAt") if is_mapping(entry) else None
    if value is None:
        return missing
    return to_number(value)


def finite_updated_at(entry: Mapping[str, Any] | None) -> float:
    """``Number.isFinite(updatedAt) ? updatedAt : 0`` (the disk budget's order)."""
    value = entry.get("updatedAt") if is_mapping(entry) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0.0
    return float(value)


# --- request, report, context -----------------------------------------------------------

class MaintenanceRequest(NamedTuple):
    """How one commit asks for maintenance.

    ``mode`` overrides the configured mode; ``force`` runs entry-count
    maintenance without batching (``sessions cleanup``); ``active_keys`` are
    kept whatever their age; ``dry_run`` computes without touching files;
    ``fix_missing`` drops entries whose transcript is gone; ``progress`` is
    told the name of each policy as it starts (long cleanups show it), and
    ``stage_done`` its name and what it selected (entries, transcripts,
    files) as it completes. Both run on the writer's thread: what they raise
    is ignored, so a broken terminal never fails a commit.
    """

    mode: str | None = None
    force: bool = False
    active_keys: frozenset[str] = frozenset()
    dry_run: bool = False
    fix_missing: bool = False
    progress: Callable[[str], None] | None = None
    stage_done: Callable[[str, dict[str, int]], None] | None = None

    def merged_with(self, other: MaintenanceRequest) -> MaintenanceRequest:
        return MaintenanceRequest(self.mode or other.mode, self.force or other.force,
                                  self.active_keys | other.active_keys, self.dry_run and other.dry_run,
                                  self.fix_missing or other.fix_missing, self.progress or other.progress,
                                  self.stage_done or other.stage_done)


class MaintenanceReport(Record):
    """What maintenance did (or, dry, would do) to one store.

    ``before_count`` counts the entries after fix-missing (a non-dry run), as
    the reference's report does; ``actions`` maps each removed key to its
    action (``prune-stale`` ...); ``extra`` is where third-party policies
    report numbers of their own.
    """

    __slots__ = ("mode", "before_count", "after_count", "missing", "pruned", "capped", "disk_budget", "warnings",
                 "actions", "archived", "removed_files", "extra")

    def __init__(self, mode: str, before_count: int, after_count: int = 0, missing: int = 0, pruned: int = 0,
                 capped: int = 0, disk_budget: dict[str, Any] | None = None,
                 warnings: list[dict[str, Any]] | None = None, actions: dict[str, str] | None = None,
                 archived: list[str] | None = None, removed_files: list[str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        self.mode = mode
        self.before_count = before_count
        self.after_count = after_count
        self.missing = missing
        self.pruned = pruned
        self.capped = capped
        self.disk_budget = disk_budget
        self.warnings: list[dict[str, Any]] = [] if warnings is None else warnings
        self.actions: dict[str, str] = {} if actions is None else actions
        self.archived: list[str] = [] if archived is None else archived
        self.removed_files: list[str] = [] if removed_files is None else removed_files
        self.extra: dict[str, Any] = {} if extra is None else extra

    @property
    def removed_entries(self) -> int:
        return len(self.actions)

    @property
    def would_mutate(self) -> bool:
        budget = self.disk_budget or {}
        return bool(self.missing or self.pruned or self.capped or self.actions
                    or budget.get("removedEntries") or budget.get("removedFiles"))


class RemovedEntry(Record):
    __slots__ = ("key", "entry", "action", "archive")

    def __init__(self, key: str, entry: Mapping[str, Any], action: str, archive: bool) -> None:
        self.key = key
        self.entry = entry
        self.action = action    # "prune-stale", "cap-overflow", ... or a policy's own word
        self.archive = archive  # whether its transcript is archived as .deleted.<TS>


class MaintenanceContext:
    """What a policy works with (see the module docstring)."""

    def __init__(self, store: MutationView, settings: MaintenanceSettings, request: MaintenanceRequest,
                 backend: StoreBackend, hooks: Hooks | None, *, now_ms: int | None = None,
                 log: Callable[[str], None] | None = None, effects: DeferredEffects | None = None) -> None:
        self.store = store
        self.settings = settings
        self.request = request
        self.backend = backend
        self.hooks = hooks
        self.now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.mode = request.mode or settings.mode
        self.enforce = self.mode != "warn"
        self.dry_run = request.dry_run
        self.force = request.force
        self.report = MaintenanceReport(self.mode, len(store))
        self.removed: list[RemovedEntry] = []
        #: directories that received a ``.deleted`` archive in this run
        self.archived_dirs: set[str] = set()
        #: scratch space shared by policies of one run (keyed by policy name)
        self.shared: dict[str, Any] = {}
        self.effects = effects if effects is not None else DeferredEffects(log)
        #: the run's planned file operations (performed when the commit goes through)
        self.files = self.effects.files
        self._protected: dict[str, bool] = {}
        self._is_protected_entry = (hooks.protection_decider(self.store_path) if hooks is not None
                                    else keys.is_protected_entry)

    # -- where ----------------------------------------------------------------------------

    @property
    def store_path(self) -> str:
        return self.backend.path

    @property
    def sessions_dir(self) -> Path:
        return self.backend.sessions_dir

    def excluded_files(self) -> frozenset[str]:
        """Names in the sessions dir that are the backend's own (lock files), not sessions."""
        return self.backend.excluded_files()

    # -- reading --------------------------------------------------------------------------

    def entry(self, key: str) -> Mapping[str, Any] | None:
        """An entry, read-only (nothing is marked changed)."""
        return self.store.peek(key)

    def items(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Every (key, entry) in store order, read-only."""
        return self.store.peek_items()

    def stale_candidates(self, cutoff_ms: float) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """The (key, entry) pairs that may have ``updatedAt < cutoff_ms``, in store
        order: every entry, unless the backend narrows them down with an index
        (:meth:`StoreBackend.stale_keys`). Check each one as for a full scan."""
        keys = self.backend.stale_keys(self.store.state, cutoff_ms, self.store.touched)
        if keys is None:
            return self.items()
        store = self.store
        return ((key, store.peek(key)) for key in keys if key in store)

    def __len__(self) -> int:
        return len(self.store)

    # -- decisions ---------------------------------------------------------------------------

    def is_protected(self, key: str, entry: Mapping[str, Any] | None = None) -> bool:
        """The ``openclaw_entry_protected`` decision (first plugin with an opinion wins;
        the built-in rule answers last). Cached per key for the run."""
        cached = self._protected.get(key)
        if cached is not None:
            return cached
        if entry is None:
            entry = self.store.peek(key) or {}
        result = self._is_protected_entry(key, entry)
        self._protected[key] = result
        return result

    def is_active(self, key: str) -> bool:
        """The request's active key(s), matched exactly (as the reference's prune and cap do)."""
        return key in self.request.active_keys

    def is_preserved(self, key: str, entry: Mapping[str, Any] | None = None) -> bool:
        """Kept from prune and cap: an active key or a protected entry."""
        # (is_active and the cache inline: asked for every entry of a big store)
        if key in self.request.active_keys:
            return True
        cached = self._protected.get(key)
        return cached if cached is not None else self.is_protected(key, entry)

    # -- acting --------------------------------------------------------------------------------

    def remove(self, key: str, action: str, *, archive: bool = True) -> Mapping[str, Any]:
        """Remove an entry; ``archive`` asks the archiving policy to keep its transcript
        as ``<file>.deleted.<TS>`` (unless another entry still uses it)."""
        entry = self.store.peek(key)
        del self.store[key]
        self.removed.append(RemovedEntry(key, entry, action, archive))
        self.report.actions.setdefault(key, action)
        return entry

    def log(self, message: str, level: int = logging.INFO) -> None:
        """One maintenance log line (``[sessions/store] <message>``); silent in a dry run.

        Printed once the commit is durable, never for one that fails (see
        :class:`DeferredEffects`): to the ``openclaw.sessions.store`` logger (see
        :func:`store_log_routing`), or to the ``log`` callable the writer was configured with."""
        if self.dry_run:
            return
        self.effects.logs.append((level, message))

    def progress(self, stage: str) -> None:
        if self.request.progress is not None:
            try:
                self.request.progress(stage)
            except Exception:  # progress is for a person; the commit goes on
                pass

    def _tally(self) -> tuple[int, int, int]:
        return len(self.removed), len(self.report.archived), len(self.report.removed_files)

    def stage_done(self, stage: str, before: tuple[int, int, int]) -> None:
        """Tell ``request.stage_done`` what ``stage`` added since ``before`` (a :meth:`_tally`)."""
        if self.request.stage_done is None:
            return
        after = self._tally()
        counts = dict(zip(("entries", "transcripts", "files"), (a - b for a, b in zip(after, before))))
        try:
            self.request.stage_done(stage, counts)
        except Exception:  # as progress: never fails the commit
            pass


@runtime_checkable
class MaintenancePolicy(Protocol):
    """A maintenance step. ``order`` places it (the built-ins use 100..700 in steps
    of 100, leaving room between them); ``apply`` does the work."""

    name: str
    order: int

    def apply(self, ctx: MaintenanceContext) -> None: ...


# --- log lines -------------------------------------------------------------------------------

class StoreLogHandler(logging.Handler):
    """Prints ``[sessions/store] <message>`` like the reference's console: warnings on
    stderr; info lines on stderr too, or on stdout while a text-mode command routes
    them there (the reference prints them on stdout unless the output is JSON)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.info_to_stdout = False
        self.before_emit: Callable[[], None] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        stream = sys.stdout if self.info_to_stdout and record.levelno < logging.WARNING else sys.stderr
        try:
            if self.before_emit is not None:
                self.before_emit()
            stream.write(f"{LOG_PREFIX} {record.getMessage()}\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - logging must never break a commit
            self.handleError(record)


logger = logging.getLogger(LOGGER_NAME)
_handler = StoreLogHandler()
logger.addHandler(_handler)
logger.setLevel(logging.INFO)
logger.propagate = False


@contextmanager
def store_log_routing(*, info_to_stdout: bool = False,
                      before_emit: Callable[[], None] | None = None) -> Iterator[None]:
    """Route maintenance log lines for the duration of one command."""
    previous = (_handler.info_to_stdout, _handler.before_emit)
    _handler.info_to_stdout, _handler.before_emit = info_to_stdout, before_emit
    try:
        yield
    finally:
        _handler.info_to_stdout, _handler.before_emit = previous


def collect_policies(hooks: Hooks) -> list[tuple[str, MaintenancePolicy]]:
    """Every registered policy with the plugin that provides it, in run order."""
    found: list[tuple[str, MaintenancePolicy]] = []
    for plugin_name, policies in hooks.maintenance_policies():
        for policy in policies:
            if isinstance(policy, MaintenancePolicy) and isinstance(getattr(policy, "order", None), int):
                found.append((plugin_name, policy))
            else:
                from openclaw_core.base.notices import warn

                warn(f'plugin "{plugin_name}" returned {policy!r}, which is not a maintenance policy')
    found.sort(key=lambda item: (item[1].order, item[1].name))
    return found


def run_maintenance(store: MutationView, backend: StoreBackend, settings: MaintenanceSettings,
                    request: MaintenanceRequest, hooks: Hooks | None, *,
                    now_ms: int | None = None, log: Callable[[str], None] | None = None,
                    policies: list[tuple[str, MaintenancePolicy]] | None = None,
                    effects: DeferredEffects | None = None,
                    check: Callable[[], None] | None = None) -> MaintenanceReport:
    """Run every policy on ``store`` (a view inside the writer, or a scratch view
    for a dry run) and return the report.

    With ``effects`` the planned file operations and log lines are left there for
    the caller (the writer) to perform; without, they are performed at the end.
    ``check`` is called before each policy (a cancellation raises there)."""
    deferred = effects is not None
    ctx = MaintenanceContext(store, settings, request, backend, hooks, now_ms=now_ms, log=log, effects=effects)
    try:
        report = _run_policies(ctx, store, hooks, policies, check)
        if not deferred:
            ctx.effects.apply_files()
            ctx.effects.emit_logs()
    finally:
        if not deferred:
            ctx.effects.release()
    if not ctx.dry_run:
        ctx.progress("write")
    return report


def _run_policies(ctx: MaintenanceContext, store: MutationView, hooks: Hooks | None,
                  policies: list[tuple[str, MaintenancePolicy]] | None,
                  check: Callable[[], None] | None) -> MaintenanceReport:
    if policies is None:
        policies = collect_policies(hooks) if hooks is not None else []
    for plugin, policy in policies:
        if check is not None:
            check()
        ctx.progress(policy.name)
        before = ctx._tally()
        try:
            policy.apply(ctx)
        except Exception as exc:
            # The commit fails as a whole (the writer undoes every removal); say who failed.
            from openclaw_core.base.errors import OpenClawError, PluginError

            if isinstance(exc, OpenClawError):
                raise
            raise PluginError(f'maintenance policy "{policy.name}" of plugin "{plugin}" failed: '
                              f"{type(exc).__name__}: {exc}") from exc
        ctx.stage_done(policy.name, before)
    ctx.report.after_count = len(store)
    if check is not None:
        check()
    return ctx.report
