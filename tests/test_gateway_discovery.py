"""The CLI finds the Gateway of its state dir wherever it listens (issue 18 item 5):
through the endpoint record a running Gateway keeps in ``<state>/gateway/``,
and by dialling what ``gateway.bind`` resolves to on both loopback families.
A record of a dead Gateway is ignored; an offline run creates no file."""

from __future__ import annotations

import json
import os
import signal
import socket

import pytest

from conftest import DAY_MS, now_ms, write_store
from gateway_support import TOKEN, start_gateway


def _can_bind(host: str) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family) as s:
            s.bind((host, 0))
    except OSError:
        return False
    return True


def _seed(state, config=None) -> None:
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(json.dumps({
        "session": {"maintenance": {"mode": "warn", "pruneAfter": "30d"}}, **(config or {})}))
    t = now_ms()
    write_store(state / "agents" / "main" / "sessions" / "sessions.json", {
        "agent:main:main": {"sessionId": "s-main", "updatedAt": t},
        "agent:main:telegram:direct:1": {"sessionId": "s-stale", "updatedAt": t - 40 * DAY_MS},
    })


def _files(root) -> set[str]:
    # The store lock may stay (the reference's tree comparison leaves *.lock out too).
    return {os.path.relpath(os.path.join(d, f), root) for d, _dirs, files in os.walk(root) for f in files
            if not f.endswith(".lock")}


@pytest.mark.parametrize("host", ["::1", "127.0.0.2"])
def test_a_gateway_on_another_loopback_address_is_found_through_its_record(tmp_path, free_port, run_openclaw, host):
    if not _can_bind(host):
        pytest.skip(f"cannot bind {host} here")
    state = tmp_path / "state"
    _seed(state)
    gw = start_gateway(state, free_port, args=("--bind", host, "--verbose"))
    try:
        record = json.loads((state / "gateway" / "endpoint.json").read_text())
        assert record["pid"] == gw.proc.pid and record["listen"] == [[host, gw.port]]
        # The CLI's own idea of the port is another one (conftest's unused port).
        env = {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_GATEWAY_TOKEN": TOKEN}
        result = run_openclaw("sessions", "cleanup", "--enforce", env=env)
        assert result.exit_code == 0, result
        shown = f"[{host}]" if ":" in host else host
        assert result.stdout.splitlines()[-1] == f"(via Gateway ws://{shown}:{gw.port})"
        assert "res sessions.cleanup ok" in gw.log()
    finally:
        assert gw.stop() == 0
    assert not (state / "gateway").exists()  # removed on exit


def test_without_a_record_the_cli_dials_what_gateway_bind_resolves_to(tmp_path, free_port, run_openclaw):
    if not _can_bind("127.0.0.2"):
        pytest.skip("cannot bind 127.0.0.2 here")
    state = tmp_path / "state"
    _seed(state, {"gateway": {"port": free_port, "bind": "custom", "customBindHost": "127.0.0.2"}})
    gw = start_gateway(state, free_port, args=("--verbose",))
    try:
        (state / "gateway" / "endpoint.json").unlink()
        env = {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_GATEWAY_TOKEN": TOKEN}
        env_port = {**env, "OPENCLAW_GATEWAY_PORT": ""}
        result = run_openclaw("sessions", "cleanup", "--enforce", env=env_port)
        assert result.exit_code == 0, result
        assert result.stdout.splitlines()[-1] == f"(via Gateway ws://127.0.0.2:{free_port})"
    finally:
        gw.stop()


def test_without_a_record_a_loopback_config_also_dials_ipv6(tmp_path, free_port, run_openclaw):
    if not _can_bind("::1"):
        pytest.skip("no IPv6 loopback here")
    state = tmp_path / "state"
    _seed(state, {"gateway": {"port": free_port},
                  "agents": {"list": [{"id": "main", "default": True}, {"id": "work"}]}})
    gw = start_gateway(state, free_port, args=("--bind", "::1", "--verbose"),
                       extra_env={"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "xdg")})
    try:
        (state / "gateway" / "endpoint.json").unlink()
        result = run_openclaw("agents", "delete", "work", "--force", "--json",
                              env={"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_GATEWAY_TOKEN": TOKEN,
                                   "OPENCLAW_GATEWAY_PORT": "", "HOME": str(tmp_path / "home"),
                                   "XDG_DATA_HOME": str(tmp_path / "xdg")})
        # The Gateway on ::1 did it, not an offline run beside it.
        assert result.exit_code == 0 and json.loads(result.stdout)["transport"] == "gateway", result
        assert "res agents.delete ok" in gw.log()
        cleanup = run_openclaw("sessions", "cleanup", "--enforce",
                               env={"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_GATEWAY_TOKEN": TOKEN,
                                    "OPENCLAW_GATEWAY_PORT": ""})
        assert cleanup.exit_code == 0 and cleanup.stdout.splitlines()[-1] == f"(via Gateway ws://[::1]:{free_port})"
    finally:
        gw.stop()


def test_a_dead_gateways_record_is_ignored_and_an_offline_run_creates_no_file(tmp_path, free_port, run_openclaw):
    from openclaw_core.engine.wire import endpoint

    state = tmp_path / "state"
    _seed(state)
    gw = start_gateway(state, free_port)
    gw.stop(signal.SIGKILL)
    record = state / "gateway" / "endpoint.json"
    assert record.exists()  # kill -9 leaves it ...
    assert endpoint.read_record(state) is None  # ... and nobody trusts it
    before = _files(state)
    result = run_openclaw("sessions", "cleanup", "--enforce", env={"OPENCLAW_STATE_DIR": str(state)})
    assert result.exit_code == 0, result
    assert "(via Gateway" not in result.stdout
    assert list(json.loads((state / "agents" / "main" / "sessions" / "sessions.json").read_text())) == \
        ["agent:main:main"]
    assert _files(state) == before  # no identity, no record: nothing but the store changed

    fresh = tmp_path / "fresh"
    _seed(fresh)
    before = _files(fresh)
    assert run_openclaw("sessions", "cleanup", "--enforce", env={"OPENCLAW_STATE_DIR": str(fresh)}).exit_code == 0
    assert _files(fresh) == before


def test_record_is_written_atomically_and_validated(tmp_path):
    from openclaw_core.engine.wire import endpoint

    path = endpoint.write_record(tmp_path, [("127.0.0.1", 4242), ("::1", 4242)], tmp_path / "openclaw.toml")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == ["endpoint.json"]  # no temp file left
    record = endpoint.read_record(tmp_path)
    assert record["pid"] == os.getpid() and record["listen"] == [("127.0.0.1", 4242), ("::1", 4242)]
    path.write_text("{not json")
    assert endpoint.read_record(tmp_path) is None
    path.write_text(json.dumps({"pid": os.getpid(), "listen": [["127.0.0.1", "x"]]}))
    assert endpoint.read_record(tmp_path) is None
    # Another live process's record is not removed by us.
    path.write_text(json.dumps({"pid": 1, "listen": [["127.0.0.1", 4242]]}))
    endpoint.remove_record(tmp_path)
    assert path.exists()


def test_a_second_gateway_of_a_state_dir_is_refused_and_the_first_keeps_its_record(tmp_path, free_port, run_openclaw):
    """One writer per store: a second ``gateway run`` on a state dir a Gateway
    already serves exits 1 with one line naming it, before it binds, and the
    endpoint record still leads clients to the first (OpenClaw 2026.5.4 starts
    the second and its record is the last one's: docs/differences.md)."""
    from ports import free_port as another_port

    state = tmp_path / "state"
    _seed(state)
    first = start_gateway(state, free_port)
    record = (state / "gateway" / "endpoint.json").read_bytes()
    second_port = another_port()
    try:
        env = {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_GATEWAY_TOKEN": TOKEN}
        second = run_openclaw("gateway", "run", "--port", str(second_port), env=env, timeout=30)
        assert second.exit_code == 1, second
        assert second.stdout == ""
        line, = second.stderr.strip().splitlines()
        assert "already running" in line and f"pid {first.proc.pid}" in line and f"127.0.0.1:{free_port}" in line
        assert _can_bind("127.0.0.1") and _port_free(second_port)  # it never bound
        assert (state / "gateway" / "endpoint.json").read_bytes() == record
        result = run_openclaw("sessions", "cleanup", "--enforce", env=env)
        assert result.exit_code == 0 and result.stdout.splitlines()[-1] == f"(via Gateway ws://127.0.0.1:{free_port})"
    finally:
        assert first.stop() == 0
    # Stopped, or killed: the lock goes with the process, so the next one starts.
    again = start_gateway(state, second_port)
    again.stop(signal.SIGKILL)
    start_gateway(state, free_port).stop()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_a_clients_probe_of_the_state_dir_lock_does_not_refuse_a_starting_gateway(tmp_path):
    """A CLI probes the lock (gateway_serves: a shared flock for microseconds); a
    Gateway starting at that moment waits out the probe instead of calling it a
    running Gateway. A holder that stays is a running Gateway."""
    import fcntl
    import threading

    from openclaw_core.engine.wire.instance import GatewayAlreadyRunning, InstanceLock, gateway_serves

    state = tmp_path / "state"
    state.mkdir()
    assert gateway_serves(state) is False and gateway_serves(tmp_path / "none") is False
    probe = os.open(state, os.O_RDONLY)
    fcntl.flock(probe, fcntl.LOCK_SH)
    threading.Timer(0.1, os.close, (probe,)).start()  # a slow probe: 0.1 s
    lock = InstanceLock(state)
    lock.acquire()
    try:
        assert gateway_serves(state) is True
        with pytest.raises(GatewayAlreadyRunning):
            InstanceLock(state).acquire()
    finally:
        lock.release()
    assert gateway_serves(state) is False
