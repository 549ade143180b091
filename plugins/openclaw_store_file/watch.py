"""Outside-change notices for file stores: one watcher thread per process.

A store is watched through its directory (non-recursive): editors and the
reference replace ``sessions.json`` by rename, so the file's own inode is the
wrong thing to watch.

On Linux one inotify descriptor and one thread serve every watched store of
the process (a Gateway of 1,000 agents has one watcher thread, not one per
directory); a directory's inotify watch is held while at least one store in
it is watched, and the thread ends with the last watch. Elsewhere watchdog's
observer does the job, with one emitter per directory, reference-counted the
same way. If no watch can be set up (no inotify watches or threads left),
``watch_file`` returns None: the writer's version check still catches every
outside change, only the cache is dropped later.
"""

from __future__ import annotations

import ctypes
import os
import select
import struct
import sys
import threading
from collections.abc import Callable

_lock = threading.Lock()


def watch_file(path: str, on_change: Callable[[], None]) -> Callable[[], None] | None:
    """Call ``on_change`` whenever ``path`` is written, replaced or removed;
    returns the function that stops it (call it once), or None."""
    directory, name = os.path.split(path)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    with _lock:
        hub = _hub()
        try:
            return hub.add(directory, name, on_change)
        except (OSError, RuntimeError):
            return None  # no inotify watch or thread left: the version check still holds


def watcher_threads() -> int:
    """Threads the watcher runs now (for tests and the docs' limits)."""
    with _lock:
        return 0 if _current is None else _current.threads()


# --- Linux: one inotify descriptor, one thread ------------------------------------------

_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF, _IN_Q_OVERFLOW, _IN_IGNORED = 0x400, 0x800, 0x4000, 0x8000
_IN_ONLYDIR = 0x01000000
_MASK = (_IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
         | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR)
_SELF = _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_IGNORED  # the directory itself went: every store in it changed
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


class _Inotify:
    """Every watched directory of the process on one inotify fd, read by one thread."""

    def __init__(self, libc: ctypes.CDLL) -> None:
        self._libc = libc
        self._fd = -1
        self._wake: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None
        self._dirs: dict[str, int] = {}                       # directory -> wd
        self._handlers: dict[int, dict[str, list[Callable[[], None]]]] = {}  # wd -> name -> callbacks

    def threads(self) -> int:
        return int(self._thread is not None and self._thread.is_alive())

    def add(self, directory: str, name: str, on_change: Callable[[], None]) -> Callable[[], None]:
        if self._thread is None:
            self._start()
        wd = self._dirs.get(directory)
        if wd is None:
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), _MASK)
            if wd < 0:
                err = ctypes.get_errno()
                if not self._handlers:
                    self._stop()
                raise OSError(err, os.strerror(err), directory)
            self._dirs[directory] = wd
        self._handlers.setdefault(wd, {}).setdefault(name, []).append(on_change)
        done = False

        def stop() -> None:
            nonlocal done
            with _lock:
                if done:
                    return
                done = True
                ended = self._remove(directory, wd, name, on_change)
            if ended is not None and ended is not threading.current_thread():
                ended.join(5)  # outside the lock: the thread may be waiting for it

        return stop

    def _remove(self, directory: str, wd: int, name: str, on_change: Callable[[], None]) -> threading.Thread | None:
        names = self._handlers.get(wd)
        if names is not None and on_change in names.get(name, ()):
            names[name].remove(on_change)
            if not names[name]:
                del names[name]
            if not names:
                del self._handlers[wd]
                if self._dirs.get(directory) == wd:
                    del self._dirs[directory]
                    self._libc.inotify_rm_watch(self._fd, wd)  # EINVAL if the dir is gone: fine
        if not self._handlers:
            return self._stop()  # the last writer released its store: no thread is left behind
        return None

    def _start(self) -> None:
        fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        wake = os.pipe()
        thread = threading.Thread(target=self._run, args=(fd, wake[0]), name="openclaw-store-watch", daemon=True)
        try:
            thread.start()
        except BaseException:
            for each in (fd, *wake):
                os.close(each)
            raise
        self._fd, self._wake, self._thread = fd, wake, thread

    def _stop(self) -> threading.Thread | None:
        """End the thread (it closes the inotify fd); returns it, for the caller to join."""
        thread, wake = self._thread, self._wake
        if thread is None or wake is None:
            return None
        self._thread = self._wake = None
        self._fd = -1
        self._dirs.clear()
        self._handlers.clear()
        os.write(wake[1], b"x")
        os.close(wake[1])
        return thread

    def _run(self, fd: int, wake: int) -> None:
        try:
            while True:
                ready, _, _ = select.select([fd, wake], [], [])
                if wake in ready:
                    return
                try:
                    data = os.read(fd, 64 * 1024)
                except BlockingIOError:
                    continue
                for callback in self._callbacks(data):
                    try:
                        callback()
                    except Exception:  # noqa: BLE001 - one store's listener must not end everyone's watch
                        pass
        finally:
            os.close(fd)
            os.close(wake)

    def _callbacks(self, data: bytes) -> list[Callable[[], None]]:
        due: dict[Callable[[], None], None] = {}  # each store's callback once per batch
        offset = 0
        with _lock:
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                name = os.fsdecode(data[offset + _EVENT.size:offset + _EVENT.size + length].rstrip(b"\0"))
                offset += _EVENT.size + length
                names = self._handlers.get(wd, {})
                if mask & _IN_IGNORED:  # the kernel dropped the watch (directory removed)
                    for directory, known in list(self._dirs.items()):
                        if known == wd:
                            del self._dirs[directory]  # a store made there again gets a fresh watch
                if mask & _IN_Q_OVERFLOW:  # events were lost: any store may have changed
                    picked = [cb for each in self._handlers.values() for cbs in each.values() for cb in cbs]
                elif mask & _SELF:
                    picked = [cb for cbs in names.values() for cb in cbs]
                else:
                    picked = list(names.get(name, ()))
                due.update(dict.fromkeys(picked))
        return list(due)


# --- elsewhere: watchdog, one emitter per directory, reference-counted --------------------

class _Watchdog:
    def __init__(self) -> None:
        self._observer = None
        self._watches: dict[str, tuple[object, int]] = {}  # directory -> (watch, users)

    def threads(self) -> int:
        observer = self._observer
        return 0 if observer is None else 1 + len(observer.emitters)

    def add(self, directory: str, name: str, on_change: Callable[[], None]) -> Callable[[], None]:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        path = os.path.join(directory, name)

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if event.is_directory or event.event_type in ("opened", "closed_no_write"):
                    return
                if path in {os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")}:
                    on_change()

        if self._observer is None or not self._observer.is_alive():
            observer = Observer()
            observer.daemon = True
            observer.start()
            self._observer, self._watches = observer, {}
        observer = self._observer
        handler = Handler()
        watch, users = self._watches.get(directory, (None, 0))
        if watch is None:
            watch = observer.schedule(handler, directory, recursive=False)
        else:
            observer.add_handler_for_watch(handler, watch)
        self._watches[directory] = (watch, users + 1)
        done = False

        def stop() -> None:
            nonlocal done
            with _lock:
                if done or observer is not self._observer:
                    return
                done = True
                watch_, left = self._watches[directory]
                observer.remove_handler_for_watch(handler, watch_)
                if left > 1:
                    self._watches[directory] = (watch_, left - 1)
                    return
                del self._watches[directory]
                observer.unschedule(watch_)
                if not self._watches:
                    observer.stop()
                    self._observer = None

        return stop


_current: _Inotify | _Watchdog | None = None


def _hub() -> _Inotify | _Watchdog:
    global _current
    if _current is None:
        libc = None
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                libc.inotify_init1, libc.inotify_add_watch, libc.inotify_rm_watch  # noqa: B018
            except (OSError, AttributeError):
                libc = None
        if libc is not None:
            libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
            _current = _Inotify(libc)
        else:
            _current = _Watchdog()
    return _current

