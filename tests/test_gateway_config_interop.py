"""The real OpenClaw 2026.5.4 CLI's ``gateway call config.*|agents.create|agents.update``
against its own Gateway and against ours, on identical copies of the Gateway
experiment's state (cases/30-gateway): same exit status, same JSON (or the same
error line), same config file after each step (home path, hashes, times
normalised; key order not compared).

One run of the steps per Gateway for the module: the reference's inside
``unshare -n`` (only loopback), ours on 127.0.0.1. Skips, saying why, when the
reference is not installed or ``unshare -n`` is not available.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import _free_port
from gateway_support import start_gateway
from test_gateway_interop import CASE, NODE, PKG, _can_unshare, base_env, build_home

RUNNER = Path(__file__).parent / "interop" / "ref_gateway_run.py"
REDACTED = "__OPENCLAW_REDACTED__"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.reference,
    pytest.mark.skipif(not (NODE.exists() and (PKG / "openclaw.mjs").exists()),
                       reason="the OpenClaw 2026.5.4 reference is not installed (run ../shared/reference/install.sh)"),
    pytest.mark.skipif(not (CASE / "case.json").exists(), reason=f"{CASE} (the recorded experiment) is missing"),
    pytest.mark.skipif(not _can_unshare(), reason="needs root and `unshare -n` to run OpenClaw's Gateway isolated"),
]


def _call(method: str, params: dict | None = None) -> list[str]:
    argv = ["gateway", "call", method, "--json"]
    if params is not None:
        argv += ["--params", json.dumps(params)]
    return argv


def _full_config(**changes: object) -> dict:
    """The experiment's config as a client edits what config.get showed it (token redacted)."""
    config = json.loads((CASE / "case.json").read_text())["config"]
    config["gateway"]["auth"]["token"] = REDACTED
    config["session"]["maintenance"].update(changes)
    return config


# The first call is an admin one: the reference pairs the CLI's device with the scopes
# of its first connection and holds a later upgrade for approval.
STEPS: list[tuple[str, list[str]]] = [
    ("schema", _call("config.schema")),
    ("get", _call("config.get")),
    ("lookup", _call("config.schema.lookup", {"path": "session.maintenance"})),
    ("lookup-list", _call("config.schema.lookup", {"path": "agents.list"})),
    ("lookup-missing", _call("config.schema.lookup", {"path": "nope.x"})),
    ("set-no-hash", _call("config.set", {"raw": "{}"})),
    ("set-stale-hash", _call("config.set", {"raw": "{}", "baseHash": "abc"})),
    ("set-extra-param", _call("config.set", {"raw": "{}", "baseHash": "$HASH", "bogus": 1})),
    ("patch-invalid", _call("config.patch", {"raw": json.dumps({"session": {"bogus": 1}}), "baseHash": "$HASH"})),
    ("patch", _call("config.patch", {"raw": json.dumps({"session": {"maintenance": {"mode": "enforce",
                                                                                     "maxEntries": None}},
                                                         "agents": {"list": [{"id": "lab", "name": "Lab"}]}}),
                                     "baseHash": "$HASH"})),
    ("patch-noop", _call("config.patch", {"raw": json.dumps({"session": {"maintenance": {"mode": "enforce"}}}),
                                          "baseHash": "$HASH"})),
    ("patch-rate-limited", _call("config.patch", {"raw": "{}", "baseHash": "$HASH"})),
    ("set", _call("config.set", {"raw": json.dumps(_full_config(maxEntries=5)), "baseHash": "$HASH"})),
    ("create", _call("agents.create", {"name": "Scout", "workspace": "~/ws-scout", "emoji": "x"})),
    ("create-again", _call("agents.create", {"name": "scout", "workspace": "~/ws-scout"})),
    ("create-main", _call("agents.create", {"name": "main", "workspace": "~/ws-main"})),
    ("create-no-workspace", _call("agents.create", {"name": "x"})),
    ("update", _call("agents.update", {"agentId": "Scout", "model": "openai/gpt-5", "name": "Scouty"})),
    ("update-unknown", _call("agents.update", {"agentId": "nope"})),
    ("get-after", _call("config.get")),
]


def _steps_json(cli: list[str]) -> list[dict]:
    return [{"name": name, "argv": [*cli, *argv]} for name, argv in STEPS]


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
    steps.write_text(json.dumps(_steps_json(cli)))
    env = {**base_env(ref_home), "OC_NODE": str(NODE), "OC_PKG": str(PKG), "GW_PORT": "18941"}
    proc = subprocess.run(["unshare", "-n", sys.executable, str(RUNNER), str(steps), str(ref_out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert (ref_out / "finished").exists(), proc.stderr + (ref_out / "ref-gateway.log").read_text()
    results["ref"] = (ref_home, ref_out)
    # Ours, on an identical copy, driven the same way (the runner's step loop, our Gateway).
    our_home = build_home(base / "ours")
    our_out = base / "ours" / "out"
    our_out.mkdir()
    port = _free_port()
    gw = start_gateway(our_home / ".openclaw", port, token=None, args=("--verbose",),
                       extra_env={"OPENCLAW_STATE_DIR": "", "HOME": str(our_home),
                                  "XDG_DATA_HOME": str(our_home / ".local" / "share")})
    try:
        _run_steps(our_home, our_out, {**base_env(our_home), "OPENCLAW_GATEWAY_PORT": str(port)}, cli)
    finally:
        gw.stop()
    (our_out / "gateway.log").write_text(gw.log())
    results["ours"] = (our_home, our_out)
    return results


def _run_steps(home: Path, out: Path, env: dict, cli: list[str]) -> None:
    import hashlib

    config = home / ".openclaw" / "openclaw.json"
    for name, argv in STEPS:
        digest = hashlib.sha256(config.read_bytes()).hexdigest()
        proc = subprocess.run([*cli, *(a.replace("$HASH", digest) for a in argv)], env=env, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)
        (out / f"{name}.out").write_text(proc.stdout)
        (out / f"{name}.err").write_text(proc.stderr)
        (out / f"{name}.rc").write_text(str(proc.returncode))
        shutil.copyfile(config, out / f"{name}.config")


def _normalise(value, home: Path):
    text = json.dumps(value).replace(str(home), "$HOME")
    value = json.loads(text)

    def walk(node):
        if isinstance(node, dict):
            out = {}
            for key, item in node.items():
                if key in ("hash", "ts", "lastTouchedAt", "generatedAt") and item is not None:
                    out[key] = f"<{key}>"
                else:
                    out[key] = walk(item)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(value)


def _result(runs, side: str, name: str) -> tuple[int, object, str]:
    home, out = runs[side]
    rc = int((out / f"{name}.rc").read_text())
    stdout = (out / f"{name}.out").read_text()
    lines = [line for line in (out / f"{name}.err").read_text().splitlines() if line.startswith("Gateway call failed")]
    error = re.sub(r"retry after \d+s", "retry after Ns", lines[0]) if lines else ""
    payload = _normalise(json.loads(stdout), home) if rc == 0 and stdout.strip() else None
    return rc, payload, error


def _config_after(runs, side: str, name: str) -> dict:
    home, out = runs[side]
    return _normalise(json.loads((out / f"{name}.config").read_text()), home)


SAME = [name for name, _ in STEPS if name not in ("schema", "lookup", "lookup-list")]


@pytest.mark.parametrize("step", SAME)
def test_same_answer_and_config_file(runs, step):
    ref, ours = _result(runs, "ref", step), _result(runs, "ours", step)
    assert ours[0] == ref[0], (ours, ref, (runs["ours"][1] / f"{step}.err").read_text())
    assert ours[2] == ref[2]
    assert ours[1] == ref[1]
    assert _config_after(runs, "ours", step) == _config_after(runs, "ref", step)


def test_schema_covers_what_the_reference_names_where_we_are_strict(runs):
    """Our schema is generated from our key tables; where we refuse unknown keys, it names
    exactly the reference's keys (ours adds session.backend)."""
    rc_ref, ref, _ = _result(runs, "ref", "schema")
    rc_ours, ours, _ = _result(runs, "ours", "schema")
    assert rc_ref == rc_ours == 0
    assert set(ours) == set(ref) == {"schema", "uiHints", "version", "generatedAt"}

    def props(schema, *path):
        node = schema
        for part in path:
            node = node["items"] if part == "*" else node["properties"][part]
        return set(node["properties"])

    assert props(ours["schema"]) - {"$schema"} == props(ref["schema"])
    from openclaw_core.config_schema import declared_sections

    ours_only = {"plugins": {p.split(".", 1)[1] for p in declared_sections() if p.startswith("plugins.")}}
    for path in (("session", "maintenance"), ("gateway",), ("gateway", "auth"), ("gateway", "remote"),
                 ("agents",), ("agents", "defaults"), ("agents", "list", "*"), ("plugins",)):
        mine = props(ours["schema"], *path) - ours_only.get(".".join(path), set())
        assert mine == props(ref["schema"], *path), path
    assert props(ours["schema"], "session") - {"backend"} == props(ref["schema"], "session")
    assert ours["uiHints"]["gateway.auth.token"]["sensitive"] is ref["uiHints"]["gateway.auth.token"]["sensitive"]


def test_no_secret_on_the_wire(runs):
    for name, _ in STEPS:
        text = (runs["ours"][1] / f"{name}.out").read_text()
        assert "oracle-test-token" not in text, name


@pytest.mark.parametrize("step", ["lookup", "lookup-list"])
def test_schema_lookup_names_the_same_children(runs, step):
    """Labels and help texts are the reference's prose, not ours: the node's path and its
    children (keys, paths, types) are compared."""
    _, ref, _ = _result(runs, "ref", step)
    _, ours, _ = _result(runs, "ours", step)

    def shape(payload):
        return payload["path"], payload["schema"].get("type"), [
            (c["key"], c["path"], c.get("type"), c["required"], c["hasChildren"]) for c in payload["children"]]

    assert shape(ours) == shape(ref)
