"""An unset ``${VAR}`` in ``gateway.auth.token`` is no token (issue 18 item 4):
the Gateway refuses to start, and a Gateway-first command fails as OpenClaw
2026.5.4 does (GatewaySecretRefUnavailableError, exit 1, nothing touched)
instead of going offline or sending the literal text as a token."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest

from conftest import DAY_MS, OPENCLAW, now_ms, write_store

REFERENCE_LINE = ("GatewaySecretRefUnavailableError: gateway.auth.token is configured as a secret reference but is "
                  "unavailable in this command path.\n"
                  "Fix: set OPENCLAW_GATEWAY_TOKEN/OPENCLAW_GATEWAY_PASSWORD, pass explicit --token/--password,\n"
                  "or run a gateway command path that resolves secret references before credential selection.")


def _seed(state, token="${OPENCLAW_GATEWAY_TOKEN}", **gateway):
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(json.dumps({
        "agents": {"list": [{"id": "main", "default": True}, {"id": "work"}]},
        "gateway": {"auth": {"token": token}, **gateway},
        "session": {"maintenance": {"mode": "enforce", "pruneAfter": "30d"}},
    }))
    t = now_ms()
    write_store(state / "agents" / "main" / "sessions" / "sessions.json", {
        "agent:main:main": {"sessionId": "s-main", "updatedAt": t},
        "agent:main:telegram:direct:1": {"sessionId": "s-stale", "updatedAt": t - 40 * DAY_MS},
    })
    (state / "agents" / "work" / "sessions").mkdir(parents=True)


def _snapshot(root):
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = open(path, "rb").read() if os.path.isfile(path) else None
    return out


def test_the_gateway_refuses_to_start_with_an_unresolved_token(tmp_path, free_port):
    state = tmp_path / "state"
    _seed(state)
    env = {k: v for k, v in os.environ.items() if k != "OPENCLAW_GATEWAY_TOKEN"}
    for bind in ("lan", "loopback"):
        proc = subprocess.run([OPENCLAW, "gateway", "run", "--port", str(free_port), "--bind", bind],
                              env={**env, "OPENCLAW_STATE_DIR": str(state)}, capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
        assert proc.returncode == 1, proc
        assert proc.stderr.strip().splitlines() == [
            "refusing to start the Gateway: gateway.auth.token refers to ${OPENCLAW_GATEWAY_TOKEN}, which is not "
            "set (an unresolved reference is no token); set it or OPENCLAW_GATEWAY_TOKEN"], proc.stderr
        with socket.socket() as s:  # nothing was left listening
            assert s.connect_ex(("127.0.0.1", free_port)) != 0
    assert not (state / "gateway").exists()


def test_gateway_first_commands_fail_as_the_reference_and_touch_nothing(tmp_path, run_openclaw):
    state = tmp_path / "state"
    _seed(state)
    before = _snapshot(state)
    env = {"OPENCLAW_STATE_DIR": str(state)}
    for args in (("sessions", "cleanup", "--enforce"), ("sessions", "cleanup", "--enforce", "--json"),
                 ("sessions", "cleanup", "--agent", "work", "--enforce"),
                 ("agents", "delete", "work", "--force"), ("agents", "delete", "work", "--force", "--json")):
        result = run_openclaw(*args, env=env)
        assert result.exit_code == 1, (args, result)
        assert result.stdout == "" and result.stderr.strip() == REFERENCE_LINE, (args, result)
    assert _snapshot(state) == before
    # Paths that never contact a Gateway still work, as in the reference.
    dry = run_openclaw("sessions", "cleanup", "--dry-run", "--json", env=env)
    assert dry.exit_code == 0 and json.loads(dry.stdout)["pruned"] == 1, dry
    # With the variable set, the reference resolves it: the command runs (offline here).
    set_env = {**env, "OPENCLAW_GATEWAY_TOKEN": "now-set"}
    assert run_openclaw("sessions", "cleanup", "--enforce", "--json", env=set_env).exit_code == 0


def test_the_marker_tells_an_unset_reference_from_a_literal(tmp_path):
    from openclaw_core.config.model import unresolved_env_refs
    from oc import load_config
    from openclaw_core.base.errors import GatewaySecretRefUnavailableError

    assert unresolved_env_refs("${A}-${B}-$${C}", {"B": "b"}) == ["A"]
    assert unresolved_env_refs("${A}", {"A": ""}) == ["A"]  # empty counts as unset, as substitution does
    _seed(tmp_path / "lit", token="$${OPENCLAW_GATEWAY_TOKEN}")
    literal = load_config({"OPENCLAW_STATE_DIR": str(tmp_path / "lit"), "HOME": str(tmp_path)})
    assert literal.gateway_token() == "${OPENCLAW_GATEWAY_TOKEN}"  # escaped on purpose: a real token
    _seed(tmp_path / "other", token="tok-${MY_SECRET}")
    other = load_config({"OPENCLAW_STATE_DIR": str(tmp_path / "other"), "HOME": str(tmp_path), "MY_SECRET": "x"})
    assert other.gateway_token() == "tok-x"
    unset = load_config({"OPENCLAW_STATE_DIR": str(tmp_path / "other"), "HOME": str(tmp_path)})
    try:
        unset.gateway_token()
    except GatewaySecretRefUnavailableError as exc:
        assert exc.message == REFERENCE_LINE and exc.exit_code == 1
    else:
        raise AssertionError("an unset reference became a token")


def test_an_unset_remote_token_reference_is_no_token(tmp_path):
    from oc import load_config
    from openclaw_core.base.errors import GatewaySecretRefUnavailableError
    from openclaw_core.engine.wire.endpoint import resolve_token

    (tmp_path / "openclaw.json").write_text(json.dumps({"gateway": {
        "mode": "remote", "remote": {"url": "ws://127.0.0.1:1", "token": "${REMOTE_TOKEN}"}}}))
    env = {"OPENCLAW_STATE_DIR": str(tmp_path), "HOME": str(tmp_path)}
    with pytest.raises(GatewaySecretRefUnavailableError, match="gateway.remote.token is configured as a secret"):
        resolve_token(load_config(env))
    assert resolve_token(load_config({**env, "REMOTE_TOKEN": "r"})) == "r"
