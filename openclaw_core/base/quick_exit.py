"""How a one-shot ``openclaw`` process starts and ends (the console entry point only).

Start: the cyclic garbage collector is off while modules and plugins load
(every object they make lives to the end, so no collection could free any of
it) and, once the process has its plugins, everything made so far is frozen
out of later collections (:func:`startup_done`). A command's own work runs
with the collector on.

End: interpreter teardown frees every module and object one by one and runs
last collections, a tenth of a 10,000-entry cleanup's time, for nothing a
finished command needs: its stores were written and its writers closed
before :func:`quick_exit` is called. So the exit handlers run
(``atexit``, which closes what ``weakref.finalize`` guards, such as a
database connection), the standard streams are flushed, and the process
ends with its exit code. Whenever that could lose something, the ordinary
exit is taken instead: a non-daemon thread still running, or a stream that
will not flush (the ordinary exit then reports it as it always did).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading

_started = False


def begin() -> None:
    """Collector off until :func:`startup_done` (the console entry point calls this first)."""
    global _started
    _started = True
    gc.disable()


def startup_done() -> None:
    """Freeze what start-up made and turn the collector on (no-op unless :func:`begin` ran)."""
    global _started
    if _started:
        _started = False
        gc.freeze()
        gc.enable()


def quick_exit(code: int) -> None:
    """End the process now with ``code``, or return if the ordinary exit is needed."""
    main = threading.main_thread()
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        return
    atexit._run_exitfuncs()  # clears them: the ordinary exit would not run them twice
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return
    os._exit(code & 0xFF)
