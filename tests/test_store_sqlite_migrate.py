"""``openclaw store migrate`` to and from SQLite: file -> sqlite -> file byte for
byte on the recorded stores, sqlite <-> postgres, one agent or all, a failing
or killed migration leaves the source in service, progress on a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time

import pytest
from backends import postgres_config, sqlite_config, write_config
from conftest import CASES, OPENCLAW, build_case, now_ms, requires_reference_cases, write_store

from openclaw_core.engine.store.state import StoreState


def export(path, backend: str) -> bytes | None:
    """What the ``backend`` store holds for ``path``, read with a config that selects it."""
    from openclaw_core.adapters.cli.store_cmd import config_for_backend
    from oc import load_config
    from oc import open_backend

    store = open_backend(path, config_for_backend(load_config(), backend))
    try:
        state = store.load()
        return state.text() if state.exists else None
    finally:
        store.close()


@requires_reference_cases
@pytest.mark.parametrize("case", ["01-stale-prune", "02-max-entries-cap", "03-synthetic-keys", "04-fix-missing",
                                  "05-disk-budget", "06-active-key", "09-all-agents", "10-store-rewrite"])
def test_reference_stores_go_to_sqlite_and_come_back_byte_identical(tmp_path, monkeypatch, cli, case):
    state = tmp_path / "state"
    build_case(CASES / case, state)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    stores = sorted(state.glob("agents/*/sessions/sessions.json"))
    assert stores
    originals = {store: store.read_bytes() for store in stores}
    canonical = {store: StoreState.parse(raw, source=str(store)).text() for store, raw in originals.items()}

    result = cli("store", "migrate", "--to", "sqlite", "--all-agents", "--json")
    assert result.exit_code == 0, result
    moved = {row["storePath"]: row for row in result.json()["stores"]}
    assert moved
    for store in stores:
        if str(store) not in moved:  # a store of an agent the config does not list
            continue
        assert not store.exists() and store.with_suffix(".sqlite").is_file()
        assert (store.parent / "sessions.json.migrated").read_bytes() == originals[store]
        assert export(store, "sqlite") == canonical[store]

    result = cli("store", "migrate", "--from", "sqlite", "--to", "file", "--all-agents", "--json")
    assert result.exit_code == 0, result
    for store in stores:
        if str(store) in moved:
            assert store.read_bytes() == canonical[store]
            assert export(store, "sqlite") is None  # retired: its rows are gone


def test_one_agent_moves_alone_and_sqlite_to_postgres_and_back_is_byte_identical(state_dir, cli, pg_store_config):
    agents = {"agents": {"list": [{"id": "main"}, {"id": "work"}]}}
    write_config(state_dir, postgres_config(pg_store_config, {"backend": "file"}) | agents)
    main = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    work = state_dir / "agents" / "work" / "sessions" / "sessions.json"
    write_store(main, {"agent:main:main": {"sessionId": "m", "updatedAt": now_ms()}})
    original = write_store(work, {"agent:work:main": {"sessionId": "w", "updatedAt": now_ms(), "label": "ü \u2028"},
                                  "7": {"sessionId": "x", "updatedAt": now_ms(), "n": 1e21}})

    result = cli("store", "migrate", "--to", "sqlite", "--agent", "work")
    assert result.exit_code == 0, result
    assert f"{work}: moved 2 entries" in result.stdout
    assert main.exists() and not work.exists()  # --agent work left main alone
    assert export(work, "sqlite") == original

    result = cli("store", "migrate", "--from", "sqlite", "--to", "postgres", "--agent", "work", "--json")
    assert result.exit_code == 0, result
    assert export(work, "postgres") == original and export(work, "sqlite") is None
    result = cli("store", "migrate", "--from", "postgres", "--to", "sqlite", "--agent", "work")
    assert result.exit_code == 0, result
    assert export(work, "sqlite") == original and export(work, "postgres") is None

    # in service on sqlite: a patch, then back to the file store
    write_config(state_dir, postgres_config(pg_store_config, {"backend": "sqlite"}) | agents)
    from openclaw_core import update_session_store_entry

    update_session_store_entry(work, "agent:work:main", lambda e: {"thinkingLevel": "high"})
    on_sqlite = export(work, "sqlite")
    result = cli("store", "migrate", "--to", "file", "--agent", "work")
    assert result.exit_code == 0, result
    assert work.read_bytes() == on_sqlite
    assert json.loads(work.read_text())["agent:work:main"]["thinkingLevel"] == "high"


def test_a_migration_that_fails_at_the_destination_leaves_the_source_in_service(state_dir, cli):
    write_config(state_dir, sqlite_config({"backend": "file"}))
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    original = write_store(path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    foreign = path.with_suffix(".sqlite")
    foreign.write_bytes(b"not a database, but somebody's file\n")
    result = cli("store", "migrate", "--to", "sqlite")
    assert result.exit_code == 1
    assert result.stderr == (f"session store {foreign} is unreadable: not an SQLite database; "
                             f"refusing to touch it\n")
    assert path.read_bytes() == original and not path.with_name("sessions.json.migrated").exists()
    assert foreign.read_bytes() == b"not a database, but somebody's file\n"


def big_store(path, n: int) -> bytes:
    entries = {f"agent:main:k{i:06d}": {"sessionId": f"s{i}", "updatedAt": now_ms() - i, "pad": "x" * 400}
               for i in range(n)}
    return write_store(path, entries)


@pytest.mark.slow
def test_a_migration_killed_at_any_moment_leaves_one_store_in_service(state_dir):
    write_config(state_dir, sqlite_config({"backend": "file"}))
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    original = big_store(path, 20_000)
    env = dict(os.environ, OPENCLAW_STATE_DIR=str(state_dir))
    outcomes = set()
    for delay in (0.2, 0.6, 1.0, 1.5, 2.5):
        proc = subprocess.Popen([OPENCLAW, "store", "migrate", "--to", "sqlite"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        if path.exists():  # not retired: the file is still the store, untouched
            assert path.read_bytes() == original
            outcomes.add("source kept")
        else:  # retired only after the copy was compared: the copy is the whole store
            assert export(path, "sqlite") == original
            outcomes.add("moved")
            os.replace(path.with_name("sessions.json.migrated"), path)
    assert "source kept" in outcomes, outcomes


def test_big_stores_report_progress_on_a_terminal_only(state_dir):
    write_config(state_dir, sqlite_config({"backend": "file"}))
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    original = big_store(path, 3000)  # > 1 MB
    assert len(original) > 1 << 20
    env = dict(os.environ, OPENCLAW_STATE_DIR=str(state_dir))
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([OPENCLAW, "store", "migrate", "--to", "sqlite"], env=env, stdout=subprocess.PIPE,
                              stderr=follower, timeout=120)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert proc.returncode == 0
    lines = b"".join(chunks).decode().splitlines()
    assert lines == [f"{path}: read 3000 entries ({len(original)} bytes) from file; writing them to sqlite",
                     f"{path}: reading the sqlite copy back to compare",
                     f"{path}: identical; retiring the file copy"]
    os.replace(path.with_name("sessions.json.migrated"), path)
    proc = subprocess.run([OPENCLAW, "store", "migrate", "--to", "sqlite", "--force"], env=env,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == b""  # not a terminal: quiet
    assert export(path, "sqlite") == original


def test_no_migrate_progress_on_a_terminal_with_json_or_quiet(state_dir):
    write_config(state_dir, sqlite_config({"backend": "file"}))
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    original = big_store(path, 3000)  # > 1 MB: a terminal without the flags would hear each step
    env = dict(os.environ, OPENCLAW_STATE_DIR=str(state_dir))
    for flags in (["store", "migrate", "--to", "sqlite", "--json"], ["-q", "store", "migrate", "--to", "sqlite"]):
        leader, follower = pty.openpty()
        try:
            proc = subprocess.run([OPENCLAW, *flags], env=env, stdout=subprocess.PIPE, stderr=follower, timeout=120)
            os.close(follower)
            follower = -1
            seen = b""
            while select.select([leader], [], [], 0.5)[0]:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
        finally:
            os.close(leader)
            if follower >= 0:
                os.close(follower)
        assert proc.returncode == 0 and seen == b"", (flags, seen)
        assert export(path, "sqlite") == original
        os.replace(path.with_name("sessions.json.migrated"), path)
