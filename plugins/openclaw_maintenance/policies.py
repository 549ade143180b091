"""The built-in maintenance policies (spec sections 7, 8 and 10), in run order.

=====  ==========================  =================================================
order  name                        what it does
=====  ==========================  =================================================
100    fix-missing                 ``--fix-missing`` only: drop entries whose transcript is gone
150    warn-active-session         warn mode: say when enforcing would evict the active session
200    stale-prune                 enforce: drop entries not updated for ``pruneAfter``
300    entry-cap                   enforce: keep the ``maxEntries`` newest (batched on writes)
400    archive-transcripts         enforce: rename removed sessions' transcripts ``.deleted.<TS>``
500    remove-trajectory-sidecars  enforce: delete removed sessions' trajectory files
600    purge-archives              enforce: delete ``.deleted``/``.reset`` archives past retention
700    disk-budget                 ``maxDiskBytes``: free files, then entries, down to high water
=====  ==========================  =================================================
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from openclaw_core.base.mapping import is_mapping
from openclaw_core.base.record import Record
from openclaw_core.js.values import js_trim
from openclaw_core.js.values import to_number as js_to_number
from openclaw_core.engine.maintenance import (
    ACTION_CAP,
    ACTION_MISSING,
    ACTION_STALE,
    MaintenanceContext,
    entry_high_water,
    updated_at_or,
)

from openclaw_maintenance import artifacts, shared_dir
from openclaw_maintenance.disk_budget import enforce_disk_budget
from openclaw_maintenance.run_files import referenced_paths, session_files
from openclaw_maintenance.transcripts import SessionFiles, session_file_of


class Policy(Record):
    __slots__ = ("name", "order", "description")

    def __init__(self, name: str, order: int, description: str) -> None:
        self.name = name
        self.order = order
        self.description = description

    def apply(self, ctx: MaintenanceContext) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


# --- 100 fix-missing ------------------------------------------------------------------

class FixMissing(Policy):
    """Remove every entry that has a ``sessionId`` but whose transcript file does not
    exist (protected ones too). Runs only when asked (``--fix-missing``), in both
    modes. Transcripts are not archived: there are none."""

    def apply(self, ctx: MaintenanceContext) -> None:
        if not ctx.request.fix_missing:
            return
        files = session_files(ctx)
        missing = 0
        for key, entry in ctx.items():
            session_id = entry.get("sessionId") if isinstance(entry, Mapping) else None
            if not session_id:
                continue
            if not files.exists(files.resolve(session_id, session_file_of(entry))):
                ctx.remove(key, ACTION_MISSING, archive=False)
                missing += 1
        ctx.report.missing += missing
        if not ctx.dry_run:
            # The reference removes them in the cleanup's own mutation, before its
            # maintenance counts: an applied report's beforeCount excludes them.
            ctx.report.before_count = len(ctx)


# --- 150 warn-active-session ------------------------------------------------------------

def active_session_warning(ctx: MaintenanceContext, active_key: str) -> dict[str, Any] | None:
    """The reference's warning: would enforcing prune or cap ``active_key``?"""
    key = js_trim(active_key)
    if not key:
        return None
    active = ctx.entry(key)
    if not isinstance(active, Mapping) or ctx.is_protected(key, active):
        return None
    settings = ctx.settings
    cutoff = ctx.now_ms - settings.prune_after_ms
    updated = active.get("updatedAt")
    would_prune = updated is not None and js_to_number(updated) < cutoff
    would_cap = _would_cap(ctx, key, active)
    if not would_prune and not would_cap:
        return None
    return {"activeSessionKey": key, "activeUpdatedAt": updated, "totalEntries": len(ctx),
            "pruneAfterMs": settings.prune_after_ms, "maxEntries": settings.max_entries,
            "wouldPrune": would_prune, "wouldCap": would_cap}


def _would_cap(ctx: MaintenanceContext, active_key: str, active: Mapping[str, Any]) -> bool:
    max_entries = ctx.settings.max_entries
    keys = list(ctx.store)
    if len(keys) <= max_entries:
        return False
    if max_entries <= 0:
        return True
    protected = sum(1 for k in keys if k != active_key and ctx.is_protected(k))
    removable = max(0, max_entries - protected)
    if removable <= 0:
        return True
    active_at = updated_at_or(active, -math.inf)
    newer = 0
    seen_active = False
    for key in keys:
        if key == active_key:
            seen_active = True
            continue
        if ctx.is_protected(key):
            continue
        at = updated_at_or(ctx.entry(key), -math.inf)
        if at > active_at or (not seen_active and at == active_at):
            newer += 1
            if newer >= removable:
                return True
    return False


class WarnActiveSession(Policy):
    """Warn mode removes nothing; when a write names its active session and entry
    maintenance is due, log that enforcing would evict that session."""

    def apply(self, ctx: MaintenanceContext) -> None:
        if ctx.enforce or not ctx.request.active_keys:
            return
        if not (ctx.force or ctx.report.before_count >= entry_high_water(ctx.settings.max_entries)):
            return
        for active_key in sorted(ctx.request.active_keys):
            warning = active_session_warning(ctx, active_key)
            if warning is not None:
                ctx.report.warnings.append(warning)
                ctx.log("session maintenance would evict active session; skipping enforcement", logging.WARNING)


# --- 200 stale-prune ----------------------------------------------------------------------

class StalePrune(Policy):
    """Remove entries whose ``updatedAt`` is older than ``pruneAfter`` (entries without
    one never), except the active key and protected entries. Not batched."""

    def apply(self, ctx: MaintenanceContext) -> None:
        if not ctx.enforce:
            return
        cutoff = ctx.now_ms - ctx.settings.prune_after_ms
        pruned = 0
        # Every entry, or only those a backend's index says may be stale (PostgreSQL).
        for key, entry in ctx.stale_candidates(cutoff):
            # (is_mapping: an ABC isinstance per entry is most of this loop's cost)
            updated = entry.get("updatedAt") if is_mapping(entry) else None
            # Age first: the protection decision (a hook call) only for stale entries.
            # Plain numbers (nearly every entry) skip js_to_number: this loop runs on every commit.
            if updated is None:
                continue
            kind = type(updated)
            if not (updated if kind is int or kind is float else js_to_number(updated)) < cutoff:
                continue
            if ctx.is_preserved(key, entry):
                continue
            ctx.remove(key, ACTION_STALE)
            pruned += 1
        ctx.report.pruned += pruned
        if pruned:
            ctx.log("pruned stale session entries")


# --- 300 entry-cap --------------------------------------------------------------------------

class EntryCap(Policy):
    """Keep the ``maxEntries`` most recently updated entries. Preserved entries (active,
    protected) are never removed but take their slots. On ordinary writes it runs
    only once the store reaches the high-water mark (2->3, 50->75, 500->550); a
    forced run (``sessions cleanup``) caps at once."""

    def apply(self, ctx: MaintenanceContext) -> None:
        if not ctx.enforce:
            return
        max_entries = ctx.settings.max_entries
        if not (ctx.force or len(ctx) >= entry_high_water(max_entries)):
            return
        candidates: list[tuple[str, float]] = []
        preserved = 0
        for key, entry in ctx.items():
            if ctx.is_preserved(key, entry):
                preserved += 1
            else:
                candidates.append((key, updated_at_or(entry, -math.inf)))
        removable = max(0, max_entries - preserved)
        if len(candidates) <= removable:
            return
        # Newest first; a stable sort keeps file order on ties; no updatedAt sorts last.
        candidates.sort(key=lambda item: -item[1] if not math.isnan(item[1]) else math.inf)
        doomed = candidates[removable:]
        for key, _ in doomed:
            ctx.remove(key, ACTION_CAP)
        ctx.report.capped += len(doomed)
        ctx.log("capped session entry count")


# --- 400 / 500: archive transcripts, remove trajectory sidecars ------------------------------

def removed_session_files(ctx: MaintenanceContext) -> dict[Any, str | None]:
    """sessionId -> sessionFile of removed entries whose transcript is to be archived
    and that no surviving entry still uses (computed once per run)."""
    cached = ctx.shared.get("removed-session-files")
    if cached is not None:
        return cached
    files: dict[Any, str | None] = {}
    for removed in ctx.removed:
        if not removed.archive:
            continue
        raw_id = removed.entry.get("sessionId") if is_mapping(removed.entry) else None
        session_id = raw_id if isinstance(raw_id, str) else None
        session_file = session_file_of(removed.entry)
        if session_id not in files or session_file:
            files[session_id] = session_file
    if files:
        referenced = {sid for _, entry in ctx.items()
                      if is_mapping(entry) and isinstance(sid := entry.get("sessionId"), str) and sid}
        files = {sid: f for sid, f in files.items() if not (sid and sid in referenced)}
    ctx.shared["removed-session-files"] = files
    return files


def still_named(ctx: MaintenanceContext, files: SessionFiles,
                others: shared_dir.OtherStores) -> Callable[[str], bool]:
    """Whether a removed session's file (canonical path) is one a surviving entry of
    this store names (by its ``sessionFile`` or ``sessionId``), or another store of a
    shared dir does: then it is neither archived nor deleted (the reference renames
    it, and the surviving session loses its transcript). Computed on first use."""
    survivors: list[set[str]] = []

    def keeps(canonical: str) -> bool:
        if not survivors:
            survivors.append(referenced_paths((entry for _, entry in ctx.items()), files))
        return canonical in survivors[0] or others.keeps(canonical)

    return keeps


class ArchiveTranscripts(Policy):
    """Rename the transcripts of pruned and capped sessions to ``<file>.deleted.<TS>``,
    only inside the store's directory (after realpath)."""

    def apply(self, ctx: MaintenanceContext) -> None:
        for files, keeps, session_id, session_file in _removed_sessions_with_files(ctx):
            for archived in files.archive(session_id, session_file, "deleted", keep=keeps):
                ctx.report.archived.append(archived)
                ctx.archived_dirs.add(os.path.dirname(archived))


def _removed_sessions_with_files(ctx: MaintenanceContext) -> Iterator[tuple[SessionFiles, Callable[[str], bool],
                                                                             str, Any]]:
    """(files, what must stay, session id, sessionFile) of each session this enforce
    run removed that may have files in the store's dir, decided with the dir's
    other stores read (and locked)."""
    if not ctx.enforce or ctx.dry_run:
        return
    files = session_files(ctx)
    removed = removed_session_files(ctx)
    if not removed:
        return
    with shared_dir.other_stores(ctx, files, referenced_paths) as others:
        keeps = still_named(ctx, files, others)
        for session_id, session_file in removed.items():
            if files.may_hold(session_id, session_file):
                yield files, keeps, session_id, session_file


class RemoveTrajectorySidecars(Policy):
    """Delete the trajectory files (``<base>.trajectory.jsonl``, ``<base>.trajectory-path.json``)
    of pruned and capped sessions, inside the store's directory."""

    def apply(self, ctx: MaintenanceContext) -> None:
        for files, keeps, session_id, session_file in _removed_sessions_with_files(ctx):
            ctx.report.removed_files.extend(files.remove_trajectory_sidecars(session_id, session_file, keep=keeps))


# --- 600 purge-archives -------------------------------------------------------------------------

def purge_archives(directories: list[str], older_than_ms: int | None, reason: str,
                   now_ms: int | None = None, files: SessionFiles | None = None,
                   others: shared_dir.OtherStores | None = None) -> list[str]:
    """Delete regular files ``*.<reason>.<TS>`` whose name's time is at least
    ``older_than_ms`` ago. The mtime is never consulted; a symlink is unlinked,
    never what it points to. With ``files`` the deletions join its plan; in its
    dir, ``others`` (the other stores sharing it) keeps what one of them references."""
    if older_than_ms is None or not math.isfinite(older_than_ms) or older_than_ms < 0:
        return []
    now = int(time.time() * 1000) if now_ms is None else now_ms
    removed: list[str] = []
    for directory in dict.fromkeys(os.path.abspath(d) for d in directories):
        here = files if files is not None and directory in (files.dir, files.real) \
            else SessionFiles(directory, files.plan if files is not None else None)
        for name in here.names():
            stamp = artifacts.parse_archive_time(name, reason)
            # Purged once its age reaches the retention: with a retention of 0 an
            # archive made a moment ago in this very run goes too, as in the
            # reference (where at least a millisecond always passes in between).
            if stamp is None or now - stamp < older_than_ms:
                continue
            path = os.path.join(directory, name)
            if others is not None and here is files and not others.may_remove(here.canonical(path)):
                continue
            if here.is_file(path) and here.unlink(path):
                removed.append(path)
    return removed


class PurgeArchives(Policy):
    """Delete ``.deleted.<TS>`` archives older than ``pruneAfter`` and ``.reset.<TS>``
    archives older than ``resetArchiveRetention``, aged by the time in their name.
    Looks in the directories that just received archives, else (unless
    ``resetArchiveRetention`` is false) in the store's directory."""

    def apply(self, ctx: MaintenanceContext) -> None:
        if not ctx.enforce or ctx.dry_run:
            return
        retention = ctx.settings.reset_archive_retention_ms
        if not ctx.archived_dirs and retention is None:
            return
        dirs = sorted(ctx.archived_dirs) or [os.path.dirname(os.path.abspath(ctx.store_path))]
        files = session_files(ctx)
        with shared_dir.other_stores(ctx, files, referenced_paths) as others:
            ctx.report.removed_files.extend(purge_archives(dirs, ctx.settings.prune_after_ms, "deleted", files=files,
                                                           others=others))
            if retention is not None:
                ctx.report.removed_files.extend(purge_archives(dirs, retention, "reset", files=files, others=others))


# --- 700 disk-budget -----------------------------------------------------------------------------


class DiskBudget(Policy):
    """``maxDiskBytes``: when the sessions dir (every regular file directly in it, with
    the store counted at its re-serialised size) exceeds it, delete archives and
    unreferenced transcripts oldest-mtime first, then evict the oldest unprotected
    entries with their transcripts, until usage is at ``highWaterBytes``. Warn
    mode only reports. The backend's own files (the lock file) never count."""

    def apply(self, ctx: MaintenanceContext) -> None:
        with shared_dir.other_stores(ctx, session_files(ctx), referenced_paths) as others:
            ctx.report.disk_budget = enforce_disk_budget(ctx, warn_only=not ctx.enforce, others=others)


BUILTIN_POLICIES: tuple[Policy, ...] = (
    FixMissing("fix-missing", 100, "drop entries whose transcript file is missing (--fix-missing)"),
    WarnActiveSession("warn-active-session", 150, "warn mode: report that enforcing would evict the active session"),
    StalePrune("stale-prune", 200, "drop entries older than pruneAfter (not active, not protected)"),
    EntryCap("entry-cap", 300, "keep the maxEntries newest entries (batched high-water on writes)"),
    ArchiveTranscripts("archive-transcripts", 400, "rename removed sessions' transcripts to .deleted.<TS>"),
    RemoveTrajectorySidecars("remove-trajectory-sidecars", 500, "delete removed sessions' trajectory files"),
    PurgeArchives("purge-archives", 600, "delete .deleted/.reset archives older than their retention"),
    DiskBudget("disk-budget", 700, "keep the sessions dir under maxDiskBytes (files, then entries)"),
)
