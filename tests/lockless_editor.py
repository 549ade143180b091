"""An outside writer that never takes the store's lock, as OpenClaw's own
runtime: read ``sessions.json``, add a key, write a temp file, swap it in.

    python tests/lockless_editor.py STORE EDITS

Edit n adds ``agent:main:outside:<n>``. So that any edit lost is provably the
other side's doing, this editor never overwrites a version it did not read:
it swaps its file in with renameat2(RENAME_EXCHANGE), checks that the file it
displaced is the one it read (inode, size, mtime), and if not swaps back and
starts the edit again. It prints ``edit <n>`` once edit n is in place.

Between its swap and the swap back, its own (outdated) version stands at the
store's name. If the editor is descheduled there, another writer may read that
version and commit on top of it; the swap back then keeps the newer file, and
what the displaced file held beyond the outdated one is gone, by the editor's
doing (no protocol of the other writer can tell a transient file from a real
edit). The editor says so: it keeps each such displaced file as
``lockless.hidden.<k>`` in the agent's directory (beside ``sessions/``) and
prints ``hidden <k>``.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time

RENAME_EXCHANGE = 2
libc = ctypes.CDLL(None, use_errno=True)


def exchange(a: str, b: str) -> None:
    if libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def ident(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def main() -> None:
    store, edits = sys.argv[1], int(sys.argv[2])
    temp = store + ".lockless.tmp"
    retries = hidden = 0
    for n in range(1, edits + 1):
        while True:
            fd = os.open(store, os.O_RDONLY)
            try:
                seen = ident(os.fstat(fd))
                with os.fdopen(os.dup(fd), "rb") as f:
                    data = json.loads(f.read())
            finally:
                os.close(fd)
            data[f"agent:main:outside:{n}"] = {"sessionId": f"outside-{n}", "updatedAt": int(time.time() * 1000)}
            with open(temp, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            ours = os.stat(temp).st_ino
            exchange(temp, store)
            if ident(os.stat(temp)) == seen:
                os.unlink(temp)
                break
            # Someone wrote after our read: give their version back (a newer one
            # that replaced ours meanwhile wins), then redo the edit on it.
            placed = ours
            while True:
                moving = os.stat(temp).st_ino
                exchange(temp, store)
                if os.stat(temp).st_ino == placed:
                    break
                placed = moving
            if placed != ours:
                # Our outdated version was committed on while it stood there:
                # ``temp`` holds the file it displaced, whose news is now lost.
                os.replace(temp, os.path.join(os.path.dirname(os.path.dirname(store)), f"lockless.hidden.{hidden}"))
                print(f"hidden {hidden}", flush=True)
                hidden += 1
            else:
                os.unlink(temp)
            retries += 1
        print(f"edit {n}", flush=True)
        time.sleep(0.002 + 0.002 * (n % 4))
    print(f"retries {retries}", flush=True)


if __name__ == "__main__":
    main()
