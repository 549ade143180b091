"""Built-in plugin: the cross-process store lock, ``flock(2)`` on the lock file.

Every writer holds it around one commit, so an offline ``openclaw`` command
and a running Gateway never interleave writes to one store. The lock file
(``sessions.json.lock``) sits next to the store; the core keeps it out of
listings and the disk budget.

The lock is taken with ``fcntl.flock`` directly, as filelock does on Unix (the
two interoperate): importing filelock cost a one-shot command two dozen
modules. Where ``flock`` is missing (no ``fcntl``, or a filesystem without
it) filelock decides, with its fallbacks.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from openclaw_core import hookimpl
from openclaw_core.base.errors import StoreLockTimeout

POLL_SECONDS = 0.05  # filelock's default poll interval
_NO_FLOCK = (errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL)


def _timed_out(lock_path: str, store_path: str, timeout: float) -> StoreLockTimeout:
    return StoreLockTimeout(
        f"timed out after {timeout:g}s waiting for the lock on {store_path} "
        f"(another openclaw process is writing it; lock file {lock_path})"
    )


def _flock(lock_path: str, store_path: str, timeout: float) -> int | None:
    """A descriptor of ``lock_path`` holding its exclusive flock, or None when
    flock cannot be used here (the caller falls back to filelock)."""
    try:
        import fcntl
    except ImportError:
        return None
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                os.fchmod(fd, 0o600)
            except PermissionError:
                pass  # another user's lock file: it still locks
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if timeout >= 0 and time.monotonic() >= deadline:
                raise _timed_out(lock_path, store_path, timeout) from None
            time.sleep(POLL_SECONDS)
            continue
        except OSError as exc:
            os.close(fd)
            if exc.errno in _NO_FLOCK:
                return None
            raise
        # A peer may have removed (or replaced) the file before we locked it:
        # a lock on an inode nobody else opens excludes no one.
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@contextmanager
def _hold(lock_path: str, store_path: str, timeout: float) -> Iterator[None]:
    fd = _flock(lock_path, store_path, timeout)
    if fd is None:
        with _hold_filelock(lock_path, store_path, timeout):
            yield
        return
    try:
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the flock


@contextmanager
def _hold_filelock(lock_path: str, store_path: str, timeout: float) -> Iterator[None]:
    import filelock  # only where flock is missing

    lock = filelock.FileLock(lock_path, timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise _timed_out(lock_path, store_path, timeout) from None
    try:
        yield
    finally:
        lock.release()


@hookimpl(trylast=True)
def openclaw_store_lock(lock_path: str, store_path: str, timeout: float):
    return _hold(lock_path, store_path, timeout)
