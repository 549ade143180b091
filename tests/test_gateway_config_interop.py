"""The real OpenClaw 2026.5.4 CLI's ``gateway call config.*|agents.create|agents.update``
against its own Gateway and against ours, on identical copies of the Gateway
experiment's state (cases/30-gateway): same exit status, same JSON (or the same
error line), same config file after each step (home path, hashes, times
normalised; key order not compared). Steps: tests/gateway_config_steps.py.

One run of the steps per Gateway for the module: the reference's inside
``unshare -n`` (only loopback), ours on 127.0.0.1. With
``OPENCLAW_RECORD_GATEWAY_CONFIG=1`` the reference's normalised answers are
written to tests/fixtures/gateway-config/ (what test_gateway_config_fixtures.py
replays without the reference). Skips, saying why, when the reference is not
installed or ``unshare -n`` is not available.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import THIRD_PARTY, _free_port
from gateway_config_steps import (
    FIXTURES,
    SAME,
    STEPS,
    TOKEN,
    cli_argv,
    error_line,
    lookup_shape,
    normalise,
    schema_keys,
)
from gateway_support import start_gateway
from test_gateway_interop import CASE, NODE, PKG, _can_unshare, base_env, build_home

RUNNER = Path(__file__).parent / "interop" / "ref_gateway_run.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.reference,
    pytest.mark.interop,
    pytest.mark.timeout(900),  # the module's one run of 2 x 20 CLI calls, on a busy 2-core machine
    pytest.mark.skipif(not (NODE.exists() and (PKG / "openclaw.mjs").exists()),
                       reason="the OpenClaw 2026.5.4 reference is not installed (run ../shared/reference/install.sh)"),
    pytest.mark.skipif(not (CASE / "case.json").exists(), reason=f"{CASE} (the recorded experiment) is missing"),
    pytest.mark.skipif(not _can_unshare(), reason="needs root and `unshare -n` to run OpenClaw's Gateway isolated"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"ref"|"ours": (home, out dir)} after running every step against each Gateway."""
    base = tmp_path_factory.mktemp("config-interop")
    cli = [str(NODE), str(PKG / "openclaw.mjs")]
    results = {}
    # The reference, isolated.
    ref_home = build_home(base / "ref")
    ref_out = base / "ref" / "out"
    ref_out.mkdir()
    steps = base / "steps.json"
    steps.write_text(json.dumps([{"name": name, "argv": [*cli, *cli_argv(method, params)]}
                                 for name, method, params in STEPS]))
    env = {**base_env(ref_home), "OC_NODE": str(NODE), "OC_PKG": str(PKG), "GW_PORT": "18941"}
    proc = subprocess.run(["unshare", "-n", sys.executable, str(RUNNER), str(steps), str(ref_out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert (ref_out / "finished").exists(), proc.stderr + (ref_out / "ref-gateway.log").read_text()
    results["ref"] = (ref_home, ref_out)
    # Ours, on an identical copy, driven the same way.
    our_home = build_home(base / "ours")
    our_out = base / "ours" / "out"
    our_out.mkdir()
    port = _free_port()
    gw = start_gateway(our_home / ".openclaw", port, token=None, args=("--verbose",),
                       extra_env={"OPENCLAW_STATE_DIR": "", "HOME": str(our_home),
                                  "XDG_DATA_HOME": str(our_home / ".local" / "share"),
                                  "OPENCLAW_DISABLE_PLUGINS": THIRD_PARTY})  # as the tests' own process
    try:
        _run_steps(our_home, our_out, {**base_env(our_home), "OPENCLAW_GATEWAY_PORT": str(port)}, cli)
    finally:
        gw.stop()
    (our_out / "gateway.log").write_text(gw.log())
    results["ours"] = (our_home, our_out)
    if os.environ.get("OPENCLAW_RECORD_GATEWAY_CONFIG") == "1":
        _record(results)
    return results


def _run_steps(home: Path, out: Path, env: dict, cli: list[str]) -> None:
    config = home / ".openclaw" / "openclaw.json"
    for name, method, params in STEPS:
        digest = hashlib.sha256(config.read_bytes()).hexdigest()
        argv = [a.replace("$HASH", digest) for a in cli_argv(method, params)]
        proc = subprocess.run([*cli, *argv], env=env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        (out / f"{name}.out").write_text(proc.stdout)
        (out / f"{name}.err").write_text(proc.stderr)
        (out / f"{name}.rc").write_text(str(proc.returncode))
        shutil.copyfile(config, out / f"{name}.config")


def _result(runs, side: str, name: str) -> dict:
    """``{rc, payload, error}`` of one step (``error``: the CLI's ``Gateway call failed`` line)."""
    home, out = runs[side]
    rc = int((out / f"{name}.rc").read_text())
    stdout = (out / f"{name}.out").read_text()
    lines = [line for line in (out / f"{name}.err").read_text().splitlines() if line.startswith("Gateway call failed")]
    payload = normalise(json.loads(stdout), home) if rc == 0 and stdout.strip() else None
    return {"rc": rc, "payload": payload, "error": error_line(lines[0]) if lines else ""}


def _config_after(runs, side: str, name: str) -> dict:
    home, out = runs[side]
    return normalise(json.loads((out / f"{name}.config").read_text()), home)


def _record(runs) -> None:
    """The reference's answers, normalised, as the fixtures the replay test reads."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, method, params in STEPS:
        result = _result(runs, "ref", name)
        if name == "schema":
            payload = result["payload"]
            result["payload"] = {"keys": sorted(payload), "version": payload["version"],
                                 "schemaKeys": schema_keys(payload["schema"]),
                                 "sensitive": sorted(k for k, v in payload["uiHints"].items() if v.get("sensitive"))}
        elif name.startswith("lookup") and result["payload"] is not None:
            result["payload"] = lookup_shape(result["payload"])
        record = {"method": method, **result, "configAfter": _config_after(runs, "ref", name)}
        (FIXTURES / f"{name}.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")


@pytest.mark.parametrize("step", SAME)
def test_same_answer_and_config_file(runs, step):
    ref, ours = _result(runs, "ref", step), _result(runs, "ours", step)
    assert ours == ref, (runs["ours"][1] / f"{step}.err").read_text()
    assert _config_after(runs, "ours", step) == _config_after(runs, "ref", step)


def test_schema_names_the_reference_keys_where_we_are_strict(runs):
    """Our schema is generated from our key tables; where we refuse unknown keys it names
    exactly the reference's keys, plus ours: session.backend and our plugins' sections."""
    from openclaw_core.config.schema import declared_sections

    ref, ours = _result(runs, "ref", "schema")["payload"], _result(runs, "ours", "schema")["payload"]
    assert set(ours) == set(ref) == {"schema", "uiHints", "version", "generatedAt"}
    ours_only = {"": {"$schema"}, "session": {"backend"}}
    for dotted in declared_sections(__import__("openclaw_core.app").app.hooks()):  # our plugins' sections (plugins.retentionPins, session.postgres ...)
        parent, _, name = dotted.rpartition(".")
        ours_only.setdefault(parent, set()).add(name)
    ref_keys, our_keys = schema_keys(ref["schema"]), schema_keys(ours["schema"])
    for dotted in ref_keys:
        assert set(our_keys[dotted]) - ours_only.get(dotted, set()) == set(ref_keys[dotted]), dotted
    assert ours["uiHints"]["gateway.auth.token"]["sensitive"] is ref["uiHints"]["gateway.auth.token"]["sensitive"]


@pytest.mark.parametrize("step", ["lookup", "lookup-list"])
def test_schema_lookup_names_the_same_children(runs, step):
    """Labels and help texts are the reference's prose, not ours: the node's path and its
    children (keys, paths, types) are compared."""
    ref, ours = _result(runs, "ref", step)["payload"], _result(runs, "ours", step)["payload"]
    assert lookup_shape(ours) == lookup_shape(ref)


def test_no_secret_on_the_wire(runs):
    for name, _, _ in STEPS:
        assert TOKEN not in (runs["ours"][1] / f"{name}.out").read_text(), name
