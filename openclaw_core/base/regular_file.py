"""Reading a small file that someone may have replaced by a FIFO, a socket or a device.

``open()`` on a FIFO blocks until a writer appears and ``/dev/zero`` never ends,
so a config, an endpoint record or a device identity read the plain way can hang
a command (or the Gateway) for good. Here the file is opened with ``O_NONBLOCK``
and read only when ``fstat`` says it is a regular file (symlinks are followed,
as for every other read of these files).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class NotRegularFile(OSError):
    """The path names something other than a regular file (never read)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(f"{os.fspath(path)} is not a regular file")


def read_bytes(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The file's bytes (at most ``limit`` of them); :class:`NotRegularFile` for a FIFO,
    socket, device or directory, the usual :class:`OSError` otherwise
    (``FileNotFoundError`` when missing)."""
    fd = _open_regular(path)
    try:
        size = os.fstat(fd).st_size
        chunks, left = [], limit
        while left is None or left > 0:
            block = os.read(fd, max(size, 1 << 16) if left is None else left)
            if not block:
                break
            chunks.append(block)
            if left is not None:
                left -= len(block)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_tail(path: str | os.PathLike[str], size: int) -> bytes:
    """The file's last ``size`` bytes (all of a shorter file); errors as :func:`read_bytes`."""
    fd = _open_regular(path)
    try:
        end = os.fstat(fd).st_size
        os.lseek(fd, max(0, end - size), os.SEEK_SET)
        chunks, left = [], min(size, end)
        while left > 0:
            block = os.read(fd, left)
            if not block:
                break
            chunks.append(block)
            left -= len(block)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _open_regular(path: str | os.PathLike[str]) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise NotRegularFile(path) from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket
            raise NotRegularFile(path) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegularFile(path)
    return fd


def read_text(path: str | os.PathLike[str] | Path) -> str:
    """:func:`read_bytes` decoded as ``Path.read_text(encoding="utf-8")`` decodes
    (``UnicodeDecodeError``; universal newlines, so that callers see what they did before)."""
    return read_bytes(path).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
