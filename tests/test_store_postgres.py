"""The PostgreSQL store beyond the shared contract: two processes on one
store, LISTEN/NOTIFY, catching up row by row, locks, hand-edited rows, the
config, and what maintenance may push into SQL. A real server throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from backends import StoreUnderTest, postgres_config, write_config
from conftest import DAY_MS, now_ms

from openclaw_core import load_session_store, update_session_store, update_session_store_entry
from oc import load_config
from openclaw_core.base.errors import ConfigError, StoreCorruptError, StoreLockTimeout
from openclaw_core.js.json import stringify
from oc import open_backend
from openclaw_core.engine.store.writer import StoreWriter
from oc import get_writer


@pytest.fixture
def pg_store(state_dir, pg_store_config) -> StoreUnderTest:
    return StoreUnderTest("postgres", state_dir, pg_store_config)


def second_writer(store: StoreUnderTest) -> StoreWriter:
    """Another writer of the same store with its own connection (as another process
    has); not in the registry, so its commits are foreign to get_writer()'s."""
    config = load_config()
    return StoreWriter(open_backend(store.path, config), config, None, watch=False)


WORKER = textwrap.dedent("""
    import sys, threading, time
    from openclaw_core import update_session_store, update_session_store_entry
    path, name, threads, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    acked = []
    def work(t):
        for i in range(rounds):
            update_session_store_entry(path, "agent:main:shared", lambda e: {"n": e["n"] + 1})
            key = f"agent:main:{name}-{t}-{i}"
            update_session_store(path, lambda s: s.__setitem__(key, {"sessionId": key[11:], "updatedAt": int(time.time() * 1000)}))
            acked.append(key)
    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    [p.start() for p in pool]; [p.join() for p in pool]
    print(len(acked))
""")


def test_two_processes_with_eight_threads_each_lose_no_update(pg_store):
    """Advisory lock + version: read-modify-write increments from 16 writers in two
    processes all land, and every acknowledged key is there once."""
    pg_store.seed({"agent:main:shared": {"sessionId": "s", "updatedAt": now_ms(), "n": 0}})
    rounds = 15
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(pg_store.path), name, "8", str(rounds)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in ("p1", "p2")]
    outs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0, err
        assert int(out) == 8 * rounds
    saved = json.loads(pg_store.stored())
    assert saved["agent:main:shared"]["n"] == 2 * 8 * rounds
    keys = [k for k in saved if k.startswith("agent:main:p")]
    assert len(keys) == len(set(keys)) == 2 * 8 * rounds


def _listening_backend(pg_store: StoreUnderTest):
    """A seeded store's backend whose watcher is listening: (backend, its calls, its stop)."""
    pg_store.seed({"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    backend = pg_store.backend()
    calls = threading.Event()
    stop = backend.watch(calls.set)
    _wait_for(lambda: backend._listening, 5)
    return backend, calls, stop


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_notify_reaches_a_watcher_in_another_process(pg_store):
    backend, calls, stop = _listening_backend(pg_store)
    try:
        calls.clear()  # the first call says "listening now"
        before = backend.version()
        pg_store.run_elsewhere("""
            from openclaw_core import update_session_store_entry
            update_session_store_entry(PATH, "agent:main:a", lambda e: {"label": "elsewhere"})
        """)
        assert calls.wait(5), "no NOTIFY arrived"
        assert backend.version() != before
    finally:
        stop()
        backend.close()


def test_a_cache_catches_up_row_by_row_and_matches_a_full_load(pg_store):
    t = now_ms()
    pg_store.seed({f"agent:main:k{i}": {"sessionId": f"k{i}", "updatedAt": t - i} for i in range(6)})
    writer = get_writer(pg_store.path)
    snapshot = writer.snapshot()
    cached = writer._state
    other = second_writer(pg_store)
    try:
        def change(s):
            del s["agent:main:k1"]                      # removed
            entry = dict(s.peek("agent:main:k2"))
            del s["agent:main:k2"]
            s["agent:main:k2"] = entry                   # moved to the end
            s["agent:main:k3"]["label"] = "in place"     # changed where it is
            s["agent:main:new"] = {"sessionId": "new", "updatedAt": t}
            s["5"] = {"sessionId": "five", "updatedAt": t}  # integer-like: first

        other.run(change, maintenance=None)
    finally:
        other.close()
    deadline = time.monotonic() + 5
    while writer.snapshot() is snapshot and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer._state is cached, "the cache was reloaded instead of refreshed"
    fresh = pg_store.backend()
    try:
        assert cached.text() == fresh.load().text()
    finally:
        fresh.close()
    assert list(writer.snapshot()) == ["5", "agent:main:k0", "agent:main:k3", "agent:main:k4", "agent:main:k5",
                                       "agent:main:k2", "agent:main:new"]


def test_a_cache_older_than_the_removal_log_reloads_fully(pg_store, monkeypatch):
    from openclaw_store_postgres import backend as pg_backend

    monkeypatch.setattr(pg_backend, "FORGET_REMOVALS_EVERY", 2)
    monkeypatch.setattr(pg_backend, "KEEP_REMOVALS_FOR", 2)
    pg_store.seed({f"agent:main:k{i}": {"sessionId": f"k{i}", "updatedAt": now_ms()} for i in range(8)})
    lagging = pg_store.backend()
    state = lagging.load()
    other = second_writer(pg_store)
    try:
        for i in range(6):
            other.run(lambda s, i=i: s.pop(f"agent:main:k{i}"), maintenance=None)
    finally:
        other.close()
    refreshed = lagging.refresh(state)
    assert refreshed is not state  # the removals it missed were forgotten: full load
    assert list(refreshed.entries) == ["agent:main:k6", "agent:main:k7"]
    lagging.close()


def test_the_lock_waits_for_another_holder_and_times_out_clearly(pg_store, monkeypatch):
    import psycopg

    from openclaw_core.engine.store import writer as writer_module

    pg_store.seed({"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    backend = pg_store.backend()
    key = backend._lock_key
    backend.close()
    monkeypatch.setattr(writer_module, "LOCK_TIMEOUT", 0.3)
    with psycopg.connect(pg_store.pg["dsn"], autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [key])
        with pytest.raises(StoreLockTimeout, match="timed out after 0.3s waiting for the lock of session store "
                                                   "agents/main/sessions/sessions.json"):
            update_session_store_entry(pg_store.path, "agent:main:a", lambda e: {"label": "x"})
        assert json.loads(pg_store.stored())["agent:main:a"].get("label") is None
        holder.execute("SELECT pg_advisory_unlock(%s)", [key])
    update_session_store_entry(pg_store.path, "agent:main:a", lambda e: {"label": "x"})
    assert json.loads(pg_store.stored())["agent:main:a"]["label"] == "x"


def test_a_writer_killed_while_holding_the_lock_releases_it(pg_store):
    pg_store.seed({"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from openclaw_core import update_session_store
        def hold(s):
            s["agent:main:a"]["label"] = "never committed"
            print("holding", flush=True)
            time.sleep(60)
        update_session_store(sys.argv[1], hold)
    """), str(pg_store.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        started = time.monotonic()
        update_session_store_entry(pg_store.path, "agent:main:a", lambda e: {"n": 1})
        assert time.monotonic() - started < 10
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    saved = json.loads(pg_store.stored())["agent:main:a"]
    assert saved["n"] == 1 and "label" not in saved


def test_a_hand_edited_row_is_read_and_rewritten_canonical(pg_store):
    pg_store.seed({"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()},
                   "agent:main:b": {"sessionId": "b", "updatedAt": now_ms()}})
    t = now_ms()
    pg_store.sql("UPDATE {s}.entries SET entry = %s::json WHERE session_key = 'agent:main:b'",
                 [json.dumps({"sessionId": "b", "updatedAt": t, "provider": "telegram"})])  # compact, legacy
    assert load_session_store(pg_store.path)["agent:main:b"]["channel"] == "telegram"
    update_session_store_entry(pg_store.path, "agent:main:a", lambda e: {"label": "x"})
    from openclaw_core.engine.store.normalize import normalize_loaded_entry

    rows = {key: text for key, _, text, _ in pg_store.raw_rows()}
    expected_b = {"sessionId": "b", "updatedAt": t, "provider": "telegram"}
    normalize_loaded_entry(expected_b)
    assert expected_b["channel"] == "telegram" and "provider" not in expected_b
    assert rows["agent:main:b"] == stringify(expected_b)  # the commit also rewrote the dirty row


def test_a_row_that_is_not_an_object_is_refused_with_its_key(pg_store):
    pg_store.seed({"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    pg_store.sql("""UPDATE {s}.entries SET entry = '"text"'::json""")
    with pytest.raises(StoreCorruptError, match='entry "agent:main:a" is a string, not an object; refusing'):
        load_session_store(pg_store.path)


def test_rows_hold_the_entry_text_the_order_and_the_maintenance_columns(pg_store):
    t = now_ms()
    update_session_store(pg_store.path, lambda s: s.update({
        "agent:main:telegram:group:1": {"sessionId": "g", "updatedAt": t, "x": 1.50},
        "agent:main:direct:2": {"sessionId": "d", "updatedAt": "soon"},
    }), skip_maintenance=True)
    import psycopg

    with psycopg.connect(pg_store.pg["dsn"]) as conn:
        rows = conn.execute(f'SELECT session_key, position, entry::text, updated_at, protected FROM '
                            f'"{pg_store.pg["schema"]}".entries ORDER BY position').fetchall()
    assert rows == [
        ("agent:main:telegram:group:1", 0, stringify({"sessionId": "g", "updatedAt": t, "x": 1.5}), float(t), True),
        ("agent:main:direct:2", 1, stringify({"sessionId": "d", "updatedAt": "soon"}), None, False),
    ]


def mixed_store(t: int) -> dict:
    """Entries on both sides of a 30-day cutoff, of every kind the stale prune
    treats differently (ages well away from the boundary)."""
    old, fresh = t - 40 * DAY_MS, t - DAY_MS
    store = {
        "12": {"sessionId": "i12", "updatedAt": old},                       # integer-like keys sort first
        "3": {"sessionId": "i3", "updatedAt": old},
        "agent:main:direct:old1": {"sessionId": "o1", "updatedAt": old},
        "agent:main:direct:new": {"sessionId": "n", "updatedAt": fresh},
        "agent:main:telegram:group:old": {"sessionId": "g", "updatedAt": old},    # protected
        "agent:main:discord:channel:9": {"sessionId": "c", "updatedAt": old},     # protected
        "agent:main:cron:job:run:1": {"sessionId": "cr", "updatedAt": old},       # synthetic
        "agent:main:direct:text": {"sessionId": "s", "updatedAt": str(old)},      # JS compares "123" as 123
        "agent:main:direct:bool": {"sessionId": "b", "updatedAt": True},          # true < cutoff
        "agent:main:direct:null": {"sessionId": "z", "updatedAt": None},          # never pruned
        "agent:main:direct:none": {"sessionId": "x"},                            # never pruned
        "agent:main:direct:active": {"sessionId": "a", "updatedAt": old},         # the active key
        "agent:main:direct:vip": {"sessionId": "v", "updatedAt": old},            # a plugin protects it
    }
    for i in range(40):
        store[f"agent:main:direct:filler{i}"] = {"sessionId": f"f{i}", "updatedAt": fresh - i}
    return store


class ProtectionRules:
    """A protection plugin installed after the rows were written."""

    @__import__("openclaw_core").hookimpl
    def openclaw_entry_protected(self, key, entry):
        if key.endswith(":vip"):
            return True
        if key.endswith(":channel:9"):
            return False  # a protected shape this deployment chooses to prune
        return None


def enforce_with_changes(path, t):
    """One group: a mutation that makes entries stale in memory, then maintenance."""
    from openclaw_core.engine.maintenance import MaintenanceRequest

    def change(s):
        s["agent:main:direct:new"]["updatedAt"] = t - 50 * DAY_MS          # stale only in memory
        s["agent:main:direct:added"] = {"sessionId": "ad", "updatedAt": t - 45 * DAY_MS}
        entry = dict(s.peek("agent:main:direct:old1"))
        del s["agent:main:direct:old1"]
        s["agent:main:direct:old1"] = entry                                  # moved to the end

    result = get_writer(path).run_with_report(change, maintenance=MaintenanceRequest(
        active_keys=frozenset({"agent:main:direct:active"})))
    return list(result.report.actions.items())


@pytest.mark.parametrize("kind", ["file", "postgres", "sqlite"])
def test_stale_prune_through_the_index_equals_a_full_scan(kind, state_dir, request, register_openclaw_plugin):
    t = now_ms()
    pg = request.getfixturevalue("pg_store_config") if kind == "postgres" else None
    store = StoreUnderTest(kind, state_dir, pg)
    store.seed(mixed_store(t))
    if pg is not None:  # a hand edit left updated_at behind the entry: the row is re-checked
        store.sql("UPDATE {s}.entries SET updated_at = %s WHERE session_key = 'agent:main:direct:old1'", [float(t)])
    register_openclaw_plugin(ProtectionRules(), "protection-rules")
    actions = enforce_with_changes(store.path, t)
    assert actions == [
        ("3", "prune-stale"), ("12", "prune-stale"), ("agent:main:direct:new", "prune-stale"),
        ("agent:main:discord:channel:9", "prune-stale"), ("agent:main:cron:job:run:1", "prune-stale"),
        ("agent:main:direct:text", "prune-stale"), ("agent:main:direct:bool", "prune-stale"),
        ("agent:main:direct:added", "prune-stale"), ("agent:main:direct:old1", "prune-stale"),
    ]
    saved = json.loads(store.stored())
    assert "agent:main:direct:vip" in saved and "agent:main:telegram:group:old" in saved
    assert "agent:main:direct:active" in saved and "agent:main:direct:null" in saved


def test_the_index_hands_the_prune_only_the_stale_rows(pg_store):
    t = now_ms()
    entries = {f"agent:main:direct:{i}": {"sessionId": f"s{i}", "updatedAt": t - DAY_MS} for i in range(2000)}
    entries.update({f"agent:main:telegram:group:{i}": {"sessionId": f"g{i}", "updatedAt": t - 90 * DAY_MS}
                    for i in range(500)})  # protected and old: never handed over again
    entries["agent:main:direct:7"]["updatedAt"] = t - 40 * DAY_MS
    pg_store.seed(entries)
    backend = pg_store.backend()
    try:
        state = backend.load()
        assert backend.stale_keys(state, t - 30 * DAY_MS) == ["agent:main:direct:7"]
        state.entries["agent:main:direct:9"]["updatedAt"] = t - 40 * DAY_MS  # changed in memory only
        state.unsaved.add("agent:main:direct:9")
        assert backend.stale_keys(state, t - 30 * DAY_MS) == ["agent:main:direct:7", "agent:main:direct:9"]
        other = second_writer(pg_store)
        other.run(lambda s: s.__setitem__("agent:main:direct:1", {"sessionId": "x", "updatedAt": 1}), maintenance=None)
        other.close()
        assert backend.stale_keys(state, t - 30 * DAY_MS) is None  # the database moved on: scan instead
    finally:
        backend.close()


def test_hosts_with_different_state_dirs_share_a_store_by_its_relative_name(pg_store, tmp_path, monkeypatch):
    update_session_store(pg_store.path, lambda s: s.__setitem__("agent:main:a", {"sessionId": "a",
                                                                                  "updatedAt": now_ms()}))
    other_state = tmp_path / "host-b-state"
    other_state.mkdir()
    write_config(other_state, postgres_config(pg_store.pg))
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(other_state))
    other_path = other_state / "agents" / "main" / "sessions" / "sessions.json"
    assert list(load_session_store(other_path)) == ["agent:main:a"]


def test_the_first_write_makes_the_sessions_dir_and_backend_files_are_excluded(state_dir, pg_store_config):
    write_config(state_dir, postgres_config(pg_store_config))
    path = state_dir / "agents" / "work" / "sessions" / "sessions.json"
    update_session_store(path, lambda s: None)
    assert path.parent.is_dir() and not path.exists()
    backend = open_backend(path, load_config())
    assert {"sessions.json", "sessions.json.migrated"} <= backend.excluded_files()
    assert backend.load().exists and backend.export_bytes() == b"{}"
    backend.close()


# --- config -------------------------------------------------------------------------------

def test_postgres_without_a_dsn_is_a_config_error(state_dir):
    write_config(state_dir, {"session": {"backend": "postgres"}})
    with pytest.raises(ConfigError, match='session.backend "postgres" needs a database: set session.postgres.dsn '
                                          'or OPENCLAW_POSTGRES_DSN'):
        load_session_store(state_dir / "sessions.json")


def test_the_environment_dsn_wins_over_the_config(state_dir, pg_store_config, monkeypatch):
    write_config(state_dir, {"session": {"backend": "postgres",
                                         "postgres": {"dsn": "host=127.0.0.1 port=1 dbname=nowhere",
                                                      "schema": pg_store_config["schema"]}}})
    monkeypatch.setenv("OPENCLAW_POSTGRES_DSN", pg_store_config["dsn"])
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    update_session_store(path, lambda s: s.__setitem__("agent:main:a", {"sessionId": "a", "updatedAt": now_ms()}))
    assert list(load_session_store(path)) == ["agent:main:a"]


@pytest.mark.parametrize(("postgres", "message"), [
    ({"dsn": 5}, 'session.postgres.dsn: expected a connection string such as "postgresql://host/db"'),
    ({"dsn": "x", "schema": "Bad-Name"}, "session.postgres.schema: expected a lower-case SQL name"),
    ({"dsn": "x", "password": "p"}, 'session.postgres: Unrecognized key: "password"'),
])
def test_invalid_postgres_settings_are_refused(state_dir, postgres, message):
    write_config(state_dir, {"session": {"backend": "postgres", "postgres": postgres}})
    with pytest.raises(ConfigError, match=message):
        load_config()


def test_an_unreachable_database_is_one_line_and_exit_1(state_dir, run_openclaw, free_port):
    write_config(state_dir, {"session": {"backend": "postgres", "postgres": {
        "dsn": f"postgresql://u:secret@127.0.0.1:{free_port}/db?connect_timeout=3"}}})
    result = run_openclaw("store", "migrate", "--to", "file")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"cannot connect to postgresql://u@127.0.0.1:{free_port}/db for session store "
                               f"agents/main/sessions/sessions.json")
    assert "secret" not in result.stderr


def test_a_malformed_dsn_is_a_config_error(state_dir, cli):
    write_config(state_dir, {"session": {"backend": "postgres", "postgres": {"dsn": "host=x = broken"}}})
    result = cli("store", "migrate", "--to", "file")
    assert result.exit_code == 1
    assert result.stderr.startswith("session.postgres.dsn: ") and result.stderr.count("\n") == 1


def test_the_listener_comes_back_after_its_connection_is_killed(pg_store):
    import psycopg

    backend, calls, stop = _listening_backend(pg_store)
    try:
        with psycopg.connect(pg_store.pg["dsn"], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'openclaw-listen'")
        _wait_for(lambda: not backend._listening, 5)
        # deaf meanwhile: every version check asks the database
        assert _wait_for(lambda: backend._listening, 15), "the listener did not reconnect"
        calls.clear()
        pg_store.run_elsewhere("""
            from openclaw_core import update_session_store_entry
            update_session_store_entry(PATH, "agent:main:a", lambda e: {"label": "after"})
        """)
        assert calls.wait(5), "no NOTIFY after the reconnect"
    finally:
        stop()
        backend.close()


def test_without_psycopg_the_postgres_backend_is_a_clear_error(state_dir, pg_store_config):
    write_config(state_dir, postgres_config(pg_store_config))
    code = ("import sys; sys.modules['psycopg'] = None\n"
            "from openclaw_core.app import run_cli as main\n"
            "sys.exit(main(['store', 'migrate', '--to', 'file']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == 'session.backend "postgres" needs psycopg: pip install "openclaw-core[postgres]"\n'


def test_agents_delete_leaves_nothing_of_the_agent_in_the_database(pg_store, state_dir, run_openclaw):
    """The deleted agent's entries are purged through the writer and its (then
    empty) store row goes too, as its sessions dir goes to the trash; a store
    that still holds entries, and the other agent's, are kept."""
    import psycopg

    config = postgres_config(pg_store.pg)
    config["agents"] = {"list": [{"id": "main", "default": True}, {"id": "work"}, {"id": "ops"}]}
    write_config(state_dir, config)
    pg_store.seed({"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    work = state_dir / "agents" / "work" / "sessions" / "sessions.json"
    update_session_store(work, lambda s: s.__setitem__("agent:work:w", {"sessionId": "w", "updatedAt": now_ms()}))
    # ops's store also holds a key another agent owns: the purge keeps it, so the row stays
    ops = state_dir / "agents" / "ops" / "sessions" / "sessions.json"
    update_session_store(ops, lambda s: s.update({
        "agent:ops:o": {"sessionId": "o", "updatedAt": now_ms()},
        "agent:main:kept": {"sessionId": "k", "updatedAt": now_ms()}}))

    def stores() -> set[str]:
        with psycopg.connect(pg_store.pg["dsn"]) as conn:
            return {name for (name,) in conn.execute(f'SELECT name FROM "{pg_store.pg["schema"]}".stores')}

    assert len(stores()) == 3
    for agent in ("work", "ops"):
        result = run_openclaw("agents", "delete", agent, "--force", "--json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["agentId"] == agent
        assert not (state_dir / "agents" / agent / "sessions").exists()  # trashed
    left = stores()
    assert len(left) == 2 and not any("work" in name for name in left), left
    assert list(json.loads(pg_store.stored())) == ["agent:main:a"]
    survivor = open_backend(ops, load_config())
    try:
        assert list(survivor.load().entries) == ["agent:main:kept"]
    finally:
        survivor.close()
