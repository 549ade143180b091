"""Edges found by a hostile review of the issue 13 / 18 work (real CLI
processes, real Gateways, real files): each test failed before its fix."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import DAY_MS, now_ms, write_store

SID = "11111111-1111-4111-8111-111111111111"


# --- a sessions dir shared by several stores: the stale prune's archive rename -------------

def _shared_dir_with_one_transcript(state_dir: Path) -> Path:
    """Stores a and b in one dir; a's stale entry and b's live one name the same transcript."""
    stores = state_dir / "stores"
    stores.mkdir()
    (state_dir / "openclaw.json").write_text(json.dumps({
        "session": {"store": "${OPENCLAW_STATE_DIR}/stores/{agentId}.json", "maintenance": {"pruneAfter": "30d"}},
        "agents": {"list": [{"id": "a", "default": True}, {"id": "b"}]}}))
    (stores / f"{SID}.jsonl").write_text('{"type":"session"}\n')
    (stores / f"{SID}.trajectory.jsonl").write_text('{"traceSchema":"openclaw-trajectory"}\n')
    write_store(stores / "a.json", {"agent:a:old": {"sessionId": SID, "updatedAt": now_ms() - 40 * DAY_MS},
                                    "agent:a:main": {"sessionId": "a2", "updatedAt": now_ms()}})
    write_store(stores / "b.json", {"agent:b:main": {"sessionId": SID, "sessionFile": f"{SID}.jsonl",
                                                     "updatedAt": now_ms()}})
    return stores


def test_the_stale_prune_does_not_archive_a_transcript_another_store_of_the_dir_references(state_dir, run_openclaw):
    """The reference renames b's live transcript to .deleted.<TS> and deletes its
    trajectory when a's stale entry names the same file (checked by hand on 2026.5.4)."""
    stores = _shared_dir_with_one_transcript(state_dir)
    result = run_openclaw("sessions", "cleanup", "--agent", "a", "--enforce", "--json")
    assert result.exit_code == 0, result
    assert result.json()["pruned"] == 1, result
    assert "agent:a:old" not in json.loads((stores / "a.json").read_text())
    assert (stores / f"{SID}.jsonl").read_text() == '{"type":"session"}\n'
    assert (stores / f"{SID}.trajectory.jsonl").exists()
    assert not list(stores.glob("*.deleted.*"))


def test_the_stale_prune_still_archives_a_transcript_no_other_store_references(state_dir, run_openclaw):
    stores = _shared_dir_with_one_transcript(state_dir)
    write_store(stores / "b.json", {"agent:b:main": {"sessionId": "b1", "updatedAt": now_ms()}})
    result = run_openclaw("sessions", "cleanup", "--agent", "a", "--enforce", "--json")
    assert result.exit_code == 0, result
    assert not (stores / f"{SID}.jsonl").exists() and not (stores / f"{SID}.trajectory.jsonl").exists()
    assert len(list(stores.glob(f"{SID}.jsonl.deleted.*"))) == 1


# --- special files in place of the small files every command reads ------------------------

def _stale_store(state_dir: Path) -> Path:
    store = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    write_store(store, {"agent:main:old": {"sessionId": "o1", "updatedAt": now_ms() - 40 * DAY_MS},
                        "agent:main:main": {"sessionId": "m1", "updatedAt": now_ms()}})
    return store


def test_a_fifo_as_openclaw_json_is_refused_at_once_and_nothing_is_touched(state_dir, run_openclaw):
    store = _stale_store(state_dir)
    before = store.read_bytes()
    os.mkfifo(state_dir / "openclaw.json")
    for args in (("sessions", "cleanup", "--enforce"), ("agents", "list"), ("agents", "delete", "work", "--force")):
        result = run_openclaw(*args, timeout=20)  # used to block in open() forever
        assert result.exit_code == 1, (args, result)
        assert f"read failed: {state_dir / 'openclaw.json'} is not a regular file" in result.stderr, (args, result)
    assert store.read_bytes() == before
    assert (state_dir / "openclaw.json").is_fifo()


def test_a_device_as_the_config_path_is_refused_not_read_forever(state_dir, run_openclaw):
    store = _stale_store(state_dir)
    before = store.read_bytes()
    result = run_openclaw("sessions", "cleanup", "--enforce", env={"OPENCLAW_CONFIG_PATH": "/dev/zero"}, timeout=20)
    assert result.exit_code == 1, result
    assert "read failed: /dev/zero is not a regular file" in result.stderr, result
    assert store.read_bytes() == before


def test_a_fifo_as_the_gateway_endpoint_record_does_not_hang_the_cli(state_dir, run_openclaw):
    """No Gateway runs: the record is unreadable, so it is ignored and the offline path runs."""
    store = _stale_store(state_dir)
    (state_dir / "gateway").mkdir()
    os.mkfifo(state_dir / "gateway" / "endpoint.json")
    result = run_openclaw("sessions", "cleanup", "--enforce", "--json", timeout=20)
    assert result.exit_code == 0, result
    assert result.json()["pruned"] == 1
    assert list(json.loads(store.read_text())) == ["agent:main:main"]


def test_a_fifo_as_the_device_identity_does_not_hang_a_command_a_gateway_carries(state_dir, run_openclaw, free_port):
    from gateway_support import TOKEN, start_gateway

    store = _stale_store(state_dir)
    (state_dir / "identity").mkdir()
    os.mkfifo(state_dir / "identity" / "device.json")
    gateway = start_gateway(state_dir, free_port)
    try:
        result = run_openclaw("sessions", "cleanup", "--enforce", "--json", timeout=30,
                              env={"OPENCLAW_GATEWAY_TOKEN": TOKEN, "OPENCLAW_GATEWAY_PORT": str(free_port)})
        assert result.exit_code == 0, (result, gateway.log())
        assert result.json()["pruned"] == 1, result
        assert list(json.loads(store.read_text())) == ["agent:main:main"]
    finally:
        assert gateway.stop() == 0, gateway.log()


def test_a_fifo_as_a_workspace_identity_md_does_not_hang_agents_list(state_dir, run_openclaw, tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    os.mkfifo(workspace / "IDENTITY.md")
    (state_dir / "openclaw.json").write_text(json.dumps(
        {"agents": {"list": [{"id": "main", "default": True, "workspace": str(workspace)}]}}))
    result = run_openclaw("agents", "list", "--json", timeout=20)
    assert result.exit_code == 0, result
    assert [a["id"] for a in result.json()] == ["main"]


def test_a_trajectory_pointer_swapped_for_a_fifo_after_the_listing_is_not_waited_on(tmp_path):
    """The sessions dir is listed once per run; a pointer that became a FIFO since
    (an outside program) is refused unread instead of blocking the cleanup."""
    import threading

    from openclaw_maintenance.transcripts import SessionFiles

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    pointer = sessions / "t1.trajectory-path.json"
    pointer.write_text(json.dumps({"traceSchema": "openclaw-trajectory-pointer", "schemaVersion": 1,
                                   "sessionId": "t1", "runtimeFile": str(tmp_path / "t1.jsonl")}))
    files = SessionFiles(str(sessions))
    assert files.is_regular_non_symlink(str(pointer))  # listed as a regular file
    pointer.unlink()
    os.mkfifo(pointer)
    done: list[list[str]] = []
    worker = threading.Thread(target=lambda: done.append(files.remove_trajectory_sidecars("t1", None)), daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the open() so the test process can end
        os.close(os.open(pointer, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        raise AssertionError("remove_trajectory_sidecars blocked on a FIFO")
    assert pointer.is_fifo()  # no regular sidecar any more: not ours to delete
    assert done and str(pointer) not in done[0]


# --- the Gateway's endpoint record: a pid reused by another process ------------------------

def test_a_record_whose_pid_now_belongs_to_a_later_process_is_stale(state_dir, run_openclaw, free_port):
    """kill -9 left a Gateway's record; its pid and port now belong to an unrelated
    program that started later (here an HTTP server). The record is not a Gateway's
    any more: ignored, so the offline path runs instead of refusing because
    "something listens" there."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    from gateway_support import start_gateway

    store = _stale_store(state_dir)
    gateway = start_gateway(state_dir, free_port, args=("--bind", "127.0.0.1"))
    gateway.stop(signal.SIGKILL)
    record_path = state_dir / "gateway" / "endpoint.json"
    record = json.loads(record_path.read_text())
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(free_port), "--bind", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", free_port)) == 0:
                    break
            assert time.monotonic() < deadline and server.poll() is None, "http.server did not listen"
            time.sleep(0.05)
        record["pid"] = server.pid  # what the kernel may do: the number goes to a new process
        record_path.write_text(json.dumps(record))
        result = run_openclaw("sessions", "cleanup", "--enforce", "--json", timeout=30)
        assert result.exit_code == 0, result  # was: "something listens at ... not running offline"
        assert result.json()["pruned"] == 1, result
        assert list(json.loads(store.read_text())) == ["agent:main:main"]
    finally:
        server.terminate()
        server.wait(10)


# --- one store: a removed entry's transcript that a surviving entry names --------------------

T_SID = "22222222-2222-4222-8222-222222222222"


def test_the_stale_prune_keeps_a_transcript_a_surviving_entry_names_by_session_file(store_path, run_openclaw):
    """The reference (checked by hand) renames it to .deleted.<TS>: the live session
    then has no transcript, and a later --fix-missing drops it."""
    sessions = store_path.parent
    (sessions / f"{SID}.jsonl").write_text('{"type":"session"}\n')
    write_store(store_path, {"agent:main:old": {"sessionId": SID, "updatedAt": now_ms() - 40 * DAY_MS},
                             "agent:main:main": {"sessionId": T_SID, "sessionFile": f"{SID}.jsonl",
                                                 "updatedAt": now_ms()}})
    result = run_openclaw("sessions", "cleanup", "--enforce", "--json")
    assert result.exit_code == 0, result
    assert result.json()["pruned"] == 1, result
    assert (sessions / f"{SID}.jsonl").exists() and not list(sessions.glob("*.deleted.*"))
    again = run_openclaw("sessions", "cleanup", "--enforce", "--fix-missing", "--json")
    assert again.exit_code == 0 and again.json()["missing"] == 0, again


def test_the_stale_prune_keeps_a_surviving_entrys_own_transcript_another_entry_named(store_path, run_openclaw):
    sessions = store_path.parent
    (sessions / f"{T_SID}.jsonl").write_text('{"type":"session"}\n')
    (sessions / f"{T_SID}.trajectory.jsonl").write_text('{"traceSchema":"openclaw-trajectory"}\n')
    write_store(store_path, {"agent:main:old": {"sessionId": SID, "sessionFile": f"{T_SID}.jsonl",
                                                "updatedAt": now_ms() - 40 * DAY_MS},
                             "agent:main:main": {"sessionId": T_SID, "updatedAt": now_ms()}})
    result = run_openclaw("sessions", "cleanup", "--enforce", "--json")
    assert result.exit_code == 0, result
    assert (sessions / f"{T_SID}.jsonl").exists() and (sessions / f"{T_SID}.trajectory.jsonl").exists()
    assert not list(sessions.glob("*.deleted.*"))
