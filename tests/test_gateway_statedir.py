"""Mutations stay in the state dir the user named (issue 13 item 1): a Gateway
serving another state dir is skipped (one stderr line) and the command runs
offline on the state dir it resolved; the Gateway of the same state dir (also
through a symlink) still carries it, and says so in the text output. Two real
Gateway processes, real state dirs."""

from __future__ import annotations

import json
import os

import pytest

from conftest import DAY_MS, now_ms, write_store
from gateway_support import TOKEN, start_gateway

STALE_KEY = "agent:main:telegram:direct:1"


def _seed(state, *, agents=("main", "work")) -> None:
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(json.dumps({
        "agents": {"list": [{"id": a, **({"default": True} if a == "main" else {})} for a in agents]},
        "session": {"maintenance": {"mode": "warn", "pruneAfter": "30d"}},
    }))
    t = now_ms()
    write_store(state / "agents" / "main" / "sessions" / "sessions.json", {
        "agent:main:main": {"sessionId": "s-main", "updatedAt": t},
        STALE_KEY: {"sessionId": "s-stale", "updatedAt": t - 40 * DAY_MS},
    })
    (state / "agents" / "work" / "sessions").mkdir(parents=True, exist_ok=True)


# The Gateway's own log, which records the (unsigned) connection of a skipped client.
GATEWAY_LOG = os.path.join("logs", "core-gateway.log")


def _tree(root) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.relpath(path, root) == GATEWAY_LOG:
                continue
            with open(path, "rb") as fh:
                out[os.path.relpath(path, root)] = fh.read()
    return out


@pytest.fixture
def two_state_dirs(tmp_path, free_port):
    """A Gateway running for state dir A; state dir B with no Gateway; both on one configured port."""
    a, b = tmp_path / "A", tmp_path / "B"
    _seed(a)
    _seed(b)
    env_home = {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    gw = start_gateway(a, free_port, args=("--verbose",), extra_env=env_home)
    yield a, b, gw, {**env_home, "OPENCLAW_GATEWAY_PORT": str(gw.port), "OPENCLAW_GATEWAY_TOKEN": TOKEN}
    gw.stop()


def _skip_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("openclaw: not using the Gateway at ")]


def test_cleanup_for_another_state_dir_runs_offline_there_and_leaves_the_gateways_alone(two_state_dirs,
                                                                                          run_openclaw):
    a, b, gw, env = two_state_dirs
    before_a = _tree(a)
    result = run_openclaw("sessions", "cleanup", "--enforce", env={**env, "OPENCLAW_STATE_DIR": str(b)})
    assert result.exit_code == 0, result
    # B was cleaned here, offline ...
    assert list(json.loads((b / "agents" / "main" / "sessions" / "sessions.json").read_text())) == ["agent:main:main"]
    assert f"Session store: {b}/agents/main/sessions/sessions.json" in result.stdout
    assert "(via Gateway" not in result.stdout
    # ... A's Gateway was told nothing and A is byte for byte as it was.
    assert _tree(a) == before_a
    assert "res sessions.cleanup" not in gw.log()
    lines = _skip_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    # Told apart before signing in: our Gateway holds its state dir's lock, B's is free. So A's
    # Gateway got neither B's token nor a device signature, and issued no device token.
    assert lines[0] == (f"openclaw: not using the Gateway at ws://127.0.0.1:{gw.port}: it is an openclaw-core "
                        f"Gateway of another state dir (none runs for {b}); not signing in to it")
    assert not (a / "devices").exists() and not (b / "identity").exists()
    assert " connect " not in gw.log() and "res connect" not in gw.log()


def test_agents_delete_for_another_state_dir_does_not_touch_the_gateways_config(two_state_dirs, run_openclaw):
    a, b, gw, env = two_state_dirs
    config_a = (a / "openclaw.json").read_bytes()
    result = run_openclaw("agents", "delete", "work", "--force", "--json", env={**env, "OPENCLAW_STATE_DIR": str(b)})
    assert result.exit_code == 0, result
    out = json.loads(result.stdout)
    assert "transport" not in out and out["agentId"] == "work"
    assert [x["id"] for x in json.loads((b / "openclaw.json").read_text())["agents"]["list"]] == ["main"]
    assert (a / "openclaw.json").read_bytes() == config_a
    assert (a / "agents" / "work" / "sessions").is_dir()
    assert "res agents.delete" not in gw.log()
    assert len(_skip_lines(result.stderr)) == 1, result.stderr


def test_the_gateway_of_the_same_state_dir_still_carries_it_and_the_text_says_so(two_state_dirs, run_openclaw,
                                                                                  tmp_path):
    a, _b, gw, env = two_state_dirs
    # Named through a symlink: the same real state dir, so the same Gateway.
    link = tmp_path / "A-link"
    link.symlink_to(a)
    result = run_openclaw("sessions", "cleanup", "--enforce", env={**env, "OPENCLAW_STATE_DIR": str(link)})
    assert result.exit_code == 0, result
    assert result.stdout.splitlines()[-1] == f"(via Gateway ws://127.0.0.1:{gw.port})"
    assert _skip_lines(result.stderr) == []
    assert "res sessions.cleanup ok" in gw.log()
    assert list(json.loads((a / "agents" / "main" / "sessions" / "sessions.json").read_text())) == ["agent:main:main"]
    deleted = run_openclaw("agents", "delete", "work", "--force", env={**env, "OPENCLAW_STATE_DIR": str(a)})
    assert deleted.exit_code == 0, deleted
    assert deleted.stdout.splitlines()[-2:] == ["Deleted agent: work", f"(via Gateway ws://127.0.0.1:{gw.port})"]
    assert "res agents.delete ok" in gw.log()


def test_another_config_path_is_another_gateways(two_state_dirs, run_openclaw):
    a, _b, gw, env = two_state_dirs
    other = a / "other.json"
    other.write_text((a / "openclaw.json").read_text())
    result = run_openclaw("sessions", "cleanup", "--enforce",
                          env={**env, "OPENCLAW_STATE_DIR": str(a), "OPENCLAW_CONFIG_PATH": str(other)})
    assert result.exit_code == 0, result
    assert "res sessions.cleanup" not in gw.log()
    [line] = _skip_lines(result.stderr)
    assert f"it uses config {a / 'openclaw.json'}, this command's is {other}" in line


def test_an_explicit_gateway_url_is_the_users_word(two_state_dirs, run_openclaw):
    a, b, gw, env = two_state_dirs
    result = run_openclaw("sessions", "cleanup", "--enforce",
                          env={**env, "OPENCLAW_STATE_DIR": str(b), "OPENCLAW_GATEWAY_URL": gw.url})
    assert result.exit_code == 0, result
    assert "res sessions.cleanup ok" in gw.log() and _skip_lines(result.stderr) == []
    assert result.stdout.splitlines()[-1] == f"(via Gateway {gw.url})"
    assert list(json.loads((a / "agents" / "main" / "sessions" / "sessions.json").read_text())) == ["agent:main:main"]
    assert STALE_KEY in json.loads((b / "agents" / "main" / "sessions" / "sessions.json").read_text())


def test_read_only_calls_are_not_checked(two_state_dirs, run_openclaw):
    _a, b, gw, env = two_state_dirs
    result = run_openclaw("gateway", "status", env={**env, "OPENCLAW_STATE_DIR": str(b)})
    assert result.exit_code == 0 and f"reachable at ws://127.0.0.1:{gw.port}" in result.stdout, result


def test_gateway_call_of_a_mutation_is_not_sent_to_another_state_dirs_gateway(two_state_dirs, run_openclaw):
    a, b, gw, env = two_state_dirs
    result = run_openclaw("gateway", "call", "sessions.patch", "--params", '{"key": "main", "label": "x"}',
                          env={**env, "OPENCLAW_STATE_DIR": str(b)})
    assert result.exit_code == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"openclaw: not using the Gateway at ws://127.0.0.1:{gw.port}")
    assert lines[1].startswith(f"no Gateway of state dir {b} is reachable (tried ws://127.0.0.1:{gw.port}")
    assert lines[1].endswith("sessions.patch was not sent")
    assert "res sessions.patch" not in gw.log()
    assert "label" not in json.loads((a / "agents" / "main" / "sessions" / "sessions.json").read_text())["agent:main:main"]


def test_with_two_gateways_each_state_dir_gets_its_own(two_state_dirs, run_openclaw):
    from conftest import _free_port

    a, b, gw_a, env = two_state_dirs
    gw_b = start_gateway(b, _free_port(), args=("--verbose",), extra_env={"HOME": env["HOME"],
                                                                          "XDG_DATA_HOME": env["XDG_DATA_HOME"]})
    try:
        before_a = _tree(a)
        # The configured port is A's; B's endpoint record says where B's Gateway is.
        result = run_openclaw("sessions", "cleanup", "--enforce", env={**env, "OPENCLAW_STATE_DIR": str(b)})
        assert result.exit_code == 0, result
        assert result.stdout.splitlines()[-1] == f"(via Gateway ws://127.0.0.1:{gw_b.port})"
        assert _skip_lines(result.stderr) == []
        deleted = run_openclaw("agents", "delete", "work", "--force", "--json",
                               env={**env, "OPENCLAW_STATE_DIR": str(b)})
        assert deleted.exit_code == 0 and json.loads(deleted.stdout)["transport"] == "gateway", deleted
    finally:
        gw_b.stop()
    assert "res sessions.cleanup ok" in gw_b.log() and "res agents.delete ok" in gw_b.log()
    assert "res sessions.cleanup" not in gw_a.log() and "res agents.delete" not in gw_a.log()
    assert _tree(a) == before_a
    assert list(json.loads((b / "agents" / "main" / "sessions" / "sessions.json").read_text())) == ["agent:main:main"]


def test_a_gateway_that_names_no_state_dir_gets_nothing_and_nothing_runs_offline(tmp_path, free_port):
    from test_gateway_transport import MisbehavingGateway, _request

    from openclaw_core.base.errors import GatewayError
    from oc import dispatch

    with MisbehavingGateway(free_port, "close") as fake:  # its hello-ok has no snapshot
        with pytest.raises(GatewayError) as info:
            dispatch(_request(tmp_path, OPENCLAW_GATEWAY_PORT=str(free_port), OPENCLAW_GATEWAY_TOKEN=TOKEN))
    assert fake.requests == []
    assert "does not say which state dir it serves" in info.value.message
    assert "not running offline beside it" in info.value.message



# A Gateway that serves this state dir but holds no state-dir lock: every openclaw-core
# Gateway started before the lock existed (0.1.0 too, the same Server header), still running
# after `pip install -U`. Simulated by a sitecustomize that turns the lock off in that process.
NO_LOCK_SITE = '''
from openclaw_core.engine.wire import instance
instance.InstanceLock.acquire = lambda self: None
'''


def test_a_gateway_of_this_state_dir_that_holds_no_lock_still_carries_the_mutation(tmp_path, free_port,
                                                                                     run_openclaw):
    """The unsigned skip must not call our own Gateway another state dir's: the probe's
    "lock free" says only that no *locking* Gateway runs; the hello-ok then decides."""
    a = tmp_path / "A"
    _seed(a)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_LOCK_SITE)
    env_home = {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    gw = start_gateway(a, free_port, args=("--verbose",), extra_env={**env_home, "PYTHONPATH": str(site)})
    try:
        env = {**env_home, "OPENCLAW_GATEWAY_PORT": str(gw.port), "OPENCLAW_GATEWAY_TOKEN": TOKEN,
               "OPENCLAW_STATE_DIR": str(a)}
        result = run_openclaw("sessions", "cleanup", "--enforce", env=env)
    finally:
        gw.stop()
    assert result.exit_code == 0, result
    assert _skip_lines(result.stderr) == [], result.stderr  # not "an openclaw-core Gateway of another state dir"
    assert result.stdout.splitlines()[-1] == f"(via Gateway ws://127.0.0.1:{gw.port})"
    assert "res sessions.cleanup ok" in gw.log()
