"""Tests with latency or time bounds (marked ``alone``) run with no other test beside
them under pytest-xdist: such a test takes an exclusive flock on a file every worker of
the run shares, every other test a shared one, so a busy neighbour cannot take the
Gateway's CPU while it is measured. A turnstile lock gives a waiting exclusive test
priority over new shared ones. Outside xdist nothing is locked."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def turn(alone: bool) -> Iterator[None]:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # the same in every worker of one run
    if not run:
        yield
        return
    base = os.path.join(tempfile.gettempdir(), f"openclaw-tests-{run}")
    with open(base + ".turnstile", "a+") as turnstile, open(base + ".lock", "a+") as lock:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
