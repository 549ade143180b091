"""The trash behaviour: ``agents delete`` moves an agent's directories into
``<stateDir>/<archiveDir>/<UTC time>-<agent>-<role>/<name>`` instead of the
system trash, so they stay next to the stores they belonged to (and can be
moved back with ``mv``).

The core has already refused paths outside the home and the state dir; here a
path is renamed, never copied, unless the archive is on another filesystem
(then ``shutil.move``, which moves a symlink as a link). A path that cannot go
is reported with the reason, never half-moved silently.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path

from openclaw_core.engine.trash import TrashContext, TrashResult, is_within

from openclaw_retention_pins.settings import read_settings


def archive_path(path: str, context: TrashContext) -> TrashResult | None:
    if context.config is None:
        return None  # no config to read our table from
    settings = read_settings(context.config)
    if settings is None:
        return None  # not configured: the next trash plugin (the system trash) takes it
    root = Path(context.state_dir, settings.archive_dir)
    source = os.path.abspath(path)
    real_root = os.path.realpath(root)
    if is_within(real_root, os.path.realpath(source)) or is_within(os.path.realpath(source), real_root):
        return TrashResult(path, moved=False, reason=f"{path} and the archive {root} overlap")
    folder = _new_folder(root, context)
    target = folder / (os.path.basename(source.rstrip(os.sep)) or "root")
    try:
        os.rename(source, target)  # a symlink moves as a link
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            _remove_empty(folder)
            return TrashResult(path, moved=False, reason=exc.strerror or str(exc))
        try:
            shutil.move(source, target)  # another filesystem: copy, then remove the source
        except OSError as exc2:
            return TrashResult(path, moved=False, reason=f"{exc2.strerror or exc2} (copying to {target})")
    return TrashResult(path, moved=True, destination=str(target))


def _new_folder(root: Path, context: TrashContext) -> Path:
    """A folder of its own for this path (``mkdir`` is atomic, so two deletes never collide)."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime())
    base = f"{stamp}-{context.agent_id or 'agent'}-{context.role or 'path'}"
    for n in range(1000):
        folder = root / (base if n == 0 else f"{base}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(errno.EEXIST, f"no free folder name under {root}")


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
