"""Inputs at their limits (empty, very long, unicode, path separators, deep
nesting): CLI flags, config values, agent ids and session keys. Each bad one
gets one clear error line and an exit code, never a traceback; the ones the
reference accepts (after normalising) never reach outside the state dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import now_ms, write_store
from fault_support import free_port
from gateway_support import handshake, request, start_gateway

LONG = "a" * 5000            # longer than any file name the OS takes (255) and PATH_MAX (4096)
LONG_KEY = "k" * 100_000


def one_error_line(result, code: int | None = None) -> str:
    assert result.exit_code != 0, result
    if code is not None:
        assert result.exit_code == code, result
    assert "Traceback" not in result.stderr, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result
    assert result.stdout == "", result
    return lines[0]


# --- CLI flags ------------------------------------------------------------------------------------

FLAG_CASES = [
    # (args, exit code, what the line says)
    (["sessions", "--limit", ""], 1, '--limit must be a positive integer or "all"'),
    (["sessions", "--limit", "-1"], 1, '--limit must be a positive integer or "all"'),
    (["sessions", "--limit", "✨"], 1, '--limit must be a positive integer or "all"'),
    (["sessions", "--active", "0"], 1, "--active must be a positive integer (minutes)"),
    (["sessions", "--active", ""], 1, "--active must be a positive integer (minutes)"),
    (["sessions", "--limit"], 1, "error: option '--limit <count>' argument missing"),
    (["sessions", "--bogus"], 1, "error: unknown option '--bogus'"),
    (["sessions", "--agent", LONG], 1, f'Unknown agent id "{LONG}"'),
    (["sessions", "--agent", "../etc"], 1, 'Unknown agent id "../etc"'),
    (["sessions", "--agent", "ünï✨"], 1, 'Unknown agent id "ünï✨"'),
    (["sessions", "--agent", "main", "--all-agents"], 1, "--agent and --all-agents cannot be used together"),
    (["sessions", "--store", "/tmp", "--agent", "main"], 1, "--store cannot be combined with --agent or --all-agents"),
    (["sessions", "--store", LONG], 1, "File name too long"),
    (["sessions", "cleanup", "--agent"], 1, "error: option '--agent <id>' argument missing"),
    (["sessions", "cleanup", "--bogus"], 1, "error: unknown option '--bogus'"),
    (["sessions", "cleanup", "--store", LONG, "--enforce"], 1, "File name too long"),
    (["sessions", "cleanup", "--store", "/", "--enforce"], 1, "it is not a regular file"),
    (["agents", "add", ""], 1, "Agent id is required."),
    (["agents", "add", "✨✨"], 1, '"main" is reserved. Choose another name.'),
    (["agents", "add", "/"], 1, '"main" is reserved. Choose another name.'),
    (["agents", "add", "--bogus", "x"], 1, "error: unknown option '--bogus'"),
    (["agents", "delete", "", "--force"], 1, "Agent id is required."),
    (["agents", "delete", "main", "--force"], 1, '"main" cannot be deleted.'),
    (["gateway", "run", "--port", ""], 1, "error: option '--port <n>' argument '' is invalid."),
    (["gateway", "run", "--port", "99999"], 1, "--port: out of range: 99999"),
    (["gateway", "run", "--port", "-1"], 1, "--port: out of range: -1"),
    (["gateway", "run", "--bind", "✨"], 1, '--bind: expected "loopback", "lan" or an IP address, got "✨"'),
    (["gateway", "call", "health", "--params", "{"], 1, "--params: not valid JSON"),
    (["gateway", "call", "health", "--params", "[1]"], 1, "--params: expected a JSON object"),
    (["nosuch"], 1, "error: unknown command 'nosuch'"),
]


@pytest.mark.parametrize(("args", "code", "says"), FLAG_CASES, ids=[" ".join(a)[:40] for a, _, _ in FLAG_CASES])
def test_bad_flags_get_one_error_line_and_an_exit_code(cli, state_dir, args, code, says):
    line = one_error_line(cli(*args), code)
    assert says in line


def test_an_agent_id_that_normalises_to_another_one_says_so_then_fails_once(cli, state_dir):
    result = cli("agents", "delete", "../nope", "--force")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == ['Normalized agent id to "nope".', 'Agent "nope" not found.']


# --- agent ids: normalised, never a path outside the state dir ---------------------------------------------

@pytest.mark.parametrize(("given", "agent_id"), [
    ("../../escape", "escape"), ("a/b", "a-b"), ("a\\b", "a-b"), ("/abs/path", "abs-path"),
    (LONG, "a" * 64), ("ünïcode✨x", "n-code-x"), ("..x..", "x"),
])
def test_agent_ids_with_separators_stay_inside_the_state_dir(cli, state_dir, tmp_path, given, agent_id):
    result = cli("agents", "add", given, "--workspace", str(state_dir / "ws"))
    assert result.exit_code == 0, result
    assert f'Normalized agent id to "{agent_id}".' in result.stderr
    created = {p for p in tmp_path.rglob("*")}
    outside = [p for p in created if not (p.is_relative_to(state_dir) or p.is_relative_to(tmp_path / "home"))]
    assert outside == []
    assert (state_dir / "agents" / agent_id).is_dir()
    listed = cli("sessions", "--agent", agent_id, "--json")
    assert listed.exit_code == 0, listed
    assert Path(listed.json()["path"]).is_relative_to(state_dir / "agents" / agent_id)


# --- config values --------------------------------------------------------------------------------------------

CONFIG_CASES = [
    ({"session": {"maintenance": {"maxEntries": -1}}}, "session.maintenance.maxEntries: Too small"),
    ({"session": {"maintenance": {"maxEntries": ""}}}, "session.maintenance.maxEntries: Invalid input"),
    ({"session": {"maintenance": {"maxEntries": 2**70}}}, "session.maintenance.maxEntries: Too big"),
    ({"session": {"maintenance": {"pruneAfter": ""}}}, "session.maintenance.pruneAfter: invalid duration"),
    ({"session": {"maintenance": {"pruneAfter": "9" * 5000 + "d"}}}, "session.maintenance.pruneAfter: invalid duration"),
    ({"session": {"maintenance": {"pruneAfter": "✨"}}}, "session.maintenance.pruneAfter: invalid duration"),
    ({"session": {"maintenance": {"maxDiskBytes": "10zb"}}}, "session.maintenance.maxDiskBytes: invalid size"),
    ({"session": {"maintenance": {"mode": ""}}}, "session.maintenance.mode: Invalid option"),
    ({"gateway": {"port": 70000}}, "gateway.port: expected an integer between 1 and 65535"),
    ({"gateway": {"port": ""}}, "gateway.port: expected an integer between 1 and 65535"),
]


def _config_block(result) -> str:
    """The reference's block (Config invalid / File / Problem) with exactly one problem."""
    assert result.exit_code == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Config invalid" and lines[1].startswith("File: ") and lines[2] == "Problem:", result
    assert len(lines) == 4 and lines[3].startswith("  - "), result
    return lines[3]


@pytest.mark.parametrize(("config", "says"), CONFIG_CASES, ids=[c[1].split(":")[0] + str(i) for i, c in enumerate(CONFIG_CASES)])
def test_bad_config_values_name_the_key_in_one_problem_line(cli, state_dir, config, says):
    (state_dir / "openclaw.json").write_text(json.dumps(config))
    assert says in _config_block(cli("sessions", "--json"))


@pytest.mark.parametrize(("name", "text", "says"), [
    ("openclaw.json", "", "<root>: JSON5 parse failed"),
    ("openclaw.json", "{" * 100_000, "<root>: JSON5 parse failed"),
    ("openclaw.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "<root>: JSON5 parse failed: nested too deeply"),
    ("openclaw.toml", "a = " + "[" * 100_000 + "]" * 100_000, "<root>: TOML parse failed: nested too deeply"),
    ("openclaw.json", "[]", "<root>: Invalid input: expected object, received array"),
])
def test_an_unparseable_config_file_is_one_problem_line(cli, state_dir, name, text, says):
    (state_dir / name).write_text(text)
    assert says in _config_block(cli("sessions", "--json"))


def test_a_non_utf8_config_file_is_one_problem_line(cli, state_dir):
    (state_dir / "openclaw.json").write_bytes(b"\xff\xfe{}")
    assert "<root>: read failed" in _config_block(cli("sessions", "--json"))


def test_an_agent_id_in_the_config_with_separators_maps_inside_the_state_dir(cli, state_dir):
    (state_dir / "openclaw.json").write_text(json.dumps({"agents": {"list": [{"id": "../../evil"}, {"id": "a/b"}]}}))
    result = cli("sessions", "cleanup", "--all-agents", "--dry-run", "--json")
    assert result.exit_code == 0, result
    paths = [Path(s["storePath"]) for s in result.json()["stores"]]
    assert paths and all(p.is_relative_to(state_dir / "agents") for p in paths), paths


# --- session keys ----------------------------------------------------------------------------------------------

# The module-scoped Gateway is shared by the tests here (some check what earlier ones left):
# under pytest-xdist the module runs on one worker (make test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_limits")


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    state = tmp_path_factory.mktemp("gw-limits")
    gateway = start_gateway(state, free_port())
    yield gateway
    assert gateway.stop() == 0, gateway.log()


@pytest.mark.parametrize(("key", "error"), [
    ("", "invalid sessions.patch params: at /key: must NOT have fewer than 1 character"),
    ("   ", "key required"),
    ("\t\n", "key required"),
])
def test_empty_session_keys_are_refused(gw, key, error):
    ws, _ = handshake(gw.port)
    reply = request(ws, "sessions.patch", {"key": key, "label": "x"})
    ws.close()
    assert reply["ok"] is False and reply["error"]["message"] == error


@pytest.mark.parametrize(("key", "stored"), [
    (LONG_KEY, "agent:main:" + LONG_KEY),
    ("../../etc/passwd", "agent:main:../../etc/passwd"),
    ("agent:../..:x", "agent:main:x"),   # the agent part is an id: normalised
    ("ünï✨", "agent:main:ünï✨"),
    ("a/b\\c", "agent:main:a/b\\c"),
])
def test_odd_session_keys_are_stored_as_keys_and_files_stay_in_the_sessions_dir(gw, key, stored):
    ws, _ = handshake(gw.port)
    patched = request(ws, "sessions.patch", {"key": key, "label": f"L{abs(hash(key))}"}, timeout=30)
    reset = request(ws, "sessions.reset", {"key": key}, timeout=30)
    deleted = request(ws, "sessions.delete", {"key": key}, timeout=30)
    ws.close()
    assert patched["ok"] and patched["payload"]["key"] == stored, patched
    assert reset["ok"] and deleted["ok"] and deleted["payload"]["deleted"], (reset, deleted)
    sessions = gw.state_dir / "agents" / "main" / "sessions"
    # (the Gateway's own files: its endpoint record and its log)
    files = [p for p in gw.state_dir.rglob("*") if p.is_file() and p.parent not in (gw.state_dir / "gateway", gw.state_dir / "logs")]
    assert all(p.is_relative_to(gw.state_dir / "agents") for p in files), files
    assert stored not in json.loads((sessions / "sessions.json").read_text())


def test_a_very_long_active_key_is_just_a_key(cli, store_path):
    write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    result = cli("sessions", "cleanup", "--store", str(store_path), "--enforce", "--json",
                 "--active-key", LONG_KEY)
    assert result.exit_code == 0, result
    assert result.json()["afterCount"] == 1
