"""Crash-test writer: applies numbered mutations to a store through the core
writer and prints each acknowledgement the moment it is durable, until killed.

    python tests/crash_worker.py STORE FIRST_SEQ [THREADS]

Sequence numbers are handed out in order from FIRST_SEQ by THREADS threads
(default 4, so mutations share group commits). Mutation n:

* n % 10 == 0: add ``agent:main:crash:add:<n>``
* n % 10 == 5: delete ``agent:main:crash:add:<n-25>`` (an add of this run)
* otherwise: patch base entry ``n % 1000``, appending n to its ``crashSeqs``

Output, one line per write(2) so lines never interleave: ``ready`` once a
first (empty) commit has taken the store's lock (so the temp files a killed
predecessor left are already cleaned), ``go <n>`` before mutation n is
submitted and ``ack <n>`` after it is durable.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_support import STORE_ENTRIES, base_key  # noqa: E402


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def add_key(n: int) -> str:
    return f"agent:main:crash:add:{n}"


def main() -> None:
    store = sys.argv[1]
    first = int(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 4

    from openclaw_core import update_session_store, update_session_store_entry
    from openclaw_core.engine.store.writer import configure_writers

    configure_writers(watch=False)
    update_session_store(store, lambda s: None)  # takes the lock once: leftover temps go
    say("ready")
    counter = itertools.count(first)
    counter_lock = threading.Lock()

    def apply(n: int) -> None:
        if n % 10 == 0:
            update_session_store(store, lambda s: s.__setitem__(add_key(n), {"sessionId": f"add-{n}", "updatedAt": int(time.time() * 1000)}))
        elif n % 10 == 5:
            def delete(s, key=add_key(n - 25)):
                if key in s:
                    del s[key]
            update_session_store(store, delete)
        else:
            update_session_store_entry(store, base_key(n % STORE_ENTRIES),
                                       lambda e: {"crashSeqs": [*e.get("crashSeqs", []), n]})

    def work() -> None:
        while True:
            with counter_lock:
                n = next(counter)
                say(f"go {n}")
            apply(n)
            say(f"ack {n}")

    pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


if __name__ == "__main__":
    main()
