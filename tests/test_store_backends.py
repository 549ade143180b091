"""The store API's contract, run against every built-in backend: the file
store, PostgreSQL (a real server started by the fixtures) and SQLite (a real
database file in the test's state dir)."""

from __future__ import annotations

import threading
import time

import pytest
from backends import StoreUnderTest
from conftest import DAY_MS, now_ms

from openclaw_core import load_session_store, update_session_store, update_session_store_entry
from openclaw_core.base.errors import StoreCorruptError
from openclaw_core.js.json import stringify
from oc import get_writer

BACKENDS = ["file", "postgres", "sqlite"]


@pytest.fixture(params=BACKENDS)
def store(request, state_dir) -> StoreUnderTest:
    pg = request.getfixturevalue("pg_store_config") if request.param == "postgres" else None
    return StoreUnderTest(request.param, state_dir, pg)


def rich_entries() -> dict:
    """Entries that exercise the exact format: unicode, escapes, JS numbers,
    integer-like keys at two levels, unknown fields."""
    t = now_ms()
    return {
        "agent:main:main": {"sessionId": "s1", "updatedAt": t, "label": "é ✨ \u2028 \"q\" \\",
                            "futureField": {"b": [1.5, None, True, 1e21], "10": 1, "2": 2}},
        "agent:main:telegram:group:-100": {"sessionId": "s2", "updatedAt": t - DAY_MS, "chatType": "group"},
        "42": {"sessionId": "s3", "updatedAt": t - 2 * DAY_MS},
        "7": {"sessionId": "s4", "updatedAt": t - 3 * DAY_MS, "big": 12345678901234567890, "tiny": 5e-324},
    }


def test_load_reads_every_entry_in_store_order(store):
    entries = rich_entries()
    store.seed(entries)
    loaded = load_session_store(store.path)
    assert list(loaded) == ["7", "42", "agent:main:main", "agent:main:telegram:group:-100"]
    assert loaded["agent:main:main"]["futureField"]["b"] == [1.5, None, True, 1e21]
    assert loaded["agent:main:main"]["label"] == entries["agent:main:main"]["label"]


def test_missing_store_reads_empty_and_an_entry_update_writes_nothing(store):
    assert dict(load_session_store(store.path)) == {}
    assert update_session_store_entry(store.path, "agent:main:main", lambda e: {"label": "x"}) is None
    assert store.stored() is None


def test_update_writes_exactly_the_reference_bytes(store):
    entries = rich_entries()
    store.seed(entries)

    def change(s):
        s["agent:main:main"]["label"] = "changed ✓"
        s["agent:main:new"] = {"sessionId": "n", "updatedAt": 5, "x": -0.0}
        del s["42"]

    update_session_store(store.path, change, skip_maintenance=True)
    entries["agent:main:main"]["label"] = "changed ✓"
    entries["agent:main:new"] = {"sessionId": "n", "updatedAt": 5, "x": 0}
    del entries["42"]
    assert store.stored() == stringify(entries).encode()


def test_update_entry_merges_and_keeps_one_lower_case_key(store):
    t = now_ms() - 1000
    store.seed({
        "agent:main:a": {"sessionId": "a", "updatedAt": t - 10},
        "agent:main:Main": {"sessionId": "old", "updatedAt": t - 5, "label": "upper"},
        "agent:main:main": {"sessionId": "new", "updatedAt": t - 50},
    })
    merged = update_session_store_entry(store.path, "AGENT:MAIN:MAIN ", lambda e: {"thinkingLevel": "high"})
    assert merged["sessionId"] == "old" and merged["label"] == "upper" and merged["thinkingLevel"] == "high"
    assert merged["updatedAt"] >= t
    saved = load_session_store(store.path)
    assert list(saved) == ["agent:main:a", "agent:main:main"]
    assert store.stored() == stringify(dict(saved)).encode()


def test_corrupt_store_is_refused_and_never_written_over(store):
    store.seed({"agent:main:main": {"sessionId": "a", "updatedAt": now_ms()},
                "agent:main:b": {"sessionId": "b", "updatedAt": now_ms()}})
    store.corrupt()
    before = store.fingerprint()
    with pytest.raises(StoreCorruptError, match="refusing to touch it"):
        load_session_store(store.path)
    with pytest.raises(StoreCorruptError):
        update_session_store_entry(store.path, "agent:main:b", lambda e: {"label": "x"})
    with pytest.raises(StoreCorruptError):
        update_session_store(store.path, lambda s: s.clear())
    assert store.fingerprint() == before


def test_eight_threads_lose_no_update(store):
    store.seed({"agent:main:shared": {"sessionId": "s", "updatedAt": now_ms(), "n": 0}})
    per_thread = 40
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(per_thread):
                update_session_store_entry(store.path, "agent:main:shared", lambda e: {"n": e["n"] + 1})
                update_session_store(store.path, lambda s, t=t, i=i: s.__setitem__(
                    f"agent:main:t{t}", {"sessionId": f"t{t}", "updatedAt": now_ms(), "i": i}), skip_maintenance=True)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    import json

    saved = json.loads(store.stored())
    assert saved["agent:main:shared"]["n"] == 8 * per_thread
    assert {saved[f"agent:main:t{t}"]["i"] for t in range(8)} == {per_thread - 1}


def test_a_change_made_by_another_process_is_seen_and_kept(store):
    store.seed({"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    writer = get_writer(store.path)
    update_session_store_entry(store.path, "agent:main:a", lambda e: {"label": "mine"})
    assert writer.snapshot()["agent:main:a"]["label"] == "mine"
    store.run_elsewhere("""
        import time
        from openclaw_core import update_session_store
        def change(s):
            s["agent:main:a"]["outside"] = True
            s["agent:main:b"] = {"sessionId": "b", "updatedAt": int(time.time() * 1000)}
        update_session_store(PATH, change, skip_maintenance=True)
    """)
    deadline = time.monotonic() + 5  # PostgreSQL: as soon as the NOTIFY arrives
    while "agent:main:b" not in writer.snapshot() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.snapshot()["agent:main:a"]["outside"] is True
    update_session_store_entry(store.path, "agent:main:a", lambda e: {"label": "again"})
    import json

    saved = json.loads(store.stored())
    assert saved["agent:main:a"]["outside"] is True and saved["agent:main:a"]["label"] == "again"
    assert list(saved) == ["agent:main:a", "agent:main:b"]


def test_a_key_deleted_and_set_again_moves_to_the_end(store):
    store.seed({"agent:main:a": {"sessionId": "a", "updatedAt": 1}, "agent:main:b": {"sessionId": "b", "updatedAt": 2}})

    def move(s):
        entry = dict(s.peek("agent:main:a"))
        del s["agent:main:a"]
        s["agent:main:a"] = entry  # same content, new place: JS object order changed

    update_session_store(store.path, move, skip_maintenance=True)
    expected = {"agent:main:b": {"sessionId": "b", "updatedAt": 2}, "agent:main:a": {"sessionId": "a", "updatedAt": 1}}
    assert store.stored() == stringify(expected).encode()


def test_a_store_written_by_the_other_backend_reads_back_byte_identical(store, tmp_path):
    """Legacy fields are migrated on load and the canonical text is what both write."""
    from openclaw_core.engine.store.state import StoreState

    legacy = {"agent:main:main": {"sessionId": "a", "updatedAt": 3, "provider": "telegram", "room": "r",
                                  "model": "  gpt ", "modelProvider": " "}}
    canonical = StoreState.parse(stringify(legacy).encode(), source="t").text()
    store.seed(legacy)
    update_session_store(store.path, lambda s: None, skip_maintenance=True)  # a save rewrites it
    assert store.stored() == canonical
