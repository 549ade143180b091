"""A process killed while it builds a store's SQLite database (``store migrate``,
or the first write of a new store) leaves its temp database behind: the next
process that opens the store removes it, but only temps of our own name form
whose creator is dead, never a live creator's nor any other file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from conftest import OPENCLAW, write_store
from gateway_support import gateway_env

# create_database in a process of its own, held just before it links the finished
# temp into place (where a SIGKILL leaves the most behind), telling us the temp's name.
CREATOR = textwrap.dedent("""
    import os, sys, time
    from openclaw_store_sqlite import schema

    def held(source, target):
        with open(sys.argv[2] + ".part", "w") as f:
            f.write(source)
        os.replace(sys.argv[2] + ".part", sys.argv[2])
        time.sleep(120)

    schema.os.link = held
    schema.create_database(sys.argv[1])
""")


def _killed_creator(db: Path, tmp_path: Path) -> Path:
    told = tmp_path / "temp-name"
    proc = subprocess.Popen([sys.executable, "-c", CREATOR, str(db), str(told)])
    try:
        deadline = time.monotonic() + 60
        while not told.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the creator never got to its link"
            time.sleep(0.02)
        temp = Path(told.read_text())
        assert temp.is_file() and temp.name.startswith(db.name + f".{proc.pid}.")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return temp


def test_a_killed_creators_temp_database_is_swept_and_nothing_else(tmp_path):
    state = tmp_path / "state"
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    write_store(store, {"agent:main:main": {"sessionId": "s1", "updatedAt": 1}})
    (state / "openclaw.json").write_text(json.dumps({"session": {}}))
    db = store.with_suffix(".sqlite")
    dead = _killed_creator(db, tmp_path)
    assert dead.exists() and not db.exists()
    # What must stay: a live creator's temp (this process), an old uuid-only temp,
    # and files that only look alike.
    live = Path(f"{db}.{os.getpid()}.{uuid.uuid4()}.tmp")
    live.write_bytes(b"building")
    kept = [live, Path(f"{db}.{uuid.uuid4()}.tmp"), Path(f"{db}.backup.tmp"), Path(f"{db}.12.not-a-uuid.tmp")]
    for path in kept[1:]:
        path.write_bytes(b"mine")
    side = Path(f"{dead}-wal")
    side.write_bytes(b"wal of the dead")  # as SQLite leaves one beside an open temp

    proc = subprocess.run([OPENCLAW, "store", "migrate", "--to", "sqlite"], env=gateway_env(state, token=None),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not dead.exists() and not side.exists()
    assert all(path.exists() for path in kept)
    assert db.is_file()


def test_an_existing_database_sweeps_on_open(tmp_path):
    state = tmp_path / "state"
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    write_store(store, {"agent:main:main": {"sessionId": "s1", "updatedAt": 1}})
    (state / "openclaw.json").write_text(json.dumps({"session": {}}))
    env = gateway_env(state, token=None)
    subprocess.run([OPENCLAW, "store", "migrate", "--to", "sqlite"], env=env, check=True, capture_output=True,
                   timeout=120)
    (state / "openclaw.json").write_text(json.dumps({"session": {"backend": "sqlite"}}))
    dead = _killed_creator(store.with_suffix(".sqlite"), tmp_path)
    listed = subprocess.run([OPENCLAW, "sessions", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert [row["key"] for row in json.loads(listed.stdout)["sessions"]] == ["agent:main:main"]
    assert not dead.exists()
