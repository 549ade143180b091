"""The SQLite store under faults: a writer killed with SIGKILL in the middle of
its transactions (every acknowledged mutation is there, the database opens and
passes SQLite's integrity check), and an offline writer racing a Gateway with 8
clients plus offline cleanups on one database (no lost update)."""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import test_crash
from conftest import OPENCLAW
from fault_support import base_key, free_port, make_state
from gateway_support import gateway_env, start_gateway
from test_races import CLIENTS, KEYS_PER_CLIENT, RACE_MAINTENANCE, Patcher

SEEDS = list(range(2000, 2030))  # 30 kills; fixed so a failure can be replayed


def sqlite_state(tmp_path: Path, maintenance=None) -> Path:
    """The fault suites' 1,000-entry store, moved into SQLite with ``store migrate``."""
    store = make_state(tmp_path, **({"maintenance": maintenance} if maintenance else {}))
    state = store.parents[3]
    config_path = state / "openclaw.json"
    config = json.loads(config_path.read_text())
    env = gateway_env(state, token=None)
    proc = subprocess.run([OPENCLAW, "store", "migrate", "--to", "sqlite"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    config["session"]["backend"] = "sqlite"
    config_path.write_text(json.dumps(config))
    assert not store.exists() and store.with_suffix(".sqlite").is_file()
    return store


def read_sqlite_store(store: Path) -> dict:
    """The store's entries, read by a process of its own through the backend."""
    code = ("import sys; from openclaw_core.app import hooks, load_config; "
            "from openclaw_core.engine.store.backend import open_backend; "
            "b = open_backend(sys.argv[1], load_config(), hooks()); sys.stdout.buffer.write(b.export_bytes())")
    out = subprocess.run([sys.executable, "-c", code, str(store)], env=gateway_env(store.parents[3], token=None),
                         capture_output=True, check=True, timeout=120)
    return json.loads(out.stdout)


def integrity(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.slow
def test_sigkill_mid_transaction_loses_no_acknowledged_mutation(tmp_path, monkeypatch):
    store = sqlite_state(tmp_path)
    db = store.with_suffix(".sqlite")
    monkeypatch.setattr(test_crash, "strict_load", read_sqlite_store)
    acked = 0
    for index, seed in enumerate(SEEDS):
        rng = random.Random(seed)
        first_seq = index * test_crash.SEQ_STRIDE
        proc, run, reader = test_crash.spawn(store, first_seq)
        try:
            assert run.ready.wait(30), f"worker never became ready: {proc.stderr.read().decode()[-2000:]}"
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            reader.join(10)
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, f"worker ended on its own: {proc.returncode}"
        assert integrity(db) == "ok"
        test_crash.check_after_kill(store, run, first_seq)
        acked += len(run.acked())
    print(f"\nsqlite crash loop: {len(SEEDS)} kills, {acked} acknowledged mutations")
    assert acked >= 1000  # the kills landed among many commits


EDITOR = textwrap.dedent("""
    import sys, time
    from openclaw_core import update_session_store
    path, edits, marks = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    for n in range(1, edits + 1):
        def edit(s, n=n):
            s[f"agent:main:editor:{n}"] = {"sessionId": f"e{n}", "updatedAt": int(time.time() * 1000)}
            s[marks[n % len(marks)]]["editorMark"] = n
        update_session_store(path, edit, skip_maintenance=True)
        print("edit", n, flush=True)
        time.sleep(0.01)
""")


@pytest.mark.slow
def test_an_offline_writer_racing_a_gateway_loses_no_update(tmp_path):
    store = sqlite_state(tmp_path, maintenance=RACE_MAINTENANCE)
    state_dir = store.parents[3]
    gateway = start_gateway(state_dir, free_port())
    stop = threading.Event()
    patchers = [Patcher(gateway.port, c, stop) for c in range(CLIENTS)]
    mark_keys = [base_key(i) for i in range(CLIENTS * KEYS_PER_CLIENT)]
    edits_wanted = 80
    cleanups: list[subprocess.CompletedProcess] = []
    try:
        for thread in patchers:
            thread.start()
        env = gateway_env(state_dir, token=None)
        editor = subprocess.Popen([sys.executable, "-c", EDITOR, str(store), str(edits_wanted), *mark_keys],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def cleanup_loop() -> None:
            while editor.poll() is None:
                cleanups.append(subprocess.run(
                    [OPENCLAW, "sessions", "cleanup", "--store", str(store), "--enforce", "--json"],
                    env=env, capture_output=True, text=True, timeout=120))

        cleaner = threading.Thread(target=cleanup_loop, daemon=True)
        cleaner.start()
        out, err = editor.communicate(timeout=180)
        cleaner.join(180)
        stop.set()
        for thread in patchers:
            thread.join(90)
    finally:
        stop.set()
        gateway.stop()
    assert editor.returncode == 0, err
    edits = [int(line.split()[1]) for line in out.splitlines()]
    assert edits == list(range(1, edits_wanted + 1))
    for patcher in patchers:
        assert patcher.failure is None, patcher.failure
        assert not patcher.errors, patcher.errors
    for run in cleanups:
        assert run.returncode == 0, run.stderr
    entries = read_sqlite_store(store)
    for patcher in patchers:
        for key, seq in patcher.acked.items():
            value = entries[key].get("execNode", "0:0")
            assert int(value.split(":")[1]) >= seq, f"{key}: acknowledged patch {seq} lost (store: {value})"
    for n in edits:
        assert f"agent:main:editor:{n}" in entries, f"offline edit {n} lost"
    for i, key in enumerate(mark_keys):
        last = max(n for n in edits if n % len(mark_keys) == i)
        assert entries[key].get("editorMark") == last, f"{key}: offline edit {last} (editorMark) lost"
    patches = sum(p.count for p in patchers)
    print(f"\nsqlite race: {patches} patches, {len(edits)} offline edits, {len(cleanups)} cleanups")
    assert patches >= 50 and len(cleanups) >= 2
