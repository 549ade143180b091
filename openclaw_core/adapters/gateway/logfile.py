"""Where our Gateway logs, and how much of it a client may read back.

Every line the Gateway logs also goes, as one JSON object, to
``<state dir>/logs/core-gateway.log`` (mode 0600). OpenClaw 2026.5.4 writes
``/tmp/openclaw/openclaw-<date>.log``, one file shared by every OpenClaw process
on the machine; ours belongs to its state dir, so ``logs.tail`` never shows one
state's lines (store paths, session keys) to another state's clients. The file
is bounded: past :data:`MAX_FILE_BYTES` it is moved to ``core-gateway.log.1``
(replacing the previous one) and started afresh.

A line carries the fields OpenClaw's ``openclaw logs`` reads (``time``,
``_meta.logLevelName``, ``_meta.name`` as the subsystem, ``"0"``/``"1"``,
``message``) and nothing about the host (no hostname, no source paths).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 10 * 1024 * 1024      # rotate past this
TAIL_MAX_BYTES = 1_000_000            # logs.tail's maxBytes ceiling (the reference's schema)
TAIL_DEFAULT_BYTES = 250_000
TAIL_MAX_LINES = 5000
TAIL_DEFAULT_LINES = 500
_SUBSYSTEM = re.compile(r"^\[([A-Za-z0-9_./-]{1,64})\]\s?")


def log_path(state_dir: Path) -> Path:
    return Path(state_dir) / "logs" / "core-gateway.log"  # not gateway.log: the CLI reads that as a service's stdout


def _iso_local(now: _dt.datetime) -> str:
    return now.astimezone().isoformat(timespec="milliseconds")  # 2026-12-02T21:55:24.152+00:00, as OpenClaw's


def format_line(text: str, now: _dt.datetime | None = None) -> str:
    """One log line as the JSON object ``openclaw logs`` reads."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    match = _SUBSYSTEM.match(text)
    subsystem = match.group(1) if match else "gateway"
    message = text[match.end():] if match else text
    name = json.dumps({"subsystem": subsystem}, separators=(",", ":"))
    level = "WARN" if re.search(r"\b(failed|refused|cannot|timeout)\b", message) else "INFO"
    record: dict[str, Any] = {
        "0": name, "1": message,
        "_meta": {"name": name, "date": now.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds")
                  .replace("+00:00", "Z"), "logLevelId": 4 if level == "WARN" else 3, "logLevelName": level},
        "time": _iso_local(now), "message": message,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


class GatewayLogFile:
    """Append-only JSON-lines log with size-based rotation. A write that fails
    (read-only state dir, full disk) turns the file log off with one notice on
    stderr: logging never stops the Gateway."""

    def __init__(self, state_dir: Path, *, max_bytes: int = MAX_FILE_BYTES) -> None:
        self.path = log_path(state_dir)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._fh: Any = None
        self._size = 0
        self.disabled = False

    def _open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        self._fh = os.fdopen(fd, "a", encoding="utf-8", errors="replace")
        self._size = os.fstat(fd).st_size

    def write(self, text: str) -> None:
        if self.disabled:
            return
        line = format_line(text) + "\n"
        with self._lock:
            try:
                if self._fh is None:
                    self._open()
                if self._size + len(line) > self.max_bytes and self._size > 0:
                    self._fh.close()
                    self._fh = None
                    os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                    self._open()
                self._fh.write(line)
                self._fh.flush()
                self._size += len(line.encode("utf-8", "replace"))
            except OSError as exc:
                self.disabled = True
                print(f"[gateway] file log off: cannot write {self.path}: {exc.strerror or exc}", file=sys.stderr,
                      flush=True)

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def tail(path: Path, *, cursor: int | None, limit: int, max_bytes: int) -> dict[str, Any]:
    """``logs.tail``'s answer: at most ``max_bytes`` from the end (or from ``cursor``,
    the size a previous answer reported), whole lines only, the last ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return {"file": str(path), "cursor": 0, "size": 0, "lines": [], "truncated": False, "reset": False}
    with os.fdopen(fd, "rb") as fh:
        import stat

        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):  # swapped for a FIFO or a device: nothing to read
            return {"file": str(path), "cursor": 0, "size": 0, "lines": [], "truncated": False, "reset": False}
        size = info.st_size
        reset = cursor is not None and cursor > size  # rotated or truncated since that cursor
        start = cursor if cursor is not None and not reset else 0
        truncated = size - start > max_bytes
        if truncated:
            start = size - max_bytes
        fh.seek(start)
        data = fh.read(size - start)
    if truncated and start > 0:
        newline = data.find(b"\n")
        data = data[newline + 1:] if newline >= 0 else b""
    lines = data.decode("utf-8", "replace").splitlines()
    if len(lines) > limit:
        lines = lines[-limit:]
        truncated = True
    return {"file": str(path), "cursor": size, "size": size, "lines": lines, "truncated": truncated, "reset": reset}
