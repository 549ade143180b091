"""Ctrl-C and SIGTERM never commit behind "Cancelled" (issue 13, item 2), and a
commit that fails logs no success line (item 6). Real subprocesses, real
signals, a real third-party plugin holding the commit at a chosen stage."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from cancel_support import big_store, gate_env, install_gate, release, tree, wait_reached
from conftest import OPENCLAW

from openclaw_core.base.cancel import CANCELLED_MESSAGE, FINISHING_MESSAGE


def start(args, env_extra):
    env = dict(os.environ)
    env.update(env_extra)
    return subprocess.Popen([OPENCLAW, *args], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def without_locks(snapshot):
    # The store's lock file is the backend's own (taken before the load), not data.
    return {k: v for k, v in snapshot.items() if not k.endswith(".lock")}


@pytest.fixture
def sessions(store_path):
    return store_path.parent


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_before_the_commit_changes_nothing(tmp_path, state_dir, sessions, sig, code):
    install_gate(tmp_path)
    before_bytes = big_store(sessions)
    before = tree(state_dir / "agents")
    proc = start(["sessions", "cleanup", "--enforce"], gate_env(tmp_path))
    # Held after prune, cap and archive-transcripts planned their work, before the write.
    assert wait_reached(tmp_path, proc) == "policy"
    proc.send_signal(sig)
    release(tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, (out, err)
    assert err.strip().splitlines()[-1] == CANCELLED_MESSAGE
    assert "[sessions/store]" not in out + err and "Applied maintenance" not in out
    assert (sessions / "sessions.json").read_bytes() == before_bytes
    assert without_locks(tree(state_dir / "agents")) == before  # no transcript renamed, no archive purged


def test_a_dry_run_stops_at_ctrl_c(tmp_path, state_dir, sessions):
    install_gate(tmp_path)
    big_store(sessions, 2_000)
    proc = start(["sessions", "cleanup", "--dry-run"], gate_env(tmp_path, "dry-run"))
    assert wait_reached(tmp_path, proc) == "dry-run"
    proc.send_signal(signal.SIGINT)
    release(tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert out == "" and err.strip() == CANCELLED_MESSAGE


def test_a_signal_after_the_write_started_lets_it_complete(tmp_path, state_dir, sessions):
    install_gate(tmp_path)
    before_bytes = big_store(sessions)
    proc = start(["sessions", "cleanup", "--enforce"], gate_env(tmp_path, "committed"))
    assert wait_reached(tmp_path, proc) == "committed"
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)  # a second Ctrl-C does not interrupt it either
    release(tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (out, err)
    assert FINISHING_MESSAGE in err and CANCELLED_MESSAGE not in err
    assert out.splitlines()[-1] == "Applied maintenance. Current entries: 500"
    assert "[sessions/store] pruned stale session entries" in out
    after = (sessions / "sessions.json").read_bytes()
    assert after != before_bytes and len(json.loads(after)) == 500
    names = os.listdir(sessions)
    assert "s1.jsonl" not in names and any(n.startswith("s1.jsonl.deleted.") for n in names)
    assert "s1.trajectory.jsonl" not in names
    assert "old.jsonl.deleted.2020-01-01T00-00-00.000Z" not in names


def test_a_raising_policy_logs_no_success_and_moves_no_file(tmp_path, state_dir, sessions):
    install_gate(tmp_path)
    before_bytes = big_store(sessions, 2_000)
    before = tree(state_dir / "agents")
    proc = start(["sessions", "cleanup", "--enforce"], gate_env(tmp_path, "raise"))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    assert 'maintenance policy "test-gate" of plugin "test-gate" failed: RuntimeError: the gate refuses' in err
    assert "[sessions/store]" not in out + err
    assert (sessions / "sessions.json").read_bytes() == before_bytes
    assert without_locks(tree(state_dir / "agents")) == before


def test_a_failed_write_logs_no_success_line(tmp_path, state_dir, sessions):
    """A real write failure: the file size limit (root ignores permissions, not RLIMIT_FSIZE)."""
    import resource

    before_bytes = big_store(sessions, 2_000, transcripts=0)

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    env = dict(os.environ)
    proc = subprocess.run([OPENCLAW, "sessions", "cleanup", "--enforce"], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, preexec_fn=small_files, timeout=120)
    assert proc.returncode == 1, proc
    assert proc.stderr.strip() == "Error: File too large"
    assert "[sessions/store]" not in proc.stdout + proc.stderr and "Applied" not in proc.stdout
    assert (sessions / "sessions.json").read_bytes() == before_bytes
    assert not [n for n in os.listdir(sessions) if n.endswith(".tmp")]


# --- agents delete ------------------------------------------------------------------------------

def agents_state(state_dir, sessions_count: int = 3_000):
    from conftest import write_store

    home = os.environ["HOME"]
    os.makedirs(os.path.join(home, "ws-work"))
    (state_dir / "agents" / "work" / "agent").mkdir(parents=True)
    (state_dir / "openclaw.json").write_text(json.dumps({"agents": {"list": [
        {"id": "main", "default": True}, {"id": "work", "workspace": "~/ws-work"}]}}, indent=2) + "\n")
    from conftest import now_ms
    entries = {f"agent:work:telegram:direct:{i}": {"sessionId": f"w{i}", "updatedAt": now_ms()}
               for i in range(sessions_count)}
    write_store(state_dir / "agents" / "work" / "sessions" / "sessions.json", entries)


def catches_sigterm(pid: int) -> bool:
    """Python catches SIGINT from the start; SIGTERM only while the command's handlers are installed."""
    with open(f"/proc/{pid}/status") as status:
        caught = next(line for line in status if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def test_agents_delete_cancelled_while_waiting_for_the_config_changes_nothing(tmp_path, state_dir):
    import time

    import filelock

    agents_state(state_dir)
    before = tree(state_dir / "agents")
    config_before = (state_dir / "openclaw.json").read_bytes()
    lock_path = state_dir / "openclaw.json.lock"
    with filelock.FileLock(str(lock_path)):  # another process is editing the config
        proc = start(["agents", "delete", "work", "--force"], {})
        deadline = time.monotonic() + 60
        while not catches_sigterm(proc.pid):  # past the prompt, waiting for the config's lock
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == CANCELLED_MESSAGE and "Deleted agent" not in out
    assert (state_dir / "openclaw.json").read_bytes() == config_before
    assert without_locks(tree(state_dir / "agents")) == before
    assert os.path.isdir(os.path.join(os.environ["HOME"], "ws-work"))


def test_agents_delete_interrupted_after_the_config_write_completes(tmp_path, state_dir):
    install_gate(tmp_path)
    agents_state(state_dir)
    proc = start(["agents", "delete", "work", "--force"], gate_env(tmp_path, "committed"))
    assert wait_reached(tmp_path, proc) == "committed"  # config rewritten, the purge just durable
    proc.send_signal(signal.SIGINT)
    release(tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out, err)
    assert FINISHING_MESSAGE in err
    assert out.splitlines()[-1] == "Deleted agent: work"
    assert "work" not in (state_dir / "openclaw.json").read_text()
    # The trash ran too (workspace, agent dir, sessions dir with the purged store): nothing half-deleted.
    assert not os.path.exists(os.path.join(os.environ["HOME"], "ws-work"))
    assert not (state_dir / "agents" / "work" / "agent").exists()
    assert not (state_dir / "agents" / "work" / "sessions").exists()
    trashed = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files" / "sessions" / "sessions.json"
    assert json.loads(trashed.read_text()) == {}


# --- the Gateway ----------------------------------------------------------------------------------

def test_gateway_cleanup_whose_client_disconnects_before_the_commit_changes_nothing(tmp_path, state_dir, sessions,
                                                                                    free_port):
    from gateway_support import handshake, request, start_gateway

    install_gate(tmp_path)
    before_bytes = big_store(sessions)
    before = tree(state_dir / "agents")
    gw = start_gateway(state_dir, free_port, args=("--verbose",), extra_env=gate_env(tmp_path))
    try:
        ws, hello = handshake(free_port)
        assert hello["ok"], hello
        ws.send(json.dumps({"type": "req", "id": "c1", "method": "sessions.cleanup", "params": {"enforce": True}}))
        assert wait_reached(tmp_path, gw.proc) == "policy"
        ws.close()  # the client goes away mid-cleanup
        import time
        deadline = time.monotonic() + 30
        while "sessions.cleanup cancelled" not in gw.log():
            assert time.monotonic() < deadline, gw.log()
            time.sleep(0.02)
        release(tmp_path)
        while "res sessions.cleanup error" not in gw.log():  # the cancelled job has ended
            assert time.monotonic() < deadline, gw.log()
            time.sleep(0.02)
        assert f"res sessions.cleanup error INVALID_REQUEST: {CANCELLED_MESSAGE}" in gw.log()
        assert (sessions / "sessions.json").read_bytes() == before_bytes
        assert without_locks(tree(state_dir / "agents")) == before
        # The next request is served by the same writer, which was not wedged.
        ws2, _ = handshake(free_port)
        reply = request(ws2, "sessions.cleanup", {"enforce": True}, timeout=120)
        ws2.close()
    finally:
        gw.stop()
    assert reply["ok"], reply
    assert reply["payload"]["appliedCount"] == 500
    assert len(json.loads((sessions / "sessions.json").read_bytes())) == 500
    assert not (sessions / "s1.jsonl").exists()


def test_ctrl_c_of_a_cli_whose_cleanup_runs_on_the_gateway(tmp_path, state_dir, sessions, free_port):
    """The CLI cannot know whether the Gateway's write had started, so it does not
    claim that nothing changed; its disconnect cancels the Gateway's job (it had not)."""
    import time

    from gateway_support import TOKEN, handshake, request, start_gateway

    from openclaw_core.base.cancel import GATEWAY_CANCELLED_MESSAGE

    install_gate(tmp_path)
    before_bytes = big_store(sessions, 5_000)
    before = tree(state_dir / "agents")
    gw = start_gateway(state_dir, free_port, args=("--verbose",), extra_env=gate_env(tmp_path))
    try:
        proc = start(["sessions", "cleanup", "--enforce"],
                     {"OPENCLAW_GATEWAY_PORT": str(free_port), "OPENCLAW_GATEWAY_TOKEN": TOKEN})
        assert wait_reached(tmp_path, gw.proc) == "policy"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (out, err)
        assert err.strip().splitlines()[-1] == GATEWAY_CANCELLED_MESSAGE
        release(tmp_path)
        deadline = time.monotonic() + 30
        while "res sessions.cleanup error" not in gw.log():
            assert time.monotonic() < deadline, gw.log()
            time.sleep(0.02)
        assert "sessions.cleanup cancelled: its client disconnected" in gw.log()
        assert (sessions / "sessions.json").read_bytes() == before_bytes
        assert without_locks(tree(state_dir / "agents")) == before
        ws, _ = handshake(free_port)
        assert request(ws, "health", {})["ok"]
        ws.close()
    finally:
        gw.stop()


def test_gateway_agents_delete_whose_client_disconnects_before_the_config_write(tmp_path, state_dir, free_port):
    import time

    import filelock
    from gateway_support import handshake, request, start_gateway

    agents_state(state_dir, 10)
    config_before = (state_dir / "openclaw.json").read_bytes()
    before = tree(state_dir / "agents")
    gw = start_gateway(state_dir, free_port, args=("--verbose",))
    try:
        with filelock.FileLock(str(state_dir / "openclaw.json.lock")):  # another edit is under way
            ws, _ = handshake(free_port)
            ws.send(json.dumps({"type": "req", "id": "d1", "method": "agents.delete",
                                "params": {"agentId": "work"}}))
            time.sleep(0.5)  # the job waits for the config's lock (60 s at most)
            ws.close()
            deadline = time.monotonic() + 30
            while "res agents.delete error" not in gw.log():
                assert time.monotonic() < deadline, gw.log()
                time.sleep(0.02)
        assert "agents.delete cancelled: its client disconnected" in gw.log()
        assert f"res agents.delete error INVALID_REQUEST: {CANCELLED_MESSAGE}" in gw.log()
        assert (state_dir / "openclaw.json").read_bytes() == config_before
        assert without_locks(tree(state_dir / "agents")) == before
        ws2, _ = handshake(free_port)
        assert request(ws2, "agents.list", {})["ok"]
        ws2.close()
    finally:
        gw.stop()
