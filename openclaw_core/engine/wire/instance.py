"""One Gateway per state dir.

Two Gateways on one state dir would be two writers of every store in it (each
with its own cached state, reconciled only by version checks), and the second
would take over the endpoint record the clients follow. So ``gateway run``
holds an exclusive ``flock`` on the state dir itself for its whole life: the
kernel drops it when the process dies however it dies, nothing is left on
disk, and a second Gateway is refused before it binds. (OpenClaw 2026.5.4
starts the second one; its later releases refuse it too: docs/differences.md.)
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from openclaw_core.base.errors import OpenClawError


PROBE_GRACE_S = 0.5


class GatewayAlreadyRunning(OpenClawError):
    pass


def gateway_serves(state_dir: Path) -> bool | None:
    """Whether an openclaw-core Gateway runs for ``state_dir`` now (it holds the
    lock from before it binds until it stopped); None where that cannot be told."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(state_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except FileNotFoundError:
        return False  # no state dir, no Gateway of it
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # drops the probe's own shared lock at once
    return False


class InstanceLock:
    """The state dir's Gateway lock (see the module docstring)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # no flock on this platform: the endpoint record is all there is
            return
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.state_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        deadline = time.monotonic() + PROBE_GRACE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.01)  # a client's probe (gateway_serves) holds it for microseconds
                    continue
                os.close(fd)
                raise GatewayAlreadyRunning(self._refusal()) from None
            except OSError as exc:
                os.close(fd)
                raise OpenClawError(f"cannot lock the state dir {self.state_dir}: {exc.strerror or exc}") from None
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the descriptor drops the flock

    def _refusal(self) -> str:
        from openclaw_core.engine.wire.endpoint import read_record

        record = read_record(self.state_dir)
        where = ""
        if record is not None:
            host, port = record["listen"][0]
            where = f" (pid {record['pid']}, {'[' + host + ']' if ':' in host else host}:{port})"
        return (f"a Gateway is already running for the state dir {self.state_dir}{where}; "
                "stop it first, or give this one its own OPENCLAW_STATE_DIR")
