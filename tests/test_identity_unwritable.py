"""A state dir where the device identity cannot be written (issue 18 item 11):
the identity is only needed once a Gateway answers, so with none reachable the
offline path runs; with one there, the error says what failed (not "the
transport failed"). Tests run as root, so "cannot be written" is a regular file
where ``identity/`` should be."""

from __future__ import annotations

import json

from conftest import DAY_MS, now_ms, write_store
from gateway_support import TOKEN, start_gateway


def _seed(state) -> None:
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(json.dumps({"session": {"maintenance": {"mode": "warn", "pruneAfter": "30d"}}}))
    t = now_ms()
    write_store(state / "agents" / "main" / "sessions" / "sessions.json", {
        "agent:main:main": {"sessionId": "s-main", "updatedAt": t},
        "agent:main:telegram:direct:1": {"sessionId": "s-stale", "updatedAt": t - 40 * DAY_MS},
    })
    (state / "identity").write_text("not a directory\n")


def _keys(state) -> list[str]:
    return list(json.loads((state / "agents" / "main" / "sessions" / "sessions.json").read_text()))


def test_no_gateway_the_offline_path_runs_without_an_identity(tmp_path, run_openclaw):
    state = tmp_path / "state"
    _seed(state)
    result = run_openclaw("sessions", "cleanup", "--enforce", env={"OPENCLAW_STATE_DIR": str(state)})
    assert result.exit_code == 0, result
    assert "transport failed" not in result.stderr and "identity" not in result.stderr
    assert _keys(state) == ["agent:main:main"]
    assert (state / "identity").read_text() == "not a directory\n"


def test_with_a_gateway_the_error_says_the_identity_could_not_be_written(tmp_path, free_port, run_openclaw):
    state = tmp_path / "state"
    _seed(state)
    gw = start_gateway(state, free_port, args=("--verbose",))
    try:
        before = (state / "agents" / "main" / "sessions" / "sessions.json").read_bytes()
        result = run_openclaw("sessions", "cleanup", "--enforce",
                              env={"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_GATEWAY_TOKEN": TOKEN})
        assert result.exit_code == 1, result
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"cannot write device identity {state}/identity/device.json: "), line
        assert "transport failed" not in line and "nothing was sent" in line
        # Nothing ran: not through the Gateway, not offline beside it.
        assert (state / "agents" / "main" / "sessions" / "sessions.json").read_bytes() == before
        assert "res sessions.cleanup" not in gw.log()
    finally:
        gw.stop()
