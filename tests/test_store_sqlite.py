"""The SQLite store against real database files: where the database lives and how
it is set up, group commit, the bounded wait for another process's transaction,
and databases that are not ours (foreign, wrong layout, truncated, garbage),
refused with one line and left byte for byte as they were."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from concurrent.futures import wait

import pytest
from backends import StoreUnderTest, sqlite_config, write_config
from conftest import DAY_MS, now_ms

from openclaw_core import load_session_store, update_session_store, update_session_store_entry
from openclaw_core.base.errors import StoreCorruptError, StoreLockTimeout
from oc import get_writer


@pytest.fixture
def store(state_dir) -> StoreUnderTest:
    return StoreUnderTest("sqlite", state_dir)


def seeded(store: StoreUnderTest, n: int = 3) -> dict:
    entries = {f"agent:main:k{i}": {"sessionId": f"s{i}", "updatedAt": now_ms() - i} for i in range(n)}
    store.seed(entries)
    return entries


def open_ro(path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def test_the_database_lives_beside_the_transcripts_in_wal_with_our_ids(store):
    seeded(store)
    assert store.db_path == store.path.parent / "sessions.sqlite" and store.db_path.is_file()
    assert not store.path.exists()  # no sessions.json is written
    with contextlib.closing(open_ro(store.db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x4F435353
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"entries_stale", "entries_protected_by", "entries_newest", "entries_by_position"} <= indexes
        rows = conn.execute("SELECT session_key, position, entry FROM entries ORDER BY position").fetchall()
    assert [r[0] for r in rows] == [b"agent:main:k0", b"agent:main:k1", b"agent:main:k2"]
    assert [r[1] for r in rows] == [0, 1, 2]
    assert json.loads(rows[0][2])["sessionId"] == "s0"  # the entry's own JSON text


def test_a_store_path_x_json_uses_x_sqlite_beside_it(state_dir, cli):
    write_config(state_dir, sqlite_config())
    custom = state_dir / "elsewhere" / "team.json"
    update_session_store(custom, lambda s: s.__setitem__("agent:main:a", {"sessionId": "a", "updatedAt": 1}),
                         skip_maintenance=True)
    assert (state_dir / "elsewhere" / "team.sqlite").is_file() and not custom.exists()
    result = cli("sessions", "--store", str(custom), "--json")
    assert result.exit_code == 0, result
    assert [row["key"] for row in result.json()["sessions"]] == ["agent:main:a"]


def test_every_commit_is_synchronous_full(store):
    seeded(store)
    writer = get_writer(store.path)
    update_session_store_entry(store.path, "agent:main:k0", lambda e: {"label": "x"})
    conn = writer.backend._conn
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    # rows zeroed on the pages written anyway, freed pages not rewritten for it
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 2  # FAST


def test_queued_patches_share_one_transaction(store):
    seeded(store)
    writer = get_writer(store.path)
    writer.backend.version()  # the connection is open

    def patch(n):
        def apply(s):
            s[f"agent:main:k{n % 3}"]["n"] = n
        return apply

    # Hold the writer thread in a first commit so the rest queue up behind it.
    def slow(s):
        time.sleep(0.3)
        s["agent:main:k0"]["slow"] = True

    first = writer.submit(slow)
    time.sleep(0.05)
    futures = [writer.submit(patch(n)) for n in range(60)]
    wait([first, *futures], timeout=30)
    assert all(f.result().written for f in futures)
    assert writer.commits <= 3  # the slow one, then the 60 together (at most two groups)
    with contextlib.closing(open_ro(store.db_path)) as conn:
        assert conn.execute("SELECT version FROM store").fetchone()[0] == 1 + writer.commits  # the import was 1
    assert load_session_store(store.path)["agent:main:k2"]["n"] == 59


def _stale_query_steps(store: StoreUnderTest, protected: int) -> tuple[list[str], int]:
    """The stale-prune candidates of a store holding ``protected`` old protected
    rows (group chats) and one stale direct row, and the SQLite VM steps (in
    hundreds) the query took."""
    t = now_ms()
    entries = {f"agent:main:telegram:group:{i}": {"sessionId": f"g{i}", "updatedAt": t - 90 * DAY_MS}
               for i in range(protected)}
    entries.update({f"agent:main:direct:{i}": {"sessionId": f"d{i}", "updatedAt": t - DAY_MS} for i in range(50)})
    entries["agent:main:direct:7"]["updatedAt"] = t - 40 * DAY_MS
    store.seed(entries)
    backend = store.backend()
    try:
        state = backend.load()
        steps = [0]
        backend._conn.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1), 100)
        keys = backend.stale_keys(state, t - 30 * DAY_MS)
        return keys, steps[0]
    finally:
        backend.close()


def test_the_stale_query_costs_the_same_whatever_the_number_of_protected_rows(store):
    # Run on every commit: it must seek the index, never walk the protected rows
    # (they were written under the current protection rules, so none is a candidate).
    few_keys, few = _stale_query_steps(store, 20)
    many_keys, many = _stale_query_steps(store, 4000)
    assert few_keys == many_keys == ["agent:main:direct:7"]
    assert many <= few + 5, (few, many)


def test_a_commit_waits_a_bounded_time_for_another_writer_then_says_so(store):
    seeded(store)
    other = sqlite3.connect(store.db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process in the middle of its commit
        backend = store.backend()
        try:
            started = time.monotonic()
            with pytest.raises(StoreLockTimeout) as caught, backend.exclusive(0.3):
                pass
            assert 0.25 <= time.monotonic() - started < 5
            assert str(caught.value) == (f"timed out after 0.3s waiting for the lock of session store "
                                         f"{store.db_path} (another openclaw process is committing to it)")
            other.execute("ROLLBACK")
            with backend.exclusive(0.3):  # free again: taken at once
                pass
        finally:
            backend.close()
    finally:
        other.close()


def test_a_reader_is_not_blocked_by_a_writer_in_the_middle_of_its_transaction(store):
    entries = seeded(store)
    other = sqlite3.connect(store.db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("DELETE FROM entries")  # not committed: nobody may see it
        assert list(load_session_store(store.path)) == list(entries)
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_commit_of_another_connection_is_seen_before_the_next_write(store):
    seeded(store)
    update_session_store_entry(store.path, "agent:main:k0", lambda e: {"label": "mine"})
    store.run_elsewhere("""
        from openclaw_core import update_session_store_entry
        update_session_store_entry(PATH, "agent:main:k1", lambda e: {"label": "theirs"})
    """)
    update_session_store_entry(store.path, "agent:main:k2", lambda e: {"label": "mine too"})
    saved = json.loads(store.stored())
    assert [saved[f"agent:main:k{i}"].get("label") for i in range(3)] == ["mine", "theirs", "mine too"]


# --- databases that are not ours ---------------------------------------------------------------------

def _foreign(path):
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('precious')")
        conn.execute("PRAGMA application_id = 1234")


def _wrong_layout(path, store):
    seeded(store)
    from openclaw_core.engine.store.writer import close_writers

    close_writers()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 7")


def _truncated(path, store):
    seeded(store, 400)  # several pages
    from openclaw_core.engine.store.writer import close_writers

    close_writers()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BAD = {
    "empty": (lambda path, store: path.write_bytes(b""), "the database file is empty"),
    "garbage": (lambda path, store: path.write_bytes(b"{\"not\": \"sqlite\"}\n" * 20), "not an SQLite database"),
    "foreign": (lambda path, store: _foreign(path), "an SQLite database of another application (application_id "
                                                    "0x4d2), not a session store"),
    "wrong-layout": (_wrong_layout, "layout version 7; this openclaw-core reads version 1"),
    "truncated": (_truncated, "truncated SQLite database ("),
    "tiny": (lambda path, store: path.write_bytes(b"SQLite format 3\x00\x10\x00"), "truncated SQLite database (18 bytes)"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_database_that_is_not_ours_is_refused_with_one_line_and_never_touched(store, cli, kind):
    make, problem = BAD[kind]
    make(store.db_path, store)
    before = store.db_path.read_bytes()
    files = sorted(p.name for p in store.path.parent.iterdir())
    expected = f"session store {store.db_path} is unreadable: {problem}"
    with pytest.raises(StoreCorruptError) as caught:
        load_session_store(store.path)
    assert str(caught.value).startswith(expected) and str(caught.value).endswith("; refusing to touch it")
    with pytest.raises(StoreCorruptError):
        update_session_store(store.path, lambda s: s.__setitem__("agent:main:x", {"sessionId": "x", "updatedAt": 1}))
    for args in (["sessions", "--json"], ["sessions", "cleanup", "--enforce"]):
        result = cli(*args)
        assert result.exit_code == 1, result
        assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1, result
    assert store.db_path.read_bytes() == before
    assert sorted(p.name for p in store.path.parent.iterdir()) == files  # no -wal, no -shm, nothing


def test_a_corrupt_row_is_refused_and_the_database_keeps_its_bytes(store, cli):
    store.seed({"agent:main:main": {"sessionId": "m", "updatedAt": now_ms()}})
    store.corrupt()
    from openclaw_core.engine.store.writer import close_writers

    close_writers()
    before = store.raw_rows()
    result = cli("sessions", "--json")
    assert result.exit_code == 1
    assert result.stderr == (f'session store {store.db_path} is unreadable: entry "agent:main:main" is an array, '
                             f"not an object; refusing to touch it\n")
    assert store.raw_rows() == before


def test_agents_delete_trashes_the_database_with_the_sessions_dir_and_creates_none(state_dir, cli):
    import os
    from pathlib import Path

    agents = {"agents": {"list": [{"id": "main", "default": True}, {"id": "solo"}]}}
    write_config(state_dir, agents | sqlite_config())
    for agent in ("main", "solo"):
        path = state_dir / "agents" / agent / "sessions" / "sessions.json"
        update_session_store(path, lambda s, a=agent: s.update({
            f"agent:{a}:main": {"sessionId": f"{a}-1", "updatedAt": now_ms()},
            "cron:bare-key": {"sessionId": f"{a}-2", "updatedAt": now_ms()}}), skip_maintenance=True)
    from openclaw_core.engine.store.writer import close_writers

    close_writers()
    result = cli("agents", "delete", "solo", "--force", "--json")
    assert result.exit_code == 0, result
    assert not (state_dir / "agents" / "solo" / "sessions").exists()  # trashed, and not made again
    trashed = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files" / "sessions"
    with contextlib.closing(open_ro(trashed / "sessions.sqlite")) as conn:
        keys = [row[0] for row in conn.execute("SELECT session_key FROM entries ORDER BY position")]
    assert keys == [b"cron:bare-key"]  # the agent's own entries were purged before the trash
    main = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    assert sorted(load_session_store(main)) == ["agent:main:main", "cron:bare-key"]
