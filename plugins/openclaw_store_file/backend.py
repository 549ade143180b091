"""The file store backend: ``sessions.json`` on disk, as OpenClaw writes it."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core.base.errors import StoreConflict, StoreCorruptError
from openclaw_core.base.lazy_re import lazy_compile
from openclaw_core.engine.store.backend import RETIRED_SUFFIX, StoreBackend
from openclaw_core.engine.store.state import DEPTH_PAD, ChangeSet, StoreState

LOCK_SUFFIX = ".lock"
_TEMP_NAME = lazy_compile(r"\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp")

FileVersion = tuple[int, int, int]

if TYPE_CHECKING:
    from openclaw_core.contract.hooks import Hooks


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

# renameat2(2) (Linux >= 3.15, glibc >= 2.28): RENAME_EXCHANGE swaps two names
# atomically, so a commit gets back exactly the file it displaced and can see an
# outside writer's replace that landed after its last version check.
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_UNSUPPORTED = (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP)


_NOT_LOADED: Any = object()
_renameat2_fn: Any = _NOT_LOADED


def renameat2() -> Callable[..., int] | None:
    """libc's ``renameat2``, None without it; loaded on the first commit (ctypes
    was a twentieth of a small command's start-up, and a reader never renames)."""
    global _renameat2_fn
    if _renameat2_fn is _NOT_LOADED:
        _renameat2_fn = _load_renameat2()
    return _renameat2_fn


def _load_renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None  # a libc without the wrapper: the portable check + rename
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


#: False forces the portable check + rename (tests measure what it leaves open)
exchange_enabled = True


def _rename2(src: str, dst: str, flags: int) -> bool:
    """``renameat2(src, dst, flags)``; False when this kernel or filesystem cannot."""
    fn = renameat2() if exchange_enabled else None
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    import ctypes

    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    raise OSError(err, os.strerror(err), src, None, dst)


def _read_depth_padded(fd: int, size: int) -> bytearray | None:
    """The file's ``size`` bytes read straight into a DEPTH_PAD-padded buffer (what a
    read-only load parses without a copy); None, with the offset back at the start,
    when the file is not ``size`` bytes long now (it changed since the fstat: the
    plain read takes it) or this system has no ``readv``."""
    if size == 0 or not hasattr(os, "readv"):
        return None
    pad = DEPTH_PAD
    buf = bytearray(pad + size + pad)
    with memoryview(buf) as view:
        got = 0
        while got < size:
            n = os.readv(fd, [view[pad + got:pad + size]])
            if n == 0:
                break
            got += n
    if got != size or os.read(fd, 1):
        os.lseek(fd, 0, os.SEEK_SET)
        return None
    buf[:pad] = b"[" * pad
    buf[pad + size:] = b"]" * pad
    return buf


def _replace(temp: str, path: str) -> None:
    """The portable fallback's rename (its own name so a test can reach the moment before it)."""
    os.replace(temp, path)


def _put_back(temp: str, path: str, ours: int) -> None:
    """Undo an exchange that displaced an outside version (now at ``temp``).

    Swap back; what comes back must be the file we had put at ``path``. If it is
    not, a newer outside file replaced ours meanwhile: it is the one to keep, so
    swap again, until the file we get back is the one we placed (then ``temp``
    holds an outdated copy; the caller removes it)."""
    placed = ours
    for _ in range(64):
        try:
            moving = os.stat(temp).st_ino
            if not _rename2(temp, path, _RENAME_EXCHANGE):
                raise OSError(errno.ENOSYS, "renameat2 stopped working")
        except FileNotFoundError:
            # The store was removed meanwhile: give the outside version its name back.
            with contextlib.suppress(OSError):
                _rename2(temp, path, _RENAME_NOREPLACE)
            return
        came_back = os.stat(temp).st_ino
        if came_back == placed:
            return
        placed = moving


class FileStoreBackend(StoreBackend):
    name = "file"

    def __init__(self, store_path: str | Path, config: Any, hooks: Hooks) -> None:
        self.hooks = hooks
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
        except OSError as exc:  # a symlink loop, no permission: the usual message, on every path
            raise StoreCorruptError(self.path, exc.strerror or str(exc)) from None

    def load(self) -> StoreState:
        return self._load(lazy=False)

    def load_lazy(self) -> StoreState:
        return self._load(lazy=True)

    def load_entries(self, normalize: Callable[[dict[str, Any]], Any]) -> Mapping[str, dict[str, Any]]:
        loaded = self._load(lazy=False, normalize=normalize)
        return loaded.entries if isinstance(loaded, StoreState) else loaded

    def _load(self, *, lazy: bool, normalize: Callable[[dict[str, Any]], Any] | None = None) -> Any:
        try:
            # O_NONBLOCK: a FIFO put in the store's place must not hang us until a
            # writer opens it (the fstat below then refuses it, unread).
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except (FileNotFoundError, NotADirectoryError):
            return StoreState.missing()
        except IsADirectoryError:
            raise StoreCorruptError(self.path, "it is a directory") from None
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # a socket (or a FIFO on some systems)
                raise StoreCorruptError(self.path, "it is not a regular file") from None
            raise StoreCorruptError(self.path, exc.strerror or str(exc)) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StoreCorruptError(self.path, "it is not a regular file")
            padded = _read_depth_padded(fd, st.st_size) if normalize is not None else None
            raw = b""
            if padded is None:
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
            if padded is not None:
                return StoreState.parse_entries(padded, source=self.path, normalize=normalize, padded=True)
            return StoreState.parse_entries(raw, source=self.path, normalize=normalize)
        # The version of the bytes we read, from the descriptor: no window for a swap.
        return StoreState.parse(raw, source=self.path, version=_identity(st), lazy=lazy)

    # -- writing ----------------------------------------------------------------------------

    def exclusive(self, timeout: float) -> AbstractContextManager[Any]:
        return self._exclusive(timeout)

    @contextmanager
    def _exclusive(self, timeout: float) -> Iterator[None]:
        renameat2()  # loaded here, before any commit's point of no return, not in the middle of its write
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        lock = self.hooks.store_lock(self.lock_path, self.path, timeout)
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
                # endswith first: the store and its lock pass the prefix test, and the
                # pattern is compiled only when a dir holds something shaped like a temp
                if item.name.startswith(prefix) and item.name.endswith(".tmp") \
                        and _TEMP_NAME.fullmatch(item.name[len(prefix):]):
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
            self._swap_in(temp, expected_version, version[0])
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        _fsync_dir(directory)
        self._dir_seen = self._dir_stamp()  # our own temp and rename are no reason to rescan
        return version

    def _swap_in(self, temp: str, expected_version: FileVersion | None, ours: int) -> None:
        """Put the written ``temp`` at the store's name unless an outside writer
        changed the store since ``expected_version``; raise StoreConflict then
        (the writer re-runs the group on the outside version). ``temp`` ends up
        holding whatever is no longer wanted (the caller removes it)."""
        if expected_version is None:
            try:
                if _rename2(temp, self.path, _RENAME_NOREPLACE):
                    return
            except FileExistsError:
                raise StoreConflict(f"{self.path} was created while it was being updated") from None
        else:
            try:
                swapped = _rename2(temp, self.path, _RENAME_EXCHANGE)
            except FileNotFoundError:
                raise StoreConflict(f"{self.path} was removed while it was being updated") from None
            if swapped:
                # ``temp`` now holds exactly the file our commit replaced.
                if _identity(os.stat(temp)) == expected_version:
                    return
                _put_back(temp, self.path, ours)
                raise StoreConflict(f"{self.path} changed while it was being updated")
        # Portable fallback: a last look, then the rename. An outside replace that
        # lands between the two is overwritten (docs/architecture.md measures the window).
        if self.version() != expected_version:
            raise StoreConflict(f"{self.path} changed while it was being updated")
        _replace(temp, self.path)

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
