"""An outside editor for the race suite: a plain script that rewrites
sessions.json with the standard json module, the way an operator's script or
another tool would, while a Gateway and offline cleanups write the same store.

    python tests/outside_editor.py STORE EDITS SEED MARK_KEY...

It plays by the one rule the store asks of outside writers: hold the store's
lock file (``sessions.json.lock``, flock, as ``flock(1)`` would) while it reads
and rewrites. Edit n (1..EDITS), under the lock:

* adds ``agent:main:editor:<n>`` (fresh),
* sets ``editorMark = n`` on ``MARK_KEY[n % len]`` (entries the Gateway's
  clients keep patching: their patches must not erase it, nor it them),
* adds ``agent:main:junk:<n>``, 40 days old (for cleanup to prune),

then writes the file back, in place (truncate + write) on odd n and through a
temp file + rename on even n, and prints ``edit <n>`` once the lock is
released. Between edits it sleeps 5-40 ms (seeded).
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import sys
import time

DAY_MS = 86_400_000


def main() -> None:
    store, edits, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    mark_keys = sys.argv[4:]
    rng = random.Random(seed)
    lock_fd = os.open(store + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    for n in range(1, edits + 1):
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            with open(store, encoding="utf-8") as f:
                data = json.load(f)
            now = int(time.time() * 1000)
            data[f"agent:main:editor:{n}"] = {"sessionId": f"editor-{n}", "updatedAt": now}
            data[mark_keys[n % len(mark_keys)]]["editorMark"] = n
            data[f"agent:main:junk:{n}"] = {"sessionId": f"junk-{n}", "updatedAt": now - 40 * DAY_MS}
            text = json.dumps(data, indent=1)
            if n % 2:
                with open(store, "r+", encoding="utf-8") as f:
                    f.truncate(0)
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
            else:
                temp = f"{store}.editor.tmp"
                with open(temp, "w", encoding="utf-8") as f:
                    f.write(text)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temp, store)
        finally:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
        print(f"edit {n}", flush=True)
        time.sleep(rng.uniform(0.005, 0.04))


if __name__ == "__main__":
    main()
