"""The cleanup service behind ``openclaw sessions cleanup`` and the Gateway's
``sessions.cleanup`` method. Stable entry point::

    run_cleanup(config, *, store=None, agent=None, all_agents=False, enforce=False,
                dry_run=False, active_key=None, fix_missing=False, progress=None) -> dict

It returns the reference's JSON value, key order included: the bare summary of
the one store maintained, or ``{"allAgents": true, "mode", "dryRun", "stores": [...]}``
when there are zero or several. A summary is ``{agentId, storePath, mode,
dryRun, beforeCount, afterCount, missing, pruned, capped, diskBudget,
wouldMutate}`` plus ``applied: true, appliedCount`` when applied.

* ``store`` / ``agent`` / ``all_agents`` pick the stores exactly as the CLI
  flags do (errors are :class:`~openclaw_core.base.errors.UsageError` with the
  reference's messages); empty strings count as not given.
* ``enforce`` overrides a configured ``mode: "warn"``; ``active_key`` keeps
  that session whatever its age; ``fix_missing`` first drops entries whose
  transcript file is gone.
* ``dry_run`` reads each store and reports what an enforce run with the same
  options would do; it writes nothing and creates nothing.
* ``progress`` (optional) is called with a :class:`CleanupProgress` at each
  step (long cleanups show it on a terminal).
* ``cancel`` (optional) is a :class:`~openclaw_core.base.cancel.CancelToken`: set
  before the first store's commit passes its point of no return, the cleanup
  raises :class:`~openclaw_core.base.cancel.OperationCancelled` and nothing was
  changed; set later, it is refused and every selected store is maintained.

Applying goes through each store's single writer (one forced maintenance
commit under the store's lock); a store that does not parse is refused with
:class:`~openclaw_core.base.errors.StoreCorruptError` and left untouched.
:func:`cleanup_stores` returns the richer :class:`CleanupResult` (reports and,
on request, the rows of the dry-run table).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from openclaw_core.base.record import Record
from openclaw_core.js import values as js
from openclaw_core.js.sort import v8_sort
from openclaw_core.engine.maintenance import MaintenanceReport, MaintenanceRequest, MaintenanceSettings
from openclaw_core.config.targets import StoreTarget, resolve_targets

if TYPE_CHECKING:
    from openclaw_core.base.cancel import CancelToken
    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks

# Entry fields the dry-run table shows (the reference's display row).
ROW_FIELDS = ("sessionId", "systemSent", "abortedLastRun", "thinkingLevel", "verboseLevel", "traceLevel",
              "reasoningLevel", "elevatedLevel", "responseUsage", "groupActivation", "model", "modelProvider",
              "providerOverride", "modelOverride")


class CleanupProgress(NamedTuple):
    """Where a cleanup is: store ``index`` (1-based) of ``total``, and the step
    (``load``, a policy's name, ``write`` or ``done``). ``counts`` is set when
    a policy has completed: what it selected (``entries``, ``transcripts``,
    ``files``)."""

    index: int
    total: int
    agent_id: str
    store_path: str
    stage: str
    counts: dict[str, int] | None = None


class StoreCleanup(Record):
    __slots__ = ("target", "summary", "report", "rows")

    def __init__(self, target: StoreTarget, summary: dict[str, Any], report: MaintenanceReport,
                 rows: list[dict[str, Any]] | None = None) -> None:
        self.target = target
        self.summary = summary
        self.report = report
        self.rows = rows  # the store before, newest first (dry run, when asked)


class CleanupResult(Record):
    __slots__ = ("mode", "dry_run", "stores")

    def __init__(self, mode: str, dry_run: bool, stores: list[StoreCleanup] | None = None) -> None:
        self.mode = mode
        self.dry_run = dry_run
        self.stores: list[StoreCleanup] = [] if stores is None else stores

    def to_json(self) -> dict[str, Any]:
        summaries = [s.summary for s in self.stores]
        if len(summaries) == 1:
            return summaries[0]
        return {"allAgents": True, "mode": self.mode, "dryRun": self.dry_run, "stores": summaries}


def run_cleanup(config: Config, *, store: str | None = None, agent: str | None = None, all_agents: bool = False,
                enforce: bool = False, dry_run: bool = False, active_key: str | None = None,
                fix_missing: bool = False, progress: Callable[[CleanupProgress], None] | None = None,
                hooks: Hooks, cancel: CancelToken | None = None) -> dict[str, Any]:
    """Maintain the selected stores now; the reference's JSON result (see the module docstring)."""
    return cleanup_stores(config, store=store, agent=agent, all_agents=all_agents, enforce=enforce,
                          dry_run=dry_run, active_key=active_key, fix_missing=fix_missing,
                          progress=progress, hooks=hooks, cancel=cancel).to_json()


def cleanup_stores(config: Config, *, store: str | None = None, agent: str | None = None, all_agents: bool = False,
                   enforce: bool = False, dry_run: bool = False, active_key: str | None = None,
                   fix_missing: bool = False, progress: Callable[[CleanupProgress], None] | None = None,
                   with_rows: bool = False, hooks: Hooks,
                   cancel: CancelToken | None = None) -> CleanupResult:
    """Like :func:`run_cleanup`, returning every store's report (and with ``with_rows``
    the dry-run table's rows)."""
    # Like the reference: an empty --store, and an empty or blank --agent, count as not given.
    agent = agent if isinstance(agent, str) and js.js_trim(agent) else None
    targets = resolve_targets(config, store=store or None, agent=agent, all_agents=bool(all_agents))
    settings = MaintenanceSettings.resolve(config.get("session.maintenance"))
    mode = "enforce" if enforce else settings.mode
    active_keys = frozenset({active_key}) if isinstance(active_key, str) and active_key else frozenset()
    result = CleanupResult(mode, bool(dry_run))
    for index, target in enumerate(targets, 1):
        def tell(stage: str, counts: dict[str, int] | None = None, target: StoreTarget = target,
                 index: int = index) -> None:
            if progress is not None:
                progress(CleanupProgress(index, len(targets), target.agent_id, str(target.path), stage, counts))

        if cancel is not None:
            cancel.check()  # one operation: once a store was committed, the others follow
        tell("load")
        if dry_run:
            done = _preview(config, hooks, target, settings, mode, active_keys, fix_missing, tell, with_rows, cancel)
        else:
            done = _apply(config, hooks, target, mode, active_keys, fix_missing, tell, cancel)
        tell("done")
        result.stores.append(done)
    return result


def _summary(target: StoreTarget, report: MaintenanceReport, *, mode: str,
             applied_count: int | None = None) -> dict[str, Any]:
    """One store's summary in the reference's field order; ``applied``/``appliedCount``
    only for a run that committed."""
    summary = {
        "agentId": target.agent_id,
        "storePath": str(target.path),
        "mode": mode,
        "dryRun": applied_count is None,
        "beforeCount": report.before_count,
        "afterCount": report.after_count,
        "missing": report.missing,
        "pruned": report.pruned,
        "capped": report.capped,
        "diskBudget": report.disk_budget,
        "wouldMutate": report.would_mutate,
    }
    if applied_count is not None:
        summary["applied"] = True
        summary["appliedCount"] = applied_count
    if report.extra:
        # Third-party policies' own numbers, under a key the reference's JSON will never use.
        summary[EXTENSION_KEY] = {"policies": {str(k): _json_safe(v) for k, v in report.extra.items()}}
    return summary


#: The summary key for what openclaw-core adds (only present when a plugin reported something).
EXTENSION_KEY = "x-openclaw-core"


def _json_safe(value: Any) -> Any:
    """A plugin's number as JSON can hold it (a value of another type becomes its text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return str(value)


def _preview(config: Config, hooks: Hooks, target: StoreTarget, settings: MaintenanceSettings,
             mode: str, active_keys: frozenset[str], fix_missing: bool, tell: Callable[..., None],
             with_rows: bool, cancel: CancelToken | None = None) -> StoreCleanup:
    """What ``--enforce`` with the same options would do, on a scratch copy: no file
    is touched, no directory created, no lock taken."""
    from openclaw_core.engine.maintenance import run_maintenance
    from openclaw_core.engine.store.backend import open_backend
    from openclaw_core.engine.store.state import MutationView

    backend = open_backend(str(target.path), config, hooks)
    try:
        state = backend.load_lazy()
        view = MutationView(state)
        rows = display_rows(view.peek_items()) if with_rows else None
        # The preview shows what enforce would do, whatever the configured mode
        # (like the reference), and unlike the reference it honours the active key.
        request = MaintenanceRequest(mode="enforce", force=True, active_keys=active_keys, dry_run=True,
                                     fix_missing=fix_missing, progress=tell, stage_done=tell)
        report = run_maintenance(view, backend, settings, request, hooks,
                                 check=cancel.check if cancel is not None else None)
    finally:
        backend.close()
    summary = _summary(target, report, mode=mode)
    return StoreCleanup(target, summary, report, rows)


def _apply(config: Config, hooks: Hooks, target: StoreTarget, mode: str, active_keys: frozenset[str],
           fix_missing: bool, tell: Callable[..., None], cancel: CancelToken | None = None) -> StoreCleanup:
    """One forced maintenance commit through the store's writer; the store is written
    (created as ``{}`` if missing) unless its text did not change."""
    from openclaw_core.engine.store.writer import get_writer

    writer = get_writer(target.path, config, hooks)
    request = MaintenanceRequest(mode=mode, force=True, active_keys=active_keys, fix_missing=fix_missing,
                                 progress=tell, stage_done=tell)
    # One forced, lazily loaded commit: a big store is never decoded as a whole,
    # only the entries it keeps are normalised and re-encoded.
    committed = writer.run_with_report(lambda store: None, maintenance=request, lazy=True, cancel=cancel)
    report = committed.report
    assert report is not None  # a mutation that asks for a save always gets maintenance
    # What was just written (or found already written): the reference re-reads the file.
    applied_count = report.after_count
    summary = _summary(target, report, mode=report.mode, applied_count=applied_count)
    return StoreCleanup(target, summary, report)


def display_rows(items: Any) -> list[dict[str, Any]]:
    """The reference's session display rows, newest first (``updatedAt`` missing = 0)."""
    rows = []
    for key, entry in items:
        entry = entry if isinstance(entry, Mapping) else {}
        row = {"key": key, "updatedAt": entry.get("updatedAt")}
        for name in ROW_FIELDS:
            row[name] = entry.get(name)
        rows.append(row)

    # The reference sorts with ``(b.updatedAt ?? 0) - (a.updatedAt ?? 0)``: a stable
    # descending sort while every value is a number, else (a NaN difference counts
    # as "equal") whatever V8's TimSort makes of it, as the listing does.
    numbers = [js.to_number(row["updatedAt"]) for row in rows]
    if not any(math.isnan(n) for n in numbers):
        order = sorted(range(len(rows)), key=lambda i: -numbers[i])
    else:
        order = v8_sort(list(range(len(rows))), lambda a, b: numbers[b] - numbers[a])
    return [rows[i] for i in order]
