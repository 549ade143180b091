"""One watchdog observer per process for every watched store.

A store is watched through its directory (non-recursive): editors and the
reference replace ``sessions.json`` by rename, so the file's own inode is the
wrong thing to watch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

_observer = None
_lock = threading.Lock()


class _StoreFileHandler(FileSystemEventHandler):
    def __init__(self, path: str, on_change: Callable[[], None]) -> None:
        self.path = path
        self.on_change = on_change

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        paths = {os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")}
        if self.path in paths:
            self.on_change()


def _get_observer():
    global _observer
    with _lock:
        if _observer is None or not _observer.is_alive():
            _observer = Observer()
            _observer.daemon = True
            _observer.start()
        return _observer


def watch_file(path: str, on_change: Callable[[], None]) -> Callable[[], None] | None:
    """Call ``on_change`` whenever ``path`` is written, replaced or removed."""
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        observer = _get_observer()
        handler = _StoreFileHandler(path, on_change)
        watch = observer.schedule(handler, directory, recursive=False)
    except OSError:
        return None  # no inotify left: the writer's version check still holds

    def stop() -> None:
        try:
            observer.remove_handler_for_watch(handler, watch)
        except (KeyError, ValueError):
            pass

    return stop
