"""The lazy load of a SQLite store (``sessions cleanup`` of a big store): rows
kept as their text and top-level scalars, exactly what a full load shows, the
kept rows a full load would rewrite rewritten, and a corrupt row still refused."""

from __future__ import annotations

import json

import pytest
from backends import StoreUnderTest
from conftest import DAY_MS, now_ms

from openclaw_core.engine.store.chunks import LazyEntry


@pytest.fixture
def store(state_dir) -> StoreUnderTest:
    return StoreUnderTest("sqlite", state_dir)


def mixed(t: int) -> dict:
    entries = {f"agent:main:direct:{i}": {"sessionId": f"d{i}", "updatedAt": t - i * DAY_MS,
                                          "label": f"é {i}", "origin": {"provider": "telegram", "n": [i, 1.5]}}
               for i in range(60)}
    entries["12"] = {"sessionId": "i12", "updatedAt": t, "deliveryContext": {"channel": "slack"}}
    entries["agent:main:telegram:group:1"] = {"sessionId": "g", "updatedAt": t - 90 * DAY_MS, "skillsSnapshot": None}
    return entries


def test_a_lazy_load_keeps_rows_lazily_and_shows_what_a_full_load_shows(store):
    store.seed(mixed(now_ms()))
    backend = store.backend()
    try:
        full = backend.load()
        lazy = backend.load_lazy()
        assert lazy.loaded_lazily and all(type(e) is LazyEntry for e in lazy.entries.values())
        assert list(lazy.entries) == list(full.entries)  # "12" first, as JS orders keys
        assert {k: dict(e) for k, e in lazy.entries.items()} == full.entries
        assert lazy.text() == full.text()
    finally:
        backend.close()


def test_a_cleanup_rewrites_the_kept_rows_a_full_load_would_rewrite(store, cli):
    t = now_ms()
    store.seed(mixed(t))
    # Hand edits: a kept row in another layout, a kept row whose indexed column is off,
    # and a row that goes (its odd text needs no rewrite).
    store.sql("UPDATE {s}.entries SET entry = CAST(? AS BLOB) WHERE session_key = ?",
              [json.dumps({"sessionId": "d1", "updatedAt": t - DAY_MS, "label": "x"}), b"agent:main:direct:1"])
    store.sql("UPDATE {s}.entries SET updated_at = 0 WHERE session_key = ?", [b"agent:main:direct:2"])
    store.sql("UPDATE {s}.entries SET entry = CAST(? AS BLOB) WHERE session_key = ?",
              [json.dumps({"sessionId": "d50", "updatedAt": t - 50 * DAY_MS}), b"agent:main:direct:50"])
    result = cli("sessions", "cleanup", "--enforce", "--json")
    assert result.exit_code == 0, result
    assert result.json()["afterCount"] == 32  # 30 days of directs, "12", the protected group
    backend = store.backend()
    try:
        state = backend.load()
        assert backend._dirty == set()  # every stored row is what a commit writes
        assert state.entries["agent:main:direct:1"] == {"sessionId": "d1", "updatedAt": t - DAY_MS, "label": "x"}
        assert "agent:main:direct:50" not in state.entries
    finally:
        backend.close()


def test_a_cleanup_refuses_a_corrupt_row_and_changes_nothing(store, cli):
    store.seed(mixed(now_ms()) | {"agent:main:main": {"sessionId": "m", "updatedAt": 1}})
    store.corrupt()
    before = store.raw_rows()
    result = cli("sessions", "cleanup", "--enforce", "--json")
    assert result.exit_code == 1
    assert f'session store {store.db_path} is unreadable: entry "agent:main:main" is an array' in result.stderr
    assert store.raw_rows() == before


def test_a_commit_removing_most_rows_logs_none_rebuilds_the_indexes_and_a_cache_behind_reloads(store, cli):
    import contextlib
    import sqlite3

    from openclaw_store_sqlite.schema import ENTRY_INDEXES

    t = now_ms()
    old = {f"agent:main:direct:old{i}": {"sessionId": f"o{i}", "updatedAt": t - 60 * DAY_MS} for i in range(5000)}
    store.seed(mixed(t) | old)
    behind = store.backend()
    try:
        state = behind.load()  # a cache of another process, about to fall behind
        result = cli("sessions", "cleanup", "--enforce", "--json")
        assert result.exit_code == 0, result
        assert result.json()["afterCount"] == 32
        with contextlib.closing(sqlite3.connect(f"file:{store.db_path}?mode=ro", uri=True)) as conn:
            assert conn.execute("SELECT count(*) FROM removed").fetchone()[0] == 0
            version, floor = conn.execute("SELECT version, refresh_floor FROM store").fetchone()
            assert floor == version
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                "AND tbl_name = 'entries' AND sql IS NOT NULL")}
            assert names == set(ENTRY_INDEXES)
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        caught_up = behind.refresh(state)
        assert caught_up.version[1] == version
        assert caught_up.text() == store.stored()
        assert len(caught_up.entries) == 32
    finally:
        behind.close()


def test_a_lazily_loaded_store_is_scanned_for_stale_entries_not_queried(store):
    t = now_ms()
    store.seed(mixed(t))
    backend = store.backend()
    try:
        assert backend.stale_keys(backend.load(), t - 30 * DAY_MS) is not None  # a cached store: the index
        assert backend.stale_keys(backend.load_lazy(), t - 30 * DAY_MS) is None  # read whole just now: a scan
    finally:
        backend.close()
