"""The file store's last step, timed: the portable fallback's window (the last
version check, then the rename) and what the renameat2 exchange costs instead.

    python bench/bench_swap_window.py [--rounds 5000] [--dir DIR]

The fallback's window is from its ``stat`` to the end of its ``rename``: an
outside replace landing in it is overwritten. The exchange has no such window;
its cost is the swap plus a ``stat`` of the displaced file and its unlink.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import openclaw_store_file.backend as file_backend


def _percentiles(ns: list[int]) -> str:
    ns = sorted(ns)
    pick = lambda q: ns[min(len(ns) - 1, int(len(ns) * q))] / 1000  # noqa: E731
    return f"median {pick(0.5):.1f} us, p99 {pick(0.99):.1f} us, max {ns[-1] / 1000:.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--dir", default=None, help="a directory on the filesystem to measure (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        store = os.path.join(directory, "sessions.json")
        temp = store + ".tmp"
        with open(store, "w") as f:
            f.write("{}")
        window, exchange = [], []
        for _ in range(args.rounds):
            with open(temp, "w") as f:
                f.write("{}")
            start = time.perf_counter_ns()
            os.stat(store)          # the fallback's last version check
            os.replace(temp, store)
            window.append(time.perf_counter_ns() - start)
        for _ in range(args.rounds):
            with open(temp, "w") as f:
                f.write("{}")
            start = time.perf_counter_ns()
            if not file_backend._rename2(temp, store, file_backend._RENAME_EXCHANGE):
                print("renameat2(RENAME_EXCHANGE) is not available here: the fallback is what runs")
                break
            os.stat(temp)           # the displaced file, compared with the commit's base version
            os.unlink(temp)
            exchange.append(time.perf_counter_ns() - start)
    print(f"fallback window (stat + rename): {_percentiles(window)}")
    if exchange:
        print(f"exchange commit (swap + stat + unlink), no window: {_percentiles(exchange)}")


if __name__ == "__main__":
    main()
