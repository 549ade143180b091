#!/usr/bin/env python3
"""The file store against its floors, in CPU time as well as wall time:
``sessions cleanup --enforce`` against the naive parse-filter-write cleanup
(bench/floors.py) and ``sessions --limit all --json`` against the orjson read
floor (bench_list.FLOOR), on the stores bench/run_all.py uses; and both
floors as a click command with a pluggy hook per entry
(bench/floor_framework.py), the share of the gap the frameworks account for.

On a machine shared with other jobs the wall time of a run depends on what
else runs at that moment; the CPU time a process tree uses (user + system,
from ``wait4``) much less. The runs of ours, the floor and (with
``--before``) an older checkout of ours are interleaved, so load drifts hit
each alike, and every ratio is from this one run.

    python bench/bench_file_floor.py [--sizes 10000,100000] [--repeat 3]
                                     [--before DIR] [--out results.json]

``--before DIR``: a checkout of an older commit (``git archive REV | tar -x -C DIR``);
its code is run with this venv (``PYTHONPATH=DIR:DIR/plugins``) as "before".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_cleanup  # noqa: E402
import bench_list  # noqa: E402
from gen_store import generate_store  # noqa: E402

OURS = str(Path(sys.executable).parent / "openclaw")
FLOOR_CLEANUP = [sys.executable, str(HERE / "floors.py")]
# The same jobs as a click command with a pluggy hook per entry: the part of our
# cost over the floor that the design card's frameworks account for.
FRAMEWORK = [sys.executable, str(HERE / "floor_framework.py")]


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s of the process) of one run; its output is discarded."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read() if proc.stderr else b""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[:3]} failed: {err.decode(errors='replace')[-600:]}")
    return wall, usage.ru_utime + usage.ru_stime


def contenders(before: Path | None) -> dict[str, tuple[list[str], dict[str, str]]]:
    found = {"ours": ([OURS], {})}
    if before is not None:
        found["before"] = ([OURS], {"PYTHONPATH": f"{before}:{before / 'plugins'}"})
    return found


def bench_cleanup_size(size: int, work: Path, repeat: int, before: Path | None) -> dict:
    template = bench_cleanup.make_state(work / f"template-{size}", size)
    who = {**contenders(before), "framework": (FRAMEWORK, {}), "floor": (FLOOR_CLEANUP, {})}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in who}
    for _ in range(repeat):
        for name, (cli, extra) in who.items():
            state = work / "run" / "state"
            shutil.rmtree(work / "run", ignore_errors=True)
            shutil.copytree(template, state)
            store = state / "agents" / "main" / "sessions" / "sessions.json"
            env = {"PATH": "/usr/bin:/bin", "HOME": str(work / "run"), "OPENCLAW_STATE_DIR": str(state),
                   "NO_COLOR": "1", "OPENCLAW_GATEWAY_PORT": "9", **extra}
            times[name].append(run([*cli, "sessions", "cleanup", "--enforce", "--store", str(store), "--json"],
                                   env, work / "run"))
    shutil.rmtree(template.parent)
    return summarise("cleanup", size, times)


def bench_list_size(size: int, work: Path, repeat: int, before: Path | None) -> dict:
    state = work / f"list-{size}"
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    generate_store(store, size)
    (state / "openclaw.json").write_text("{}")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "OPENCLAW_STATE_DIR": str(state), "NO_COLOR": "1",
           "OPENCLAW_GATEWAY_PORT": "9", "OPENCLAW_SKIP_CHANNELS": "1"}
    who = {name: ([*cli, "sessions", "--limit", "all", "--json"], extra)
           for name, (cli, extra) in contenders(before).items()}
    who["framework"] = ([*FRAMEWORK, "sessions", "--store", str(store)], {})
    who["floor"] = (bench_list.FLOOR + [str(store)], {})
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in who}
    for _ in range(repeat):
        for name, (cmd, extra) in who.items():
            times[name].append(run(cmd, {**env, **extra}, work))
    shutil.rmtree(state)
    return summarise("list", size, times)


def summarise(what: str, size: int, times: dict[str, list[tuple[float, float]]]) -> dict:
    row: dict = {"what": what, "entries": size}
    for name, runs in times.items():
        row[name] = {"wall": statistics.median(r[0] for r in runs), "cpu": statistics.median(r[1] for r in runs)}
    for name in times:
        if name != "floor":
            row[f"{name}_over_floor"] = {k: row[name][k] / row["floor"][k] for k in ("wall", "cpu")}
    line = f"{what:>7} {size:>7}: " + ", ".join(
        f"{name} {row[name]['wall']:.2f}s wall / {row[name]['cpu']:.2f}s CPU" for name in times)
    line += "; " + ", ".join(f"{name}/floor x{row[f'{name}_over_floor']['wall']:.2f} wall, "
                             f"x{row[f'{name}_over_floor']['cpu']:.2f} CPU" for name in times if name != "floor")
    print(line, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="cleanup,list")
    parser.add_argument("--before", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="oc-bench-floor.") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            if "cleanup" in args.only:
                rows.append(bench_cleanup_size(size, Path(tmp), args.repeat, args.before))
            if "list" in args.only:
                rows.append(bench_list_size(size, Path(tmp), args.repeat, args.before))
    if args.out:
        args.out.write_text(json.dumps({"load_average": os.getloadavg(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
