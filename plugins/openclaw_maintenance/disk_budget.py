"""The disk budget (maxDiskBytes, highWaterBytes): what the sessions dir would
hold after this commit, and what goes first to bring it under the budget:
unreferenced files oldest first, then the oldest entries with their files."""

from __future__ import annotations

import logging
import os
from typing import Any, NamedTuple

from openclaw_core.js.values import js_trim
from openclaw_core.engine.maintenance import (
    ACTION_BUDGET,
    MaintenanceContext,
    finite_updated_at,
)

from openclaw_maintenance import artifacts, shared_dir
from openclaw_maintenance.transcripts import SessionFiles
from openclaw_maintenance.run_files import referenced_paths, session_files


class _File(NamedTuple):
    path: str
    canonical: str
    name: str
    size: int
    mtime_ms: float


def _list_files(here: SessionFiles, excluded: frozenset[str]) -> list[_File]:
    """The regular files directly in the dir, as the run's plan leaves them."""
    files: list[_File] = []
    for name in here.names():
        if name in excluded:
            continue
        path = os.path.join(here.dir, name)
        if not here.is_regular_non_symlink(path):
            continue
        st = here.lstat(path)
        if st is None:
            continue
        files.append(_File(path, os.path.join(here.real, name), name, st.st_size, st.st_mtime_ns / 1e6))
    return files


def projected_store_bytes(ctx: MaintenanceContext) -> int:
    """UTF-8 length of the store as it would be written now (2-space JSON)."""
    store = ctx.store
    count = len(store)
    if count == 0:
        return 2
    return 4 + sum(store.chunk_size(k) for k in store) + 2 * (count - 1)


def enforce_disk_budget(ctx: MaintenanceContext, *, warn_only: bool,
                        others: shared_dir.OtherStores | None = None) -> dict[str, Any] | None:
    settings = ctx.settings
    max_bytes, high_water = settings.max_disk_bytes, settings.high_water_bytes
    if max_bytes is None or high_water is None:
        return None
    dry = ctx.dry_run
    here = session_files(ctx)
    files = _list_files(here, ctx.excluded_files())
    sizes = {f.canonical: f.size for f in files}
    simulated: set[str] = set()
    store_canonical = here.canonical(ctx.store_path)
    store_file = next((f for f in files if f.canonical == store_canonical), None)
    projected = projected_store_bytes(ctx)
    total = sum(f.size for f in files) - (store_file.size if store_file else 0) + projected
    before = total

    def result(removed_files: int, removed_entries: int, freed: int, over: bool) -> dict[str, Any]:
        return {"totalBytesBefore": before, "totalBytesAfter": total, "removedFiles": removed_files,
                "removedEntries": removed_entries, "freedBytes": freed, "maxBytes": max_bytes,
                "highWaterBytes": high_water, "overBudget": over}

    if total <= max_bytes:
        return result(0, 0, 0, False)
    if warn_only:
        ctx.log("session disk budget exceeded (warn-only mode)", logging.WARNING)
        return result(0, 0, 0, True)

    removed_files = removed_entries = freed = 0

    def remove_file(path: str, canonical_path: str | None = None) -> None:
        """Remove (or, in a dry run, pretend to) one file and count what it frees."""
        nonlocal total, freed, removed_files
        canonical_path = canonical_path or here.canonical(path)
        if others is not None and not others.may_remove(canonical_path):
            return  # another store of this dir references it (or may)
        if dry:
            size = sizes.get(canonical_path, 0) if canonical_path not in simulated else 0
            if size <= 0:
                return
            simulated.add(canonical_path)
        else:
            if not here.is_file(path):
                return
            size = here.size(path)
            if size is None:
                return
            if here.unlink(path):
                ctx.report.removed_files.append(path)
            if size <= 0:
                return
        total -= size
        freed += size
        removed_files += 1

    referenced = referenced_paths((entry for _, entry in ctx.items()), here)
    queue = [f for f in files
             if artifacts.is_archive_artifact(f.name)
             or (f.canonical not in referenced and (artifacts.is_checkpoint_transcript(f.name)
                                                    or artifacts.is_trajectory_artifact(f.name)
                                                    or artifacts.is_primary_transcript(f.name)))]
    queue.sort(key=lambda f: f.mtime_ms)
    for f in queue:
        if total <= high_water:
            break
        remove_file(f.path, f.canonical)

    if total > high_water:
        active = {js_trim(k).lower() for k in ctx.request.active_keys if js_trim(k)}
        ref_counts: dict[Any, int] = {}
        chunk_sizes: dict[str, int] = {}
        order: list[tuple[str, float]] = []
        for key, entry in ctx.items():
            sid = entry.get("sessionId")
            if sid and isinstance(sid, (str, int, float)):
                ref_counts[sid] = ref_counts.get(sid, 0) + 1
            chunk_sizes[key] = ctx.store.chunk_size(key)
            order.append((key, finite_updated_at(entry)))
        order.sort(key=lambda item: item[1])
        for key, _ in order:
            if total <= high_water:
                break
            if active and js_trim(key).lower() in active:
                continue
            entry = ctx.entry(key)
            if entry is None or ctx.is_protected(key, entry):
                continue
            previous = projected
            ctx.remove(key, ACTION_BUDGET, archive=False)
            projected = max(2, projected - (chunk_sizes.pop(key) + 2))
            total += projected - previous
            removed_entries += 1
            sid = entry.get("sessionId")
            if not sid:
                continue
            if isinstance(sid, (str, int, float)):
                left = ref_counts.get(sid, 1) - 1
                if left > 0:
                    ref_counts[sid] = left
                    continue
                ref_counts.pop(sid, None)
            for path in here.artifact_paths(entry):
                remove_file(path)

    if total > high_water:
        ctx.log("session disk budget still above high-water target after cleanup", logging.WARNING)
    elif removed_files or removed_entries:
        ctx.log("applied session disk budget cleanup")
    return result(removed_files, removed_entries, freed, True)
