"""Runs inside a private network namespace (only `lo`), started by the
reference interop tests: start OpenClaw's own Gateway on loopback, run the
given commands against it one by one, copy the config file after each, stop it.

    ref_gateway_run.py STEPS_JSON OUT_DIR

STEPS_JSON: ``[{"name": ..., "argv": [...]}, ...]``. Env from the caller: HOME,
OC_NODE, OC_PKG, GW_PORT (and the quiet OPENCLAW_SKIP_* variables). Writes
``OUT/<name>.{out,err,rc}``, ``OUT/<name>.config`` (the config file as it is
after the step), ``OUT/ref-gateway.log`` and, last, ``OUT/finished``. ``$HASH`` in
an argument becomes the SHA-256 of the config file as it is when the step starts
(what ``config.get`` calls ``hash``), so a write can name its base.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    steps = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENCLAW_STATE_DIR", "OPENCLAW_CONFIG_PATH", "OPENCLAW_GATEWAY_URL",
                        "OPENCLAW_GATEWAY_TOKEN")}
    env["OPENCLAW_GATEWAY_PORT"] = env["GW_PORT"]
    config = Path(env["HOME"]) / ".openclaw" / "openclaw.json"
    log_path = out / "ref-gateway.log"
    with open(log_path, "wb") as log:
        gw = subprocess.Popen([env["OC_NODE"], f"{env['OC_PKG']}/openclaw.mjs", "gateway", "run", "--port",
                               env["GW_PORT"], "--bind", "loopback"], env=env, stdout=log, stderr=log,
                              stdin=subprocess.DEVNULL)
    try:
        for _ in range(240):
            if "ready" in log_path.read_text(errors="replace") or gw.poll() is not None:
                break
            time.sleep(0.25)
        for step in steps:
            name = step["name"]
            digest = hashlib.sha256(config.read_bytes()).hexdigest() if config.exists() else ""
            argv = [arg.replace("$HASH", digest) for arg in step["argv"]]
            with open(out / f"{name}.out", "wb") as so, open(out / f"{name}.err", "wb") as se:
                try:
                    rc = subprocess.run(argv, env=env, stdout=so, stderr=se, stdin=subprocess.DEVNULL,
                                        timeout=60).returncode
                except subprocess.TimeoutExpired:
                    rc = 124
            (out / f"{name}.rc").write_text(str(rc))
            if config.exists():
                shutil.copyfile(config, out / f"{name}.config")
    finally:
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(10)
        except subprocess.TimeoutExpired:
            gw.kill()
            gw.wait()
    (out / "finished").write_text("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
