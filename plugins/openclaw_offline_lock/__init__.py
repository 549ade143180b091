"""Built-in plugin: the cross-process store lock, on filelock.

Every writer holds it around one commit, so an offline ``openclaw`` command
and a running Gateway never interleave writes to one store. The lock file
(``sessions.json.lock``) sits next to the store; the core keeps it out of
listings and the disk budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from openclaw_core import hookimpl
from openclaw_core.base.errors import StoreLockTimeout


@contextmanager
def _hold(lock_path: str, store_path: str, timeout: float) -> Iterator[None]:
    import filelock  # imported on first write, not when the CLI starts

    lock = filelock.FileLock(lock_path, timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise StoreLockTimeout(
            f"timed out after {timeout:g}s waiting for the lock on {store_path} "
            f"(another openclaw process is writing it; lock file {lock_path})"
        ) from None
    try:
        yield
    finally:
        lock.release()


@hookimpl(trylast=True)
def openclaw_store_lock(lock_path: str, store_path: str, timeout: float):
    return _hold(lock_path, store_path, timeout)
