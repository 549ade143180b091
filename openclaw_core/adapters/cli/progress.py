"""Progress on long work, for a person at a terminal only.

One rule for every command (the one ``store migrate`` follows): progress goes
to stderr, and only when stderr is a terminal, the output is not JSON and
``-q`` was not given. stdout is never touched, so a piped or recorded run is
byte for byte the same with or without it. Writing progress never raises: a
closed or broken terminal must not fail the work it reports on (maintenance
calls in from the store's writer thread).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

#: a store at least this big says that it is being read (smaller reads are quick)
READING_BYTES = 1 << 20


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def enabled(*, as_json: bool = False) -> bool:
    """Whether this command shows progress (see the module docstring)."""
    from openclaw_core.adapters.cli import output

    return not as_json and not output.quiet() and stderr_is_tty()


def _write(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except Exception:  # a progress line is never worth failing the work for
        pass


@contextlib.contextmanager
def reading(path: str, *, show: bool) -> Iterator[None]:
    """``reading <path> (N MB)...`` then ``done`` around the read of a big store."""
    try:
        size = os.stat(path).st_size if show else 0
    except OSError:
        size = 0
    if size < READING_BYTES:
        yield
        return
    started = time.monotonic()
    _write(f"reading {path} ({size / (1 << 20):.1f} MB)...")
    try:
        yield
    except BaseException:
        _write("\n")
        raise
    _write(f" done ({time.monotonic() - started:.1f}s)\n")


_SINGULAR = {"entries": "entry", "transcripts": "transcript", "files": "file"}


def stage_counts(counts: Mapping[str, int]) -> str:
    """``63 entries, 1 transcript`` (what a maintenance stage selected), or ``none``."""
    parts = [f"{n} {_SINGULAR.get(what, what) if n == 1 else what}" for what, n in counts.items() if n]
    return ", ".join(parts) or "none"


STAGE_LABELS = {"load": "reading store", "write": "writing store", "done": "done"}


class ProgressLine:
    """One status line on stderr, redrawn in place with the elapsed time, and a
    line of its own for each maintenance stage as it completes, with its counts."""

    def __init__(self, stream: Any = None, interval: float = 0.25) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self.started = time.monotonic()
        self._text = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="openclaw-progress", daemon=True)
        self._thread.start()

    def update(self, event: Any) -> None:
        try:
            where = f"[{event.index}/{event.total}] " if event.total > 1 else ""
            counts = getattr(event, "counts", None)
            if counts is not None:
                self._line(f"{where}{event.agent_id}: {event.stage}: {stage_counts(counts)}")
                return
            stage = STAGE_LABELS.get(event.stage, event.stage)
            self._text = f"Cleaning up {where}{event.agent_id}: {stage}"
            self._draw()
        except Exception:  # called from the writer thread: never break the commit
            pass

    def clear(self) -> None:
        """Wipe the status line (before another line is printed); the ticker redraws it."""
        with self._lock:
            self._put("\r\x1b[2K")

    def _put(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:
            pass

    def _line(self, text: str) -> None:
        with self._lock:
            self._put(f"\r\x1b[2K{text}\n")

    def _draw(self) -> None:
        if not self._text or self._stop.is_set():
            return
        with self._lock:
            elapsed = time.monotonic() - self.started
            self._put(f"\r\x1b[2K{self._text} ({elapsed:.1f}s)")

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.clear()
