"""Free 127.0.0.1 ports for tests, safe when pytest-xdist runs several workers at once.

A port found free with ``bind(("127.0.0.1", 0))`` is free only until someone binds it:
between a test picking it and its Gateway (a subprocess that takes a moment to start)
binding it, the kernel may hand the same port to a test on another worker; and a port a
test relies on nothing listening at (``OPENCLAW_GATEWAY_PORT`` of every test) could get
another worker's Gateway. So each xdist worker hands out ports from a range of its own,
below the kernel's ephemeral range (where ``bind(0)`` never goes), walking it in order
from a random start (two checkouts' suites on one machine do not walk in step) and
skipping a port still in use. Outside xdist the kernel picks, as before.
"""

from __future__ import annotations

import os
import random
import socket

# Linux's default ephemeral range starts at 32768; ours stay below it (and above the
# well-known and registered ports that services on a developer's machine tend to use).
_LOW, _HIGH = 10_000, 32_000
_next: int | None = None


def _worker_range() -> tuple[int, int] | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... (set by pytest-xdist)
    if not worker.startswith("gw") or not worker[2:].isdigit():
        return None
    count = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1), int(worker[2:]) + 1)
    span = (_HIGH - _LOW) // count
    low = _LOW + int(worker[2:]) * span
    return low, low + span


def _is_free(port: int) -> bool:
    with socket.socket() as s:  # no SO_REUSEADDR: a port with a lingering connection counts as taken
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    global _next
    bounds = _worker_range()
    if bounds is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    low, high = bounds
    if _next is None:
        _next = random.randrange(low, high)
    for _ in range(high - low):
        port, _next = _next, low + (_next + 1 - low) % (high - low)
        if _is_free(port):
            return port
    raise RuntimeError(f"no free port in {low}-{high}")
