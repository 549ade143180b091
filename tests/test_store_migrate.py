"""``openclaw store migrate``: file -> PostgreSQL -> file, byte for byte."""

from __future__ import annotations

import json

import pytest
from backends import postgres_config, write_config
from conftest import CASES, build_case, now_ms, requires_reference_cases, write_store

from openclaw_core.js.json import stringify
from openclaw_core.engine.store.state import StoreState


@pytest.fixture
def pg(pg_store_config):
    return pg_store_config


def pg_export(state_dir, pg, path):
    """What the PostgreSQL store holds for ``path``, read with a config that selects it."""
    from oc import load_config
    from oc import open_backend
    from openclaw_core.adapters.cli.store_cmd import config_for_backend

    backend = open_backend(path, config_for_backend(load_config(), "postgres"))
    try:
        state = backend.load()
        return state.text() if state.exists else None
    finally:
        backend.close()


@requires_reference_cases
@pytest.mark.parametrize("case", ["01-stale-prune", "02-max-entries-cap", "03-synthetic-keys", "04-fix-missing",
                                  "05-disk-budget", "06-active-key", "09-all-agents", "10-store-rewrite"])
def test_reference_stores_round_trip_byte_identically(tmp_path, monkeypatch, cli, pg, case):
    state = tmp_path / "state"
    build_case(CASES / case, state)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    config = json.loads((state / "openclaw.json").read_text()) if (state / "openclaw.json").exists() else {}
    config.setdefault("session", {})["postgres"] = {"dsn": pg["dsn"], "schema": pg["schema"]}
    (state / "openclaw.json").write_text(json.dumps(config))
    stores = sorted(state.glob("agents/*/sessions/sessions.json"))
    assert stores
    originals = {store: store.read_bytes() for store in stores}
    canonical = {store: StoreState.parse(raw, source=str(store)).text() for store, raw in originals.items()}

    result = cli("store", "migrate", "--to", "postgres", "--all-agents", "--json")
    assert result.exit_code == 0, result
    moved = {row["storePath"]: row for row in result.json()["stores"]}
    for store in stores:
        if str(store) not in moved:  # a store of an agent the config does not list
            continue
        assert not store.exists()
        assert (store.parent / "sessions.json.migrated").read_bytes() == originals[store]
        assert pg_export(state, pg, store) == canonical[store]
        assert moved[str(store)]["bytes"] == len(canonical[store])

    result = cli("store", "migrate", "--from", "postgres", "--to", "file", "--all-agents", "--json")
    assert result.exit_code == 0, result
    for store in stores:
        if str(store) in moved:
            assert store.read_bytes() == canonical[store]
            assert pg_export(state, pg, store) is None  # retired: the rows are gone


def test_migrate_moves_every_configured_agent_and_says_what_to_set(state_dir, cli, pg):
    write_config(state_dir, {"agents": {"list": [{"id": "main"}, {"id": "work"}]},
                             "session": {"postgres": {"dsn": pg["dsn"], "schema": pg["schema"]}}})
    main = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    work = state_dir / "agents" / "work" / "sessions" / "sessions.json"
    write_store(main, {"agent:main:main": {"sessionId": "m", "updatedAt": now_ms()}})
    write_store(work, {"agent:work:main": {"sessionId": "w", "updatedAt": now_ms()},
                       "agent:work:x": {"sessionId": "x", "updatedAt": now_ms()}})
    (work.parent / "w.jsonl").write_text("{}\n")

    result = cli("store", "migrate", "--to", "postgres", "--all-agents")
    assert result.exit_code == 0, result
    assert f"{main}: moved 1 entries" in result.stdout
    assert f"{work}: moved 2 entries" in result.stdout
    assert f'Set session.backend = "postgres" in {state_dir / "openclaw.toml"}' in result.stdout
    assert (work.parent / "w.jsonl").read_text() == "{}\n"  # transcripts stay files

    write_config(state_dir, postgres_config(pg, {"backend": "postgres"}) | {
        "agents": {"list": [{"id": "main"}, {"id": "work"}]}})
    from openclaw_core import load_session_store, update_session_store_entry

    update_session_store_entry(work, "agent:work:x", lambda e: {"label": "on postgres"})
    assert load_session_store(work)["agent:work:x"]["label"] == "on postgres"

    result = cli("store", "migrate", "--to", "file", "--agent", "work", "--json")
    assert result.exit_code == 0, result
    summary = result.json()
    assert summary["from"] == "postgres" and summary["to"] == "file"
    assert [row["agentId"] for row in summary["stores"]] == ["work"]
    assert json.loads(work.read_text())["agent:work:x"]["label"] == "on postgres"
    assert pg_export(state_dir, pg, main) is not None  # --agent work left main alone


def test_a_different_store_at_the_destination_is_not_overwritten_without_force(state_dir, cli, pg):
    write_config(state_dir, postgres_config(pg, {"backend": "file"}))
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    write_store(path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    assert cli("store", "migrate", "--to", "postgres").exit_code == 0
    write_store(path, {"agent:main:b": {"sessionId": "b", "updatedAt": now_ms()}})
    result = cli("store", "migrate", "--to", "postgres")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"{path}: the postgres store already holds 1 entries that differ; "
                                     f"pass --force to replace them")
    assert json.loads(path.read_text()) and "agent:main:b" in json.loads(path.read_text())  # source untouched
    result = cli("store", "migrate", "--to", "postgres", "--force")
    assert result.exit_code == 0, result
    assert list(json.loads(pg_export(state_dir, pg, path))) == ["agent:main:b"]


def test_a_missing_source_moves_nothing(state_dir, cli, pg):
    write_config(state_dir, postgres_config(pg, {"backend": "file"}))
    result = cli("store", "migrate", "--to", "postgres")
    assert result.exit_code == 0
    assert "no store on file, nothing to move" in result.stdout
    assert pg_export(state_dir, pg, state_dir / "agents" / "main" / "sessions" / "sessions.json") is None


@pytest.mark.parametrize(("args", "message"), [
    (["--to", "file"], '--from and --to are both "file": nothing to move (session.backend is "file"; give --from)'),
    (["--to", "nosuch"], 'session.backend "nosuch": no installed plugin provides this store backend'),
    (["--to", "postgres", "--agent", "main", "--all-agents"], "--agent and --all-agents cannot be used together"),
    (["--to", "postgres", "--agent", "ghost"], 'Unknown agent id "ghost".'),
])
def test_bad_migrate_arguments_are_one_line_errors(state_dir, cli, args, message):
    write_store(state_dir / "agents" / "main" / "sessions" / "sessions.json",
                {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    result = cli("store", "migrate", *args)
    assert result.exit_code == 1
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result
    assert (state_dir / "agents" / "main" / "sessions" / "sessions.json").exists()


def test_export_of_a_migrated_store_equals_what_the_file_store_writes(state_dir, cli, pg):
    """Same operations on a file store and on a PostgreSQL store: same bytes."""
    from openclaw_core import update_session_store

    entries = {"agent:main:main": {"sessionId": "m", "updatedAt": now_ms(), "label": "ü \u2028", "x": 1e-7},
               "3": {"sessionId": "t", "updatedAt": now_ms()}}
    write_config(state_dir, postgres_config(pg, {"backend": "file"}))
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"

    t = now_ms()

    def change(s):
        s["agent:main:main"]["n"] = 2
        s["1"] = {"sessionId": "one", "updatedAt": t}

    write_store(path, entries)
    update_session_store(path, change, skip_maintenance=True)
    file_bytes = path.read_bytes()
    path.unlink()

    write_store(path, entries)
    assert cli("store", "migrate", "--to", "postgres").exit_code == 0
    write_config(state_dir, postgres_config(pg))
    update_session_store(path, change, skip_maintenance=True)
    assert cli("store", "migrate", "--to", "file").exit_code == 0
    assert path.read_bytes() == file_bytes
    assert file_bytes == stringify(json.loads(file_bytes)).encode()
