#!/usr/bin/env python3
"""Runs the session read calls of tests/gateway_sessions_support.py against one
Gateway and writes what it answered (raw) as JSON.

  gateway_sessions_run.py OUT.json --home HOME --port P --cli 'NODE PKG/openclaw.mjs' -- GATEWAY_CMD...

Starts GATEWAY_CMD (env: HOME, OPENCLAW_GATEWAY_PORT; the state is HOME/.openclaw),
waits for ``[gateway] ready``, then for each read call runs the real CLI's
``gateway call METHOD --json --params ...`` and records exit status and stdout;
then a raw WebSocket client subscribes to sessions.changed, makes the mutations
of MUTATIONS and records the answers and every sessions.changed event. Stops the
Gateway (SIGTERM). Used by tests/test_gateway_sessions_read.py (inside `unshare -n`
for OpenClaw's own Gateway) and to record tests/fixtures/gateway-sessions/.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gateway_sessions_support import CALLS, QUIET_ENV, TOKEN, agents_tree, run_mutations  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--home", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--calls", help="comma-separated names of CALLS to run with the CLI (default: all)")
    ap.add_argument("gateway", nargs="+")
    args = ap.parse_args()
    if os.geteuid() == 0:
        subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True)
    # OPENCLAW_DISABLE_PLUGINS stays: the tests keep third-party plugins out of our Gateway.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_") or k == "OPENCLAW_DISABLE_PLUGINS"}
    env.update(QUIET_ENV, HOME=args.home, OPENCLAW_GATEWAY_PORT=str(args.port),
               XDG_DATA_HOME=str(Path(args.home) / ".local" / "share"))
    log_path = Path(args.out).with_suffix(".gateway.log")
    with open(log_path, "w") as log:
        gw = subprocess.Popen(args.gateway, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    result: dict = {"calls": {}, "mutations": {}}
    try:
        deadline = time.monotonic() + 120
        while "[gateway] ready" not in log_path.read_text(errors="replace"):
            if gw.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gateway not ready:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        wanted = set(args.calls.split(",")) if args.calls else None
        cli = shlex.split(args.cli)
        for name, method, params in CALLS:
            if wanted is None or name in wanted:
                proc = subprocess.run([*cli, "gateway", "call", method, "--json", "--params", json.dumps(params)],
                                      env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
                result["calls"][name] = {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
        result["mutations"] = run_mutations(args.port, TOKEN)
    finally:
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(20)
        except subprocess.TimeoutExpired:
            gw.kill()
            gw.wait(5)
    result["tree"] = agents_tree(Path(args.home) / ".openclaw")
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
