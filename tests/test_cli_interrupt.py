"""Ctrl-C where no write's cancel handling runs yet (the CLI loading its plugins):
exit 130, the one code for a cancel, one line, no traceback, nothing written."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from conftest import OPENCLAW, enable_only, now_ms, write_store
from plugin_support import make_distribution

SLOW_PLUGIN = '''
import os, time
from pathlib import Path

Path(os.environ["OC_SLOW_MARK"]).write_text("importing")
time.sleep(30)  # Ctrl-C lands here, while the CLI loads its plugins
'''


def test_ctrl_c_while_the_cli_starts_exits_130_with_one_line(tmp_path):
    state = tmp_path / "state"
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    write_store(store, {"agent:main:old": {"sessionId": "s1", "updatedAt": now_ms() - 90 * 86_400_000}})
    before = store.read_bytes()
    make_distribution(tmp_path / "site", "oc_test_slow", SLOW_PLUGIN, {"test-slow": "oc_test_slow"})
    mark = tmp_path / "mark"
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(state), "PYTHONPATH": str(tmp_path / "site"),
           "OC_SLOW_MARK": str(mark), "OPENCLAW_DISABLE_PLUGINS": enable_only("test-slow")}
    proc = subprocess.Popen([OPENCLAW, "sessions", "cleanup", "--enforce"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not mark.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the plugin was never imported"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert out == ""
    assert err.strip() == "Interrupted.", err  # not click's "Aborted!"/"Cancelled.", no traceback
    assert store.read_bytes() == before
