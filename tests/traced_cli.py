"""The ``openclaw`` CLI with one extra plugin that records when this process
holds a store's lock (tests/test_races.py proves two offline cleanups take
turns on it).

    OPENCLAW_TRACE_LOCK=LOG [OPENCLAW_TRACE_HOLD=SECONDS] python tests/traced_cli.py ARGS...

The plugin wraps ``openclaw_store_lock``: once whatever lock the installed
plugins provide is held, it appends ``<pid> acquired`` to LOG, stays
``OPENCLAW_TRACE_HOLD`` seconds (so two runs started together surely overlap
in time), and appends ``<pid> released`` before letting go. Lines are single
O_APPEND writes, so their order in LOG is the order they happened in.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from openclaw_core import hookimpl

LOG = os.environ["OPENCLAW_TRACE_LOCK"]
HOLD = float(os.environ.get("OPENCLAW_TRACE_HOLD", "0"))


def _note(event: str) -> None:
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{os.getpid()} {event}\n".encode())
    finally:
        os.close(fd)


@contextmanager
def _traced(inner: AbstractContextManager[None]) -> Iterator[None]:
    with inner:
        _note("acquired")
        time.sleep(HOLD)
        try:
            yield
        finally:
            _note("released")


class LockTracer:
    @hookimpl(wrapper=True)
    def openclaw_store_lock(self, lock_path: str, store_path: str, timeout: float):
        inner = yield
        return _traced(inner if inner is not None else nullcontext())


def main() -> int:
    from openclaw_core.app import run_cli as cli_main
    from openclaw_core.app import get_plugin_manager

    pm = get_plugin_manager()
    pm.register_plugin(LockTracer(), "lock_tracer")
    pm.check_plugins()
    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
