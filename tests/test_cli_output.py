"""Global -q/-v, and `sessions --verbose`: which lines each adds or removes."""

from __future__ import annotations

import json

from conftest import DAY_MS, now_ms, write_store
from gateway_support import TOKEN, start_gateway


def test_quiet_drops_informational_lines_but_not_errors(cli, state_dir):
    loud = cli("agents", "add", "WORK", "--json")
    assert loud.exit_code == 0 and loud.stderr == 'Normalized agent id to "work".\n'
    quiet = cli("-q", "agents", "add", "OPS", "--json")
    assert quiet.exit_code == 0 and quiet.stderr == "" and json.loads(quiet.stdout)["agentId"] == "ops"
    error = cli("-q", "agents", "delete", "--bogus")
    assert (error.exit_code, error.stderr) == (1, "error: unknown option '--bogus'\n")


def test_quiet_drops_maintenance_info_on_stderr(cli, store_path):
    (store_path.parent.parent.parent.parent / "openclaw.json").write_text(
        json.dumps({"session": {"maintenance": {"mode": "enforce", "pruneAfter": "7d"}}}))
    entries = {"agent:main:telegram:direct:1": {"sessionId": "s1", "updatedAt": now_ms() - 30 * DAY_MS}}
    write_store(store_path, entries)
    loud = cli("sessions", "cleanup", "--store", store_path, "--enforce", "--json")
    assert loud.exit_code == 0 and "[sessions/store]" in loud.stderr
    write_store(store_path, entries)
    quiet = cli("-q", "sessions", "cleanup", "--store", store_path, "--enforce", "--json")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["pruned"] == json.loads(loud.stdout)["pruned"] == 1


def test_verbose_says_that_no_transport_answered(cli, state_dir):
    plain = cli("sessions", "cleanup", "--enforce")
    assert plain.exit_code == 0 and "transport" not in plain.stderr
    verbose = cli("-v", "sessions", "cleanup", "--enforce")
    assert verbose.exit_code == 0
    assert "sessions.cleanup: no transport connected; running it here (offline)\n" in verbose.stderr
    assert verbose.stdout == plain.stdout


def test_verbose_names_the_transport_that_carried_the_command(cli, state_dir, free_port, monkeypatch):
    gateway = start_gateway(state_dir, free_port)
    try:
        monkeypatch.setenv("OPENCLAW_GATEWAY_PORT", str(free_port))
        monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", TOKEN)
        result = cli("-v", "sessions", "cleanup", "--enforce", "--json")
        assert result.exit_code == 0, result
        assert "sessions.cleanup: carried by the 'gateway' transport\n" in result.stderr
        assert "no transport connected" not in result.stderr
    finally:
        gateway.stop()


def test_sessions_verbose_is_verbose_logging(cli, store_path):
    write_store(store_path, {"agent:main:main": {"sessionId": "s1", "updatedAt": now_ms()}})
    plain = cli("sessions")
    assert plain.exit_code == 0 and plain.stderr == ""
    for args in (["sessions", "--verbose"], ["-v", "sessions"], ["sessions", "list", "--verbose"]):
        result = cli(*args)
        assert result.exit_code == 0 and result.stdout == plain.stdout
        assert result.stderr.startswith(f"read {store_path} (agent main): 1 sessions, "), args
    # -q wins over --verbose
    assert cli("-q", "sessions", "--verbose").stderr == ""
    # and nothing carries over to the next command in the same process
    assert cli("sessions").stderr == ""
