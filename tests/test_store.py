"""The session store: strict load, exact save, atomic and durable writes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CASES, DAY_MS, build_case, now_ms, requires_reference_cases, write_store

from openclaw_core import load_session_store, update_session_store, update_session_store_entry
from openclaw_core.base.errors import StoreCorruptError
from openclaw_core.engine.store.state import StoreState


def test_save_is_byte_identical_to_the_reference_format(store_path):
    entries = {
        "agent:main:main": {"sessionId": "s1", "updatedAt": now_ms(), "unknownField": {"nested": [1, "x"]},
                            "label": "é ✨ \u2028"},
        "agent:main:telegram:group:-100": {"sessionId": "s2", "updatedAt": now_ms(), "chatType": "group"},
    }
    raw = write_store(store_path, entries)
    update_session_store(store_path, lambda store: store["agent:main:main"].update(label="changed"))
    entries["agent:main:main"]["label"] = "changed"
    from openclaw_core.js.json import stringify

    assert store_path.read_bytes() == stringify(entries).encode()
    assert not store_path.read_bytes().endswith(b"\n")
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    assert raw != store_path.read_bytes()


def test_unknown_fields_are_kept_verbatim(store_path):
    entry = {"sessionId": "s1", "updatedAt": now_ms(), "futureField": {"a": [1.5, None, True]}, "x-y": "z"}
    write_store(store_path, {"agent:main:main": entry})
    update_session_store_entry(store_path, "agent:main:main", lambda e: {"label": "L"})
    saved = json.loads(store_path.read_text())["agent:main:main"]
    assert saved["futureField"] == {"a": [1.5, None, True]}
    assert saved["x-y"] == "z"
    assert list(saved)[:4] == ["sessionId", "updatedAt", "futureField", "x-y"]


def test_unchanged_store_is_not_rewritten(store_path):
    write_store(store_path, {"agent:main:main": {"sessionId": "s1", "updatedAt": now_ms()}})
    os.chmod(store_path, 0o644)
    before = store_path.stat()
    update_session_store(store_path, lambda store: None)
    after = store_path.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert stat.S_IMODE(after.st_mode) == 0o644


@requires_reference_cases
@pytest.mark.parametrize("case", ["01-stale-prune", "02-max-entries-cap", "03-synthetic-keys", "04-fix-missing",
                                  "05-disk-budget", "06-active-key", "09-all-agents", "10-store-rewrite"])
def test_reference_case_stores_round_trip_to_the_reference_bytes(tmp_path, case):
    """Every store of the recorded cases: our canonical text has the size the
    reference wrote (tree listings pin the byte count) and canonical input is
    reproduced byte for byte."""
    state = tmp_path / "state"
    build_case(CASES / case, state)
    for store in sorted(state.glob("agents/*/sessions/sessions.json")):
        raw = store.read_bytes()
        parsed = StoreState.parse(raw, source=str(store))
        if case == "10-store-rewrite":
            # migrated on load; the reference rewrote it to exactly this many bytes
            assert len(parsed.text()) == 437
            assert not parsed.on_disk_matches
        else:
            assert parsed.text() == raw
            assert parsed.on_disk_matches


def test_the_loaded_text_is_compared_with_the_file_byte_for_byte():
    state = StoreState.from_entries({"1": {"n": 1}, "b": {"s": "x"}}, source="t")
    raw = state.text()
    assert state.text_equals(raw) and StoreState.parse(raw, source="t").on_disk_matches
    assert not state.text_equals(raw.replace(b'"x"', b'"y"'))  # same size, one byte differs
    assert not state.text_equals(raw.replace(b'"x"', b'"xy"'))
    assert not state.text_equals(raw + b"\n")
    assert not state.text_equals(raw[:-1])
    # same bytes in another order: canonical JS order puts "1" first, so the file needs a rewrite
    swapped = b'{\n  "b": {\n    "s": "x"\n  },\n  "1": {\n    "n": 1\n  }\n}'
    assert len(swapped) == len(raw) and not StoreState.parse(swapped, source="t").on_disk_matches
    assert StoreState.parse(b"{}", source="t").on_disk_matches


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b'{"agent:main:main": {"sessionId": "s1"', "not valid JSON"),
    (b"[]", "an array"),
    (b"null", "null"),
    (b"42", "a number"),
    (b'{"k": 5}', 'entry "k" is a number'),
    (b"\xff\xfe{}", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
])
def test_corrupt_store_is_refused_and_left_untouched(store_path, content, problem):
    store_path.write_bytes(content)
    before = store_path.stat()
    with pytest.raises(StoreCorruptError) as err:
        update_session_store(store_path, lambda store: store.__setitem__("agent:main:x", {"sessionId": "x"}))
    assert problem in str(err.value)
    assert str(store_path) in str(err.value)
    assert store_path.read_bytes() == content
    assert store_path.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(StoreCorruptError):
        load_session_store(store_path)


def test_mutator_that_raises_leaves_no_trace(store_path):
    raw = write_store(store_path, {
        "agent:main:a": {"sessionId": "a", "updatedAt": now_ms(), "n": 1},
        "agent:main:b": {"sessionId": "b", "updatedAt": now_ms()},
    })

    def bad(store):
        store["agent:main:a"]["n"] = 2
        del store["agent:main:b"]
        store["agent:main:c"] = {"sessionId": "c"}
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        update_session_store(store_path, bad)
    assert store_path.read_bytes() == raw
    seen = update_session_store(store_path, lambda store: (list(store), dict(store.peek("agent:main:a"))))
    assert seen == (["agent:main:a", "agent:main:b"], {"sessionId": "a", "updatedAt": seen[1]["updatedAt"], "n": 1})


def test_mutation_with_unserialisable_value_fails_alone(store_path):
    raw = write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    with pytest.raises(Exception, match="not a JSON value"):
        update_session_store(store_path, lambda store: store["agent:main:a"].update(bad=object()))
    assert store_path.read_bytes() == raw


def test_missing_store_reads_empty_and_entry_update_writes_nothing(store_path):
    assert dict(load_session_store(store_path)) == {}
    assert update_session_store_entry(store_path, "agent:main:main", lambda e: {"x": 1}) is None
    assert not store_path.exists()


def test_update_entry_merges_like_the_reference(store_path):
    t0 = now_ms() - DAY_MS
    write_store(store_path, {
        "Agent:Main:Main": {"sessionId": "old", "updatedAt": t0 - 5, "model": "a", "modelProvider": "p"},
        "agent:main:main": {"sessionId": "s1", "updatedAt": t0, "sessionStartedAt": t0 - 100,
                            "model": "a", "modelProvider": "p"},
    })
    merged = update_session_store_entry(store_path, " AGENT:main:MAIN ", lambda e: {"model": "b"})
    assert merged["sessionId"] == "s1"          # the newest variant won
    assert merged["updatedAt"] >= now_ms() - 5000
    assert merged["sessionStartedAt"] == t0 - 100
    assert "modelProvider" not in merged        # a new model drops the old provider
    saved = json.loads(store_path.read_text())
    assert list(saved) == ["agent:main:main"]   # legacy case variants removed


def test_update_entry_clamps_future_times_and_keeps_acp(store_path):
    write_store(store_path, {"agent:main:main": {"sessionId": "s1", "updatedAt": now_ms(), "acp": {"agent": "x"}}})

    def drop_acp(store):
        entry = store["agent:main:main"]
        del entry["acp"]

    update_session_store(store_path, drop_acp)
    assert json.loads(store_path.read_text())["agent:main:main"]["acp"] == {"agent": "x"}
    update_session_store(store_path, drop_acp, allow_drop_acp=["agent:main:main"])
    assert "acp" not in json.loads(store_path.read_text())["agent:main:main"]
    merged = update_session_store_entry(store_path, "agent:main:main", lambda e: {"updatedAt": now_ms() + 10 * DAY_MS})
    assert merged["updatedAt"] <= now_ms()


def test_snapshot_is_read_only_and_a_copy(store_path):
    write_store(store_path, {"agent:main:main": {"sessionId": "s1", "updatedAt": now_ms()}})
    snap = load_session_store(store_path)
    with pytest.raises(TypeError):
        snap["x"] = {}  # type: ignore[index]
    snap["agent:main:main"]["sessionId"] = "mutated"  # a caller scribbling on its copy...
    update_session_store(store_path, lambda s: s["agent:main:main"].update(n=1))
    assert json.loads(store_path.read_text())["agent:main:main"]["sessionId"] == "s1"  # ...changes nothing


def test_leftover_temp_files_are_removed_on_next_open(store_path):
    write_store(store_path, {})
    leftover = store_path.with_name("sessions.json.0b7c8f1e-2d4a-4c1e-9f3a-6a1d2e3f4b5c.tmp")
    leftover.write_text("partial")
    unrelated = store_path.with_name("notes.tmp")
    unrelated.write_text("keep")
    update_session_store(store_path, lambda s: s.__setitem__("agent:main:x", {"sessionId": "x"}))
    assert not leftover.exists()
    assert unrelated.exists()


def test_store_is_written_atomically_by_rename(store_path):
    write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    inode = store_path.stat().st_ino
    update_session_store(store_path, lambda s: s["agent:main:a"].update(x=1))
    assert store_path.stat().st_ino != inode
    assert [p.name for p in store_path.parent.iterdir() if p.name.endswith(".tmp")] == []
