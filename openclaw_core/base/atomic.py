"""One home for writing a small private file whole: a temp file beside it
(0600, never through a symlink), written and fsynced, renamed over the target,
then the directory fsynced. A reader sees the old file or the new one, never a
mix, and a crash leaves one of the two (plus at most a ``*.tmp``, removed when
the write fails in-process). Used for tokens, device identities, the endpoint
record, sentinels and configs; the stores have their backends' own writers."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path


def write_private(path: Path, data: str | bytes, *, mode: int = 0o600, dir_mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` (text is UTF-8). ``mode`` is the file's
    (a config keeps the mode it had); ``dir_mode`` creates a missing parent."""
    if dir_mode is not None:
        path.parent.mkdir(mode=dir_mode, parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        try:
            os.fchmod(fd, mode)  # also when 0600: a temp a killed write left keeps its own mode under O_TRUNC
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # the rename is done; a dir we cannot fsync is no reason to fail
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
