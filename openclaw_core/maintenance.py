"""The maintenance framework: settings, the context a policy works in, and
the runner the writer calls inside every commit.

The policies themselves (stale prune, entry cap, archiving, disk budget ...)
are plugins: they come from the ``openclaw_maintenance_policies`` hook and run
in ascending ``order``. The built-in ones live in ``plugins/openclaw_maintenance``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from openclaw_core import keys
from openclaw_core.units import UnitError, parse_bytes, parse_duration_ms

if TYPE_CHECKING:
    from openclaw_core.plugins import OpenClawPluginManager
    from openclaw_core.store.backend import StoreBackend
    from openclaw_core.store.state import MutationView

DEFAULT_PRUNE_AFTER_MS = 30 * 86_400_000
DEFAULT_MAX_ENTRIES = 500
DEFAULT_MODE = "enforce"
HIGH_WATER_RATIO = 0.8
LOG_PREFIX = "[sessions/store]"


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
    return keys.js_trim(text) or None


@dataclass(frozen=True)
class MaintenanceSettings:
    """``session.maintenance`` resolved the way the reference does at run time."""

    mode: str = DEFAULT_MODE
    prune_after_ms: int = DEFAULT_PRUNE_AFTER_MS
    max_entries: int = DEFAULT_MAX_ENTRIES
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
        mode = m.get("mode") if m.get("mode") is not None else DEFAULT_MODE
        return cls(mode, prune_after, max_entries, retention, max_disk, high_water)

    @property
    def enforce(self) -> bool:
        # Anything but "warn" acts as enforce, as in the reference.
        return self.mode != "warn"


def entry_high_water(max_entries: Any) -> int:
    """Entry count at which batched cap maintenance runs (2->3, 50->75, 500->550)."""
    if not isinstance(max_entries, int) or isinstance(max_entries, bool) or max_entries <= 0 or max_entries > 2**53 - 1:
        return 1
    if max_entries <= 49:
        return max_entries + 1
    return max_entries + max(25, math.ceil(max_entries * 0.1))


@dataclass(frozen=True)
class MaintenanceRequest:
    """How one commit asks for maintenance.

    ``mode`` overrides the configured mode; ``force`` runs entry-count
    maintenance without batching (``sessions cleanup``); ``active_keys`` are
    kept whatever their age; ``dry_run`` computes without touching files;
    ``fix_missing`` drops entries whose transcript is gone.
    """

    mode: str | None = None
    force: bool = False
    active_keys: frozenset[str] = frozenset()
    dry_run: bool = False
    fix_missing: bool = False

    def merged_with(self, other: MaintenanceRequest) -> MaintenanceRequest:
        return MaintenanceRequest(self.mode or other.mode, self.force or other.force,
                                  self.active_keys | other.active_keys, self.dry_run and other.dry_run,
                                  self.fix_missing or other.fix_missing)


@dataclass
class MaintenanceReport:
    """What maintenance did (or, dry, would do) to one store."""

    mode: str
    before_count: int
    after_count: int = 0
    missing: int = 0
    pruned: int = 0
    capped: int = 0
    disk_budget: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    actions: dict[str, str] = field(default_factory=dict)  # key -> action of the dry-run table
    archived: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # third-party policies report here


@dataclass
class RemovedEntry:
    key: str
    entry: dict[str, Any]
    reason: str  # "missing", "stale", "cap", "budget" or a policy's own word
    archive: bool  # whether its transcript should be archived as .deleted


class MaintenanceContext:
    """What a policy works with. Remove entries with :meth:`remove` so later
    policies (archiving) and the report see them."""

    def __init__(self, store: MutationView, settings: MaintenanceSettings, request: MaintenanceRequest,
                 backend: StoreBackend, pm: OpenClawPluginManager | None, *, now_ms: int | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.request = request
        self.backend = backend
        self.pm = pm
        self.now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.mode = request.mode or settings.mode
        self.enforce = self.mode != "warn"
        self.dry_run = request.dry_run
        self.report = MaintenanceReport(self.mode, len(store))
        self.removed: list[RemovedEntry] = []
        self._log = log or _stderr_log

    @property
    def store_path(self) -> str:
        return self.backend.path

    @property
    def sessions_dir(self) -> Path:
        return self.backend.sessions_dir

    def log(self, message: str) -> None:
        """One maintenance log line (``[sessions/store] ...`` on the CLI's stderr)."""
        if not self.dry_run:
            self._log(message)

    def is_protected(self, key: str, entry: Mapping[str, Any]) -> bool:
        """The ``openclaw_entry_protected`` decision (built-in rule last)."""
        if self.pm is not None:
            decision = self.pm.hook.openclaw_entry_protected(key=key, entry=entry, store_path=self.store_path)
            if decision is not None:
                return bool(decision)
        return keys.is_protected_entry(key, entry)

    def is_preserved(self, key: str, entry: Mapping[str, Any]) -> bool:
        """Kept from prune and cap: the active key (exact match) or protected."""
        return key in self.request.active_keys or self.is_protected(key, entry)

    def remove(self, key: str, reason: str, *, archive: bool = True) -> dict[str, Any]:
        entry = self.store.peek(key)
        del self.store[key]
        self.removed.append(RemovedEntry(key, entry, reason, archive))
        self.report.actions.setdefault(key, reason)
        return entry


@runtime_checkable
class MaintenancePolicy(Protocol):
    """A maintenance step. ``order`` places it (built-ins use 100..900 in steps of 100)."""

    name: str
    order: int

    def apply(self, ctx: MaintenanceContext) -> None: ...


def _stderr_log(message: str) -> None:
    print(f"{LOG_PREFIX} {message}", file=sys.stderr)


def collect_policies(pm: OpenClawPluginManager) -> list[tuple[str, MaintenancePolicy]]:
    """Every registered policy with the plugin that provides it, in run order."""
    found: list[tuple[str, MaintenancePolicy]] = []
    for plugin_name, policies in pm.call_each("openclaw_maintenance_policies"):
        for policy in policies:
            if isinstance(policy, MaintenancePolicy):
                found.append((plugin_name, policy))
            else:
                from openclaw_core.plugins import warn

                warn(f'plugin "{plugin_name}" returned {policy!r}, which is not a maintenance policy')
    found.sort(key=lambda item: (item[1].order, item[1].name))
    return found


def run_maintenance(store: MutationView, backend: StoreBackend, settings: MaintenanceSettings,
                    request: MaintenanceRequest, pm: OpenClawPluginManager | None, *,
                    now_ms: int | None = None, log: Callable[[str], None] | None = None,
                    policies: list[tuple[str, MaintenancePolicy]] | None = None) -> MaintenanceReport:
    """Run every policy on ``store`` (a view inside the writer) and return the report."""
    ctx = MaintenanceContext(store, settings, request, backend, pm, now_ms=now_ms, log=log)
    if policies is None:
        policies = collect_policies(pm) if pm is not None else []
    for _plugin, policy in policies:
        policy.apply(ctx)
    ctx.report.after_count = len(store)
    return ctx.report
