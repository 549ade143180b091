"""The file store backend: ``sessions.json`` on disk, as OpenClaw writes it."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from openclaw_core.errors import StoreConflict, StoreCorruptError
from openclaw_core.store.backend import RETIRED_SUFFIX, StoreBackend
from openclaw_core.store.state import ChangeSet, StoreState

LOCK_SUFFIX = ".lock"
_TEMP_NAME = re.compile(r"\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp")

FileVersion = tuple[int, int, int]


def _identity(st: os.stat_result) -> FileVersion:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # best effort, as the reference (some filesystems refuse it)
    finally:
        os.close(fd)


def _write_parts(fd: int, parts: list[bytes]) -> None:
    """Write every piece, in order: ``writev`` in batches (one 9 MB store is
    ~10k pieces), resuming after a partial write; a plain write loop elsewhere."""
    if not hasattr(os, "writev"):
        view = memoryview(b"".join(parts))
        while view:
            view = view[os.write(fd, view):]
        return
    i, n = 0, len(parts)
    while i < n:
        batch = parts[i:i + _IOV_MAX]
        written = os.writev(fd, batch)
        if written == sum(map(len, batch)):
            i += len(batch)
            continue
        while i < n and written >= len(parts[i]):  # a partial write: find where it stopped
            written -= len(parts[i])
            i += 1
        if written:
            parts[i] = parts[i][written:]


_IOV_MAX = 1024 if not hasattr(os, "sysconf") else max(16, min(1024, os.sysconf("SC_IOV_MAX")))


class FileStoreBackend(StoreBackend):
    name = "file"

    def __init__(self, store_path: str | Path, config: Any) -> None:
        super().__init__(os.path.abspath(store_path), config)
        # The store's directory (inode, mtime) as this backend last left it while
        # holding the lock; None until the first cleanup (see _clean_temps).
        self._dir_seen: tuple[int, int] | None = None

    @property
    def identity(self) -> str:
        return os.path.realpath(self.path)

    @property
    def lock_path(self) -> str:
        return self.path + LOCK_SUFFIX

    def excluded_files(self) -> frozenset[str]:
        return super().excluded_files() | {os.path.basename(self.lock_path)}

    # -- reading -------------------------------------------------------------------------

    def version(self) -> FileVersion | None:
        try:
            return _identity(os.stat(self.path))
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None

    def load(self) -> StoreState:
        return self._load(lazy=False)

    def load_lazy(self) -> StoreState:
        return self._load(lazy=True)

    def load_entries(self, normalize: Callable[[dict[str, Any]], Any]) -> Mapping[str, dict[str, Any]]:
        loaded = self._load(lazy=False, normalize=normalize)
        return loaded.entries if isinstance(loaded, StoreState) else loaded

    def _load(self, *, lazy: bool, normalize: Callable[[dict[str, Any]], Any] | None = None) -> Any:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return StoreState.missing()
        except IsADirectoryError:
            raise StoreCorruptError(self.path, "it is a directory") from None
        except OSError as exc:
            raise StoreCorruptError(self.path, exc.strerror or str(exc)) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StoreCorruptError(self.path, "it is not a regular file")
            chunks = []
            while True:
                block = os.read(fd, max(st.st_size, 1 << 16))
                if not block:
                    break
                chunks.append(block)
            raw = b"".join(chunks)
        except IsADirectoryError:
            raise StoreCorruptError(self.path, "it is a directory") from None
        finally:
            os.close(fd)
        if normalize is not None:
            return StoreState.parse_entries(raw, source=self.path, normalize=normalize)
        # The version of the bytes we read, from the descriptor: no window for a swap.
        return StoreState.parse(raw, source=self.path, version=_identity(st), lazy=lazy)

    # -- writing ----------------------------------------------------------------------------

    def exclusive(self, timeout: float) -> AbstractContextManager[Any]:
        return self._exclusive(timeout)

    @contextmanager
    def _exclusive(self, timeout: float) -> Iterator[None]:
        from openclaw_core.plugins import get_plugin_manager

        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        lock = get_plugin_manager().hook.openclaw_store_lock(
            lock_path=self.lock_path, store_path=self.path, timeout=timeout)
        with lock if lock is not None else nullcontext():
            # A writer killed while we were not holding the lock may have left a
            # temp file; it changed the directory. (A long-running Gateway must not
            # keep counting a dead 9 MB temp in the disk budget until it restarts.)
            if self._dir_seen is None or self._dir_stamp() != self._dir_seen:
                self._clean_temps()
            yield

    def _dir_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(os.path.dirname(self.path))
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def _clean_temps(self) -> None:
        """Remove temp files a killed writer left behind. Safe under the lock:
        a cooperating writer only has a temp file while it holds it."""
        directory = os.path.dirname(self.path)
        prefix = os.path.basename(self.path)
        with contextlib.suppress(OSError), os.scandir(directory) as it:
            for item in it:
                if item.name.startswith(prefix) and _TEMP_NAME.fullmatch(item.name[len(prefix):]):
                    with contextlib.suppress(OSError):
                        os.unlink(item.path)
        self._dir_seen = self._dir_stamp()

    def write(self, state: StoreState, changes: ChangeSet, expected_version: Any) -> FileVersion:
        if self.version() != expected_version:
            raise StoreConflict(f"{self.path} changed while it was being updated")
        parts = state.text_parts()
        directory = os.path.dirname(self.path)
        os.makedirs(directory, exist_ok=True)
        temp = f"{self.path}.{uuid.uuid4()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.fchmod(fd, 0o600)
                _write_parts(fd, parts)
                os.fsync(fd)
                version = _identity(os.fstat(fd))  # rename keeps inode, size and mtime
            finally:
                os.close(fd)
            # Last look before the rename: an editor that wrote since the check
            # above must not be overwritten. (An in-place write landing in the
            # microseconds between here and the rename is the one window left.)
            if self.version() != expected_version:
                raise StoreConflict(f"{self.path} changed while it was being updated")
            os.replace(temp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        _fsync_dir(directory)
        self._dir_seen = self._dir_stamp()  # our own temp and rename are no reason to rescan
        return version

    def retire(self) -> str | None:
        """Rename ``sessions.json`` out of the way (kept as a backup); the caller holds the lock."""
        if self.version() is None:
            return None
        target = self.path + RETIRED_SUFFIX
        os.replace(self.path, target)
        _fsync_dir(os.path.dirname(self.path))
        return target

    # -- outside changes -----------------------------------------------------------------------------

    def watch(self, on_change: Callable[[], None]) -> Callable[[], None] | None:
        from openclaw_store_file.watch import watch_file

        return watch_file(self.path, on_change)
