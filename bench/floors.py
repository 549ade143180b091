#!/usr/bin/env python3
"""Baselines measured in the same run as our CLI (bench/run_all.py): the least a
Python tool can do for the same job, with the same fast JSON library (orjson).

    python bench/floors.py sessions cleanup --enforce --store PATH --json
        The naive cleanup: read and parse the whole store, drop the entries
        not updated for 30 days, keep the 500 newest (the defaults, or
        session.maintenance.maxEntries from the state dir's openclaw.json),
        write it back atomically (temp file, fsync, rename, fsync of the dir)
        and print {beforeCount, afterCount}. No validation, no normalisation,
        no archiving: a floor, not a replacement.

    python bench/floors.py --help
        Interpreter start-up plus argument parsing: the floor of a CLI's cold start.

Same argument shape as ``openclaw``, so bench_cleanup.run_once can time it.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid

DAY_MS = 86_400_000


def cleanup(store: str) -> dict[str, int]:
    import orjson

    max_entries = configured_max_entries()
    with open(store, "rb") as f:
        data = orjson.loads(f.read())
    before = len(data)
    cutoff = int(time.time() * 1000) - 30 * DAY_MS
    fresh = {k: v for k, v in data.items() if (v.get("updatedAt") or 0) >= cutoff}
    newest = sorted(fresh, key=lambda k: fresh[k].get("updatedAt") or 0, reverse=True)[:max_entries]
    kept = {k: fresh[k] for k in fresh if k in set(newest)}
    atomic_write(store, orjson.dumps(kept, option=orjson.OPT_INDENT_2))
    return {"beforeCount": before, "afterCount": len(kept)}


def configured_max_entries() -> int:
    """session.maintenance.maxEntries of the state dir's openclaw.json, else the default 500."""
    try:
        with open(os.path.join(os.environ.get("OPENCLAW_STATE_DIR", ""), "openclaw.json"), "rb") as f:
            return json.load(f)["session"]["maintenance"]["maxEntries"]
    except (OSError, KeyError, ValueError):
        return 500


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """What any careful writer does: temp file beside it, fsync, rename, fsync of the dir."""
    path = os.fspath(path)
    temp = f"{path}.{uuid.uuid4()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    dfd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def main(argv: list[str]) -> int:
    if argv[:2] == ["sessions", "cleanup"] and "--store" in argv:
        print(json.dumps(cleanup(argv[argv.index("--store") + 1])))
        return 0
    if argv in (["--help"], ["-h"]):
        print(__doc__.strip().splitlines()[0])
        return 0
    print(f"floors: unsupported arguments {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
