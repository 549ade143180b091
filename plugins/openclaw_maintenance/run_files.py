"""The session files of one maintenance run: the store directory's listing,
taken once and kept current through the run's plan, and the files the
entries reference."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from openclaw_core.js.values import js_trim

from openclaw_maintenance.transcripts import SessionFiles, is_inside

if TYPE_CHECKING:
    from openclaw_core.engine.maintenance import MaintenanceContext


def session_files(ctx: MaintenanceContext) -> SessionFiles:
    """The store directory's :class:`SessionFiles` for this run (listed once, kept current).
    Its renames and deletions go to the run's plan (``ctx.files``): they happen only
    when the commit goes through."""
    files = ctx.shared.get("session-files")
    if files is None:
        files = ctx.shared["session-files"] = SessionFiles(os.path.dirname(os.path.abspath(ctx.store_path)),
                                                           ctx.files)
    return files


def referenced_paths(entries: Iterable[Any], here: SessionFiles) -> set[str]:
    """Canonical paths of the files in ``here`` that ``entries`` reference."""
    referenced: set[str] = set()
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        for path in here.artifact_paths(entry):
            referenced.add(here.canonical(path))
        checkpoints = entry.get("compactionCheckpoints")
        if not isinstance(checkpoints, list):
            continue
        for checkpoint in checkpoints:
            pre = checkpoint.get("preCompaction") if isinstance(checkpoint, Mapping) else None
            raw = pre.get("sessionFile") if isinstance(pre, Mapping) else None
            if not isinstance(raw, str) or not js_trim(raw):
                continue
            # Resolved against the working directory when relative, as the reference does.
            real = os.path.realpath(js_trim(raw))
            if is_inside(here.real, real):
                referenced.add(real)
    return referenced
