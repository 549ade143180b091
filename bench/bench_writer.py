#!/usr/bin/env python3
"""Writer throughput: ``update_session_store_entry`` on a 5,000-entry (~9 MB)
store, against a naive writer measured in the same run.

The naive writer is what OpenClaw did before its in-process writer (and what
a careful script would do): per update take the file lock, read, parse,
patch one entry, serialise, write a temp file, fsync, rename. It uses the
same fast JSON library (orjson) so the ratio measures the architecture
(cached store, per-entry encoding, group commit), not the parser.

    python bench/bench_writer.py [--entries 5000] [--updates 400] [--threads 1,8]

Prints one table; the ratio column is ours / naive throughput.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import filelock
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floors import atomic_write  # noqa: E402
from gen_store import generate_store  # noqa: E402


def naive_update(path: Path, key: str, field: str) -> None:
    with filelock.FileLock(str(path) + ".lock"):
        data = orjson.loads(path.read_bytes())
        entry = data[key]
        entry[field] = entry.get(field, 0) + 1
        entry["updatedAt"] = int(time.time() * 1000)
        atomic_write(path, orjson.dumps(data, option=orjson.OPT_INDENT_2))


def run_threads(threads: int, updates: int, fn) -> float:
    per = updates // threads
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(per):
                fn(t, i)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return per * threads / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--updates", type=int, default=400, help="updates per measurement")
    parser.add_argument("--threads", default="1,8")
    args = parser.parse_args()

    from openclaw_core import update_session_store_entry
    from openclaw_core.engine.store.writer import close_writers, configure_writers

    configure_writers(watch=False)
    with tempfile.TemporaryDirectory(prefix="oc-bench-writer.") as tmp:
        os.environ["OPENCLAW_STATE_DIR"] = tmp
        # Nothing pruned or capped (the defaults would cut the store to 500 entries on
        # the first write): the writer must patch the same store the naive one does.
        Path(tmp, "openclaw.json").write_text(
            '{"session": {"maintenance": {"maxEntries": 10000000, "pruneAfter": "3650d"}}}')
        keys = None
        print(f"store: {args.entries} entries", end="", flush=True)
        rows = []
        for threads in [int(t) for t in args.threads.split(",")]:
            for label in ("naive", "writer"):
                path = Path(tmp) / label / "agents" / "main" / "sessions" / "sessions.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                keys = generate_store(path, args.entries, seed=7)
                if threads == int(args.threads.split(",")[0]) and label == "naive":
                    print(f" ({path.stat().st_size / 1e6:.1f} MB)")
                hot = [k for k in keys if ":direct:" in k][: threads]

                if label == "naive":
                    def fn(t, i, path=path, hot=hot):
                        naive_update(path, hot[t], f"n{t}")
                    naive_updates = max(threads * 4, args.updates // 8)
                    rate = run_threads(threads, naive_updates, fn)
                else:
                    def fn(t, i, path=path, hot=hot):
                        update_session_store_entry(path, hot[t], lambda e, f=f"n{t}": {f: e.get(f, 0) + 1})
                    update_session_store_entry(path, hot[0], lambda e: {"warm": 1})  # load once
                    rate = run_threads(threads, args.updates, fn)
                    close_writers()
                rows.append((threads, label, rate))
        print(f"{'callers':>7} {'naive upd/s':>12} {'writer upd/s':>13} {'ratio':>7}")
        for threads in sorted({r[0] for r in rows}):
            naive = next(r[2] for r in rows if r[0] == threads and r[1] == "naive")
            ours = next(r[2] for r in rows if r[0] == threads and r[1] == "writer")
            print(f"{threads:>7} {naive:>12.1f} {ours:>13.1f} {ours / naive:>6.1f}x")


if __name__ == "__main__":
    main()
