"""Each maintenance policy and each boundary, on real stores and real files.

Policies run through the framework exactly as the writer runs them
(``run_maintenance`` on a view of a loaded store); the batching tests go
through ordinary writes (``update_session_store``) and the real writer.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from openclaw_core.app import hooks
from openclaw_core.base import keys
from oc import load_config
from openclaw_core.base.errors import OpenClawError
from openclaw_core.engine.maintenance import (
    MaintenanceRequest,
    MaintenanceSettings,
    entry_high_water,
    run_maintenance,
)
from openclaw_core.js.values import to_number as js_to_number
from openclaw_core.app import get_plugin_manager
from openclaw_core.app import load_session_store, update_session_store, update_session_store_entry
from oc import open_backend
from openclaw_core.engine.store.state import MutationView
from openclaw_core.engine.store.writer import close_writers
from conftest import DAY_MS, write_store

from openclaw_maintenance import artifacts
from openclaw_maintenance.policies import purge_archives

NOW = int(time.time() * 1000)


def sid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def config_file(state_dir: Path, maintenance: dict) -> None:
    (state_dir / "openclaw.json").write_text(json.dumps({"session": {"maintenance": maintenance}}))


def touch(path: Path, size: int = 100, age_ms: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    mtime = (NOW - age_ms) / 1000
    os.utime(path, (mtime, mtime))
    return path


def maintain(store_path: Path, entries: dict | None = None, *, maintenance: dict | None = None,
             request: MaintenanceRequest | None = None, now: int = NOW):
    """Run every registered policy once on the store; returns (report, entries after, log lines)."""
    if entries is not None:
        write_store(store_path, entries)
    backend = open_backend(str(store_path), load_config())
    view = MutationView(backend.load())
    lines: list[str] = []
    report = run_maintenance(view, backend, MaintenanceSettings.resolve(maintenance or {}),
                             request or MaintenanceRequest(mode="enforce", force=True), hooks(), now_ms=now,
                             log=lines.append)
    return report, {k: dict(v) for k, v in view.peek_items()}, lines


# --- settings and boundaries -------------------------------------------------------------

@pytest.mark.parametrize(("max_entries", "high_water"), [
    (2, 3), (50, 75), (500, 550), (1, 2), (49, 50), (51, 76), (1000, 1100),
    (0, 1), (-3, 1), ("500", 1), (1.5, 1), (True, 1), (2**53, 1),
])
def test_entry_high_water(max_entries, high_water):
    assert entry_high_water(max_entries) == high_water


def test_settings_resolve_like_the_reference():
    s = MaintenanceSettings.resolve({})
    assert (s.mode, s.prune_after_ms, s.max_entries, s.reset_archive_retention_ms, s.max_disk_bytes,
            s.high_water_bytes) == ("enforce", 30 * DAY_MS, 500, 30 * DAY_MS, None, None)
    s = MaintenanceSettings.resolve({"pruneAfter": 7, "maxDiskBytes": "10kb", "resetArchiveRetention": False,
                                     "maxEntries": 50.0})
    assert (s.prune_after_ms, s.max_disk_bytes, s.high_water_bytes, s.reset_archive_retention_ms, s.max_entries) \
        == (7 * DAY_MS, 10240, 8192, None, 50)
    assert MaintenanceSettings.resolve({"maxDiskBytes": 900, "highWaterBytes": "2kb"}).high_water_bytes == 900
    assert MaintenanceSettings.resolve({"pruneDays": 3}).prune_after_ms == 3 * DAY_MS
    assert MaintenanceSettings.resolve({"mode": "warn"}).enforce is False


@pytest.mark.parametrize(("value", "number"), [
    (5, 5.0), ("1000", 1000.0), (" 12 ", 12.0), ("", 0.0), (True, 1.0), (False, 0.0), ([], 0.0), ([7], 7.0),
    ("0x10", 16.0), ("1e3", 1000.0), ("Infinity", float("inf")),
    # where maintenance's own copy of Number() once disagreed with JS (one home now):
    ([[1]], 1.0), (10**400, float("inf")),
])
def test_js_to_number(value, number):
    assert js_to_number(value) == number


@pytest.mark.parametrize("value", ["soon", [1, 2], {"a": 1}, "1,5", "\u0663", "0x1_0", "1_000"])
def test_js_to_number_nan(value):
    assert js_to_number(value) != js_to_number(value)


# --- the entry cap: batched on ordinary writes, at once in cleanup ---------------------------------

def _fresh_store(n: int, start: int = 0) -> dict:
    return {f"agent:main:telegram:direct:{i}": {"sessionId": sid(i + 1), "updatedAt": NOW - (i + 1) * 60_000}
            for i in range(start, start + n)}


def _add_one(store):
    store["agent:main:new"] = {"sessionId": sid(99999), "updatedAt": int(time.time() * 1000)}


@pytest.mark.parametrize(("max_entries", "high_water"), [(2, 3), (50, 75), (500, 550)])
def test_ordinary_writes_cap_only_at_the_high_water_mark(state_dir, store_path, max_entries, high_water):
    config_file(state_dir, {"maxEntries": max_entries})
    # One below the mark after the write: nothing is capped.
    write_store(store_path, _fresh_store(high_water - 2))
    update_session_store(store_path, _add_one)
    assert len(load_session_store(store_path)) == high_water - 1
    close_writers()
    # Reaching the mark: capped to maxEntries at once, newest kept.
    write_store(store_path, _fresh_store(high_water - 1))
    update_session_store(store_path, _add_one)
    after = load_session_store(store_path)
    assert len(after) == max_entries
    assert "agent:main:new" in after and "agent:main:telegram:direct:0" in after
    assert f"agent:main:telegram:direct:{high_water - 2}" not in after


def test_cleanup_caps_without_batching(store_path):
    report, after, lines = maintain(store_path, _fresh_store(3), maintenance={"maxEntries": 2})
    assert report.capped == 1 and list(after) == ["agent:main:telegram:direct:0", "agent:main:telegram:direct:1"]
    assert lines == ["capped session entry count"]


def test_a_plain_request_is_batched_a_forced_one_is_not(store_path):
    # 74 entries over a cap of 50: below the high-water mark (75) an ordinary write leaves them.
    report, after, _ = maintain(store_path, _fresh_store(74), maintenance={"maxEntries": 50},
                                request=MaintenanceRequest())
    assert report.capped == 0 and len(after) == 74
    report, after, _ = maintain(store_path, _fresh_store(74), maintenance={"maxEntries": 50},
                                request=MaintenanceRequest(force=True))
    assert report.capped == 24 and len(after) == 50


def test_cap_keeps_preserved_entries_and_counts_them(store_path):
    entries = {
        "agent:main:telegram:group:1": {"sessionId": sid(1), "updatedAt": NOW - 9 * DAY_MS},
        "agent:main:telegram:direct:a": {"sessionId": sid(2), "updatedAt": NOW - DAY_MS},
        "agent:main:telegram:direct:b": {"sessionId": sid(3), "updatedAt": NOW - 2 * DAY_MS},
        "agent:main:telegram:direct:active": {"sessionId": sid(4), "updatedAt": NOW - 3 * DAY_MS},
    }
    request = MaintenanceRequest(mode="enforce", force=True, active_keys=frozenset({"agent:main:telegram:direct:active"}))
    report, after, _ = maintain(store_path, entries, maintenance={"maxEntries": 3}, request=request)
    assert report.capped == 1
    assert list(after) == ["agent:main:telegram:group:1", "agent:main:telegram:direct:a",
                           "agent:main:telegram:direct:active"]
    # Preserved entries alone reaching maxEntries remove every other one.
    report, after, _ = maintain(store_path, entries, maintenance={"maxEntries": 2}, request=request)
    assert set(after) == {"agent:main:telegram:group:1", "agent:main:telegram:direct:active"}


def test_cap_ties_in_updated_at_keep_js_property_order(store_path):
    same = NOW - DAY_MS
    # The file lists "42" and "7" last; JS property order puts them first ("7" < "42").
    text = ('{\n  "agent:main:x:a": {"sessionId": "a", "updatedAt": %d},\n'
            '  "agent:main:x:b": {"sessionId": "b", "updatedAt": %d},\n'
            '  "42": {"sessionId": "c", "updatedAt": %d},\n'
            '  "7": {"sessionId": "d", "updatedAt": %d}\n}') % (same, same, same, same)
    store_path.write_text(text)
    report, after, _ = maintain(store_path, maintenance={"maxEntries": 2})
    assert list(after) == ["7", "42"] and report.capped == 2


def test_entries_without_updated_at_are_never_pruned_and_capped_last(store_path):
    entries = {
        "agent:main:x:none": {"sessionId": sid(1)},
        "agent:main:x:null": {"sessionId": sid(2), "updatedAt": None},
        "agent:main:x:old": {"sessionId": sid(3), "updatedAt": NOW - 300 * DAY_MS},
        "agent:main:x:new": {"sessionId": sid(4), "updatedAt": NOW - DAY_MS},
    }
    report, after, _ = maintain(store_path, entries, maintenance={"pruneAfter": "1d", "maxEntries": 500})
    assert report.pruned == 1 and set(after) == {"agent:main:x:none", "agent:main:x:null", "agent:main:x:new"}
    report, after, _ = maintain(store_path, entries, maintenance={"pruneAfter": "1000d", "maxEntries": 2})
    assert report.capped == 2 and list(after) == ["agent:main:x:old", "agent:main:x:new"]


# --- stale prune ---------------------------------------------------------------------------------

def test_stale_prune_boundary_and_protection(store_path):
    entries = {
        "agent:main:telegram:direct:31d": {"sessionId": sid(1), "updatedAt": NOW - 31 * DAY_MS},
        "agent:main:telegram:direct:29d": {"sessionId": sid(2), "updatedAt": NOW - 29 * DAY_MS},
        "agent:main:telegram:direct:exact": {"sessionId": sid(3), "updatedAt": NOW - 30 * DAY_MS},
        "agent:main:telegram:group:1": {"sessionId": sid(4), "updatedAt": NOW - 90 * DAY_MS},
        "agent:main:cron:job:run:1": {"sessionId": sid(5), "updatedAt": NOW - 90 * DAY_MS, "chatType": "group"},
        "agent:main:Discord:GROUP:5": {"sessionId": sid(6), "updatedAt": NOW - 90 * DAY_MS},
        "agent:main:slack:direct:u:thread:9": {"sessionId": sid(7), "updatedAt": NOW - 90 * DAY_MS},
        "agent:main:telegram:group:9:heartbeat": {"sessionId": sid(8), "updatedAt": NOW - 90 * DAY_MS},
        "agent:main:string-time": {"sessionId": sid(9), "updatedAt": str(NOW - 90 * DAY_MS)},
    }
    report, after, lines = maintain(store_path, entries)
    assert set(after) == {"agent:main:telegram:direct:29d", "agent:main:telegram:direct:exact",
                          "agent:main:telegram:group:1", "agent:main:Discord:GROUP:5",
                          "agent:main:slack:direct:u:thread:9"}
    assert report.pruned == 4 and lines[0] == "pruned stale session entries"
    assert report.actions["agent:main:cron:job:run:1"] == "prune-stale"


def test_active_key_is_matched_exactly_by_prune(store_path):
    entries = {"agent:main:x:old": {"sessionId": sid(1), "updatedAt": NOW - 60 * DAY_MS}}
    keep = MaintenanceRequest(mode="enforce", force=True, active_keys=frozenset({"agent:main:x:old"}))
    upper = MaintenanceRequest(mode="enforce", force=True, active_keys=frozenset({"AGENT:MAIN:X:OLD"}))
    assert maintain(store_path, entries, request=keep)[0].pruned == 0
    assert maintain(store_path, entries, request=upper)[0].pruned == 1


# --- archiving, sidecars, purge -----------------------------------------------------------------

def test_removed_transcripts_are_archived_with_a_name_timestamp(store_path):
    d = store_path.parent
    touch(d / f"{sid(1)}.jsonl", 300, 40 * DAY_MS)
    touch(d / "custom.jsonl", 200)
    entries = {
        "agent:main:x:a": {"sessionId": sid(1), "updatedAt": NOW - 40 * DAY_MS},
        "agent:main:x:b": {"sessionId": sid(2), "updatedAt": NOW - 40 * DAY_MS, "sessionFile": "custom.jsonl"},
    }
    before = int(time.time() * 1000)
    report, _, _ = maintain(store_path, entries)
    names = sorted(p.name for p in d.iterdir() if ".deleted." in p.name)
    assert [n.split(".deleted.")[0] for n in names] == [f"{sid(1)}.jsonl", "custom.jsonl"]
    for name in names:
        stamp = artifacts.parse_archive_time(name, "deleted")
        assert before - 5 <= stamp <= int(time.time() * 1000) + 5
    archived = d / names[0]
    assert archived.stat().st_size == 300 and archived.stat().st_mtime < time.time() - 39 * 86400  # mtime kept


def test_archive_never_leaves_the_store_dir(tmp_path, store_path):
    d = store_path.parent
    outside = touch(tmp_path / "elsewhere" / "x.jsonl", 100)
    touch(d.parent / "y.jsonl", 100)
    (d / f"{sid(3)}.jsonl").symlink_to(outside)
    entries = {
        "agent:main:x:abs": {"sessionId": sid(1), "updatedAt": NOW - 40 * DAY_MS, "sessionFile": str(outside)},
        "agent:main:x:rel": {"sessionId": sid(2), "updatedAt": NOW - 40 * DAY_MS, "sessionFile": "../y.jsonl"},
        "agent:main:x:link": {"sessionId": sid(3), "updatedAt": NOW - 40 * DAY_MS},
    }
    report, after, _ = maintain(store_path, entries)
    assert report.pruned == 3 and not after
    assert outside.exists() and (d.parent / "y.jsonl").exists()
    assert (d / f"{sid(3)}.jsonl").is_symlink() and report.archived == []


def test_a_transcript_still_used_by_a_surviving_entry_is_not_archived(store_path):
    d = store_path.parent
    touch(d / f"{sid(1)}.jsonl")
    entries = {
        "agent:main:x:old": {"sessionId": sid(1), "updatedAt": NOW - 40 * DAY_MS},
        "agent:main:x:new": {"sessionId": sid(1), "updatedAt": NOW - DAY_MS},
    }
    report, _, _ = maintain(store_path, entries)
    assert report.pruned == 1 and (d / f"{sid(1)}.jsonl").exists() and report.archived == []


def test_trajectory_sidecars_of_removed_sessions_go(tmp_path, store_path):
    d = store_path.parent
    touch(d / f"{sid(1)}.jsonl")
    runtime = touch(d / f"{sid(1)}.trajectory.jsonl")
    # A pointer to a runtime file outside the dir that proves to be this session's trace.
    outside_trace = tmp_path / "traces" / f"{sid(1)}.jsonl"
    outside_trace.parent.mkdir()
    outside_trace.write_text(json.dumps({"traceSchema": "openclaw-trajectory", "schemaVersion": 1,
                                         "source": "runtime", "sessionId": sid(1)}) + "\n")
    not_a_trace = tmp_path / "traces" / "other.jsonl"
    not_a_trace.write_text("{}\n")
    (d / f"{sid(1)}.trajectory-path.json").write_text(json.dumps({
        "traceSchema": "openclaw-trajectory-pointer", "schemaVersion": 1, "sessionId": sid(1),
        "runtimeFile": str(outside_trace)}))
    (d / f"{sid(2)}.trajectory-path.json").write_text(json.dumps({
        "traceSchema": "openclaw-trajectory-pointer", "schemaVersion": 1, "sessionId": sid(2),
        "runtimeFile": str(not_a_trace)}))
    link = d / f"{sid(3)}.trajectory.jsonl"
    link.symlink_to(not_a_trace)
    entries = {key: {"sessionId": sid(n), "updatedAt": NOW - 40 * DAY_MS}
               for key, n in (("agent:main:x:1", 1), ("agent:main:x:2", 2), ("agent:main:x:3", 3))}
    report, _, _ = maintain(store_path, entries)
    assert not runtime.exists() and not (d / f"{sid(1)}.trajectory-path.json").exists()
    assert not outside_trace.exists()          # validated by name and first event
    assert not_a_trace.exists()                 # named otherwise: kept
    assert not (d / f"{sid(2)}.trajectory-path.json").exists()
    assert link.is_symlink()                    # never a symlink


def test_archives_are_aged_by_their_name_not_their_mtime(tmp_path):
    d = tmp_path
    old_name_fresh_mtime = touch(d / f"a.jsonl.deleted.{artifacts.archive_timestamp(NOW - 9 * DAY_MS)}", 10, 0)
    fresh_name_old_mtime = touch(d / f"b.jsonl.deleted.{artifacts.archive_timestamp(NOW - 2 * DAY_MS)}", 10,
                                 90 * DAY_MS)
    reset_old = touch(d / f"c.jsonl.reset.{artifacts.archive_timestamp(NOW - 10 * DAY_MS)}", 10, 0)
    bak = touch(d / f"d.jsonl.bak.{artifacts.archive_timestamp(NOW - 90 * DAY_MS)}", 10, 90 * DAY_MS)
    (d / f"e.jsonl.deleted.{artifacts.archive_timestamp(NOW - 90 * DAY_MS)}").mkdir()
    removed = purge_archives([str(d)], 7 * DAY_MS, "deleted", now_ms=NOW)
    assert removed == [str(old_name_fresh_mtime)]
    assert fresh_name_old_mtime.exists() and reset_old.exists() and bak.exists()
    assert purge_archives([str(d)], 3 * DAY_MS, "reset", now_ms=NOW) == [str(reset_old)]
    assert purge_archives([str(d)], None, "reset", now_ms=NOW) == []


def test_purge_runs_in_the_store_dir_unless_retention_is_false(store_path):
    d = store_path.parent
    old = touch(d / f"x.jsonl.deleted.{artifacts.archive_timestamp(NOW - 40 * DAY_MS)}")
    fresh = {"agent:main:main": {"sessionId": sid(1), "updatedAt": NOW}}
    maintain(store_path, fresh, maintenance={"resetArchiveRetention": False})
    assert old.exists()
    maintain(store_path, fresh)
    assert not old.exists()


def test_archive_timestamps_parse_like_v8():
    assert artifacts.archive_timestamp(1772409600123) == "2026-03-02T00-00-00.123Z"
    parse = artifacts.parse_archive_time
    assert parse("x.deleted.2026-02-30T00-00-00Z", "deleted") == 1772409600000  # rolls over like Date.parse
    assert parse("x.deleted.2026-01-01T24-00-00Z", "deleted") == 1767312000000
    for bad in ("2026-01-01T24-00-00.001Z", "2026-13-01T00-00-00Z", "2026-01-32T00-00-00Z", "2026-01-01T23-60-00Z"):
        assert parse(f"x.deleted.{bad}", "deleted") is None
    assert parse("x.jsonl.deleted.2026-01-01T00-00-00Z", "reset") is None
    assert artifacts.is_archive_artifact("sessions.json.bak.1700000000000")
    assert not artifacts.is_primary_transcript("a.jsonl.deleted.2026-01-01T00-00-00Z")


# --- fix-missing -------------------------------------------------------------------------------

def test_fix_missing_removes_entries_whose_transcript_is_gone(store_path):
    d = store_path.parent
    touch(d / f"{sid(1)}.jsonl")
    touch(d / f"{sid(3)}.jsonl")
    entries = {
        "agent:main:telegram:group:1": {"sessionId": sid(2), "updatedAt": NOW},     # protected, missing
        "agent:main:x:has": {"sessionId": sid(1), "updatedAt": NOW},
        "agent:main:x:gone-file": {"sessionId": sid(3), "updatedAt": NOW, "sessionFile": "gone.jsonl"},
        "agent:main:x:no-id": {"updatedAt": NOW},
    }
    request = MaintenanceRequest(mode="enforce", force=True, fix_missing=True)
    report, after, _ = maintain(store_path, entries, request=request)
    assert report.missing == 2 and set(after) == {"agent:main:x:has", "agent:main:x:no-id"}
    assert report.before_count == 2  # counted after the missing ones went, as the reference reports
    assert (d / f"{sid(3)}.jsonl").exists()  # a missing-transcript entry's other file is left alone
    dry = MaintenanceRequest(mode="enforce", force=True, fix_missing=True, dry_run=True)
    assert maintain(store_path, entries, request=dry)[0].before_count == 4


def test_fix_missing_refuses_an_id_that_cannot_name_a_file(store_path):
    entries = {"agent:main:x": {"sessionId": "../../etc/passwd", "updatedAt": NOW}}
    with pytest.raises(OpenClawError, match=r"^Error: Invalid session ID: \.\./\.\./etc/passwd$"):
        maintain(store_path, entries, request=MaintenanceRequest(mode="enforce", force=True, fix_missing=True))


# --- warn mode ------------------------------------------------------------------------------------

def test_warn_mode_removes_nothing(store_path):
    entries = {"agent:main:x:old": {"sessionId": sid(1), "updatedAt": NOW - 90 * DAY_MS},
               **_fresh_store(3)}
    report, after, lines = maintain(store_path, entries, maintenance={"mode": "warn", "maxEntries": 1},
                                    request=MaintenanceRequest(force=True))
    assert len(after) == 4 and (report.pruned, report.capped, report.mode) == (0, 0, "warn")
    assert lines == []


def test_warn_mode_warns_when_the_active_session_would_be_capped(store_path):
    # maxEntries 2 and the active entry third-newest: wouldCap, not wouldPrune.
    entries = _fresh_store(3)
    active = "agent:main:telegram:direct:2"
    request = MaintenanceRequest(active_keys=frozenset({active}))
    report, _, lines = maintain(store_path, entries, maintenance={"mode": "warn", "maxEntries": 2}, request=request)
    assert lines == ["session maintenance would evict active session; skipping enforcement"]
    warning = report.warnings[0]
    assert (warning["wouldCap"], warning["wouldPrune"], warning["totalEntries"]) == (True, False, 3)
    # Below the high-water mark (3 entries, maxEntries 3 -> 4) no warning is computed.
    report, _, lines = maintain(store_path, entries, maintenance={"mode": "warn", "maxEntries": 3}, request=request)
    assert lines == [] and report.warnings == []


def test_warn_mode_tie_rule_counts_entries_listed_before_the_active_one(store_path):
    same = NOW - DAY_MS
    entries = {f"agent:main:x:{c}": {"sessionId": sid(i + 1), "updatedAt": same} for i, c in enumerate("abc")}
    mid = MaintenanceRequest(active_keys=frozenset({"agent:main:x:b"}))
    first = MaintenanceRequest(active_keys=frozenset({"agent:main:x:a"}))
    # maxEntries 1: one entry (a) is "newer" than b by the tie rule -> would cap; a itself is first -> not.
    assert maintain(store_path, entries, maintenance={"mode": "warn", "maxEntries": 1}, request=mid)[0].warnings
    report = maintain(store_path, entries, maintenance={"mode": "warn", "maxEntries": 2}, request=first)[0]
    assert report.warnings == []


# --- disk budget ------------------------------------------------------------------------------------

def test_disk_budget_phase_one_then_phase_two(store_path):
    d = store_path.parent
    touch(d / f"{sid(1)}.jsonl", 500, DAY_MS)
    touch(d / f"{sid(2)}.jsonl", 500, 2 * DAY_MS)
    orphan = touch(d / "orphan.jsonl", 300, 5 * DAY_MS)
    notes = touch(d / "notes.txt", 50, 90 * DAY_MS)
    lock = touch(d / "sessions.json.lock", 5000)
    entries = {
        "agent:main:x:new": {"sessionId": sid(1), "updatedAt": NOW - DAY_MS},
        "agent:main:x:old": {"sessionId": sid(2), "updatedAt": NOW - 2 * DAY_MS},
    }
    report, after, lines = maintain(store_path, entries, maintenance={"maxDiskBytes": 1200, "highWaterBytes": 900})
    budget = report.disk_budget
    assert list(budget) == ["totalBytesBefore", "totalBytesAfter", "removedFiles", "removedEntries", "freedBytes",
                            "maxBytes", "highWaterBytes", "overBudget"]
    assert budget["removedFiles"] == 2 and budget["removedEntries"] == 1 and budget["freedBytes"] == 800
    assert list(after) == ["agent:main:x:new"] and not orphan.exists() and not (d / f"{sid(2)}.jsonl").exists()
    assert notes.exists() and lock.exists()  # not a session artifact; the lock never counts
    assert budget["totalBytesBefore"] < 5000 and lines[-1] == "applied session disk budget cleanup"


def test_disk_budget_counts_the_projected_store_not_the_file(store_path):
    d = store_path.parent
    touch(d / f"{sid(1)}.jsonl", 500)
    touch(d / f"{sid(2)}.jsonl", 500)
    entries = {f"agent:main:x:{i}": {"sessionId": sid(i), "updatedAt": NOW - i * DAY_MS} for i in (1, 2)}
    write_store(store_path, entries)
    # A stale 10 KB on-disk sessions.json does not cause over-eviction.
    store_path.write_bytes(store_path.read_bytes() + b" " * 10_000)
    report, after, _ = maintain(store_path, maintenance={"maxDiskBytes": 900, "highWaterBytes": 700})
    assert report.disk_budget["removedEntries"] == 1 and list(after) == ["agent:main:x:1"]


def test_disk_budget_warn_only_and_dry_run_delete_nothing(store_path):
    d = store_path.parent
    transcript = touch(d / f"{sid(1)}.jsonl", 2000)
    entries = {"agent:main:x:1": {"sessionId": sid(1), "updatedAt": NOW}}
    report, after, lines = maintain(store_path, entries, maintenance={"mode": "warn", "maxDiskBytes": 100},
                                    request=MaintenanceRequest(force=True))
    assert report.disk_budget["overBudget"] and report.disk_budget["removedEntries"] == 0
    assert lines == ["session disk budget exceeded (warn-only mode)"] and after and transcript.exists()
    dry = MaintenanceRequest(mode="enforce", force=True, dry_run=True)
    report, _, lines = maintain(store_path, entries, maintenance={"maxDiskBytes": 100}, request=dry)
    assert report.disk_budget["removedEntries"] == 1 and report.disk_budget["freedBytes"] == 2000
    assert transcript.exists() and lines == []


def test_disk_budget_evicts_undated_entries_first_and_skips_the_active_key_case_insensitively(store_path):
    d = store_path.parent
    for n in (1, 2, 3):
        touch(d / f"{sid(n)}.jsonl", 1000)
    entries = {
        "agent:main:x:dated": {"sessionId": sid(1), "updatedAt": NOW - 20 * DAY_MS},
        "agent:main:x:undated": {"sessionId": sid(2)},
        "agent:main:x:active": {"sessionId": sid(3)},
    }
    request = MaintenanceRequest(mode="enforce", force=True, active_keys=frozenset({"  AGENT:MAIN:X:ACTIVE "}))
    report, after, _ = maintain(store_path, entries, maintenance={"maxDiskBytes": 2500, "highWaterBytes": 2300},
                                request=request)
    assert list(report.actions) == ["agent:main:x:undated"] and set(after) == {"agent:main:x:dated",
                                                                               "agent:main:x:active"}


# --- protection, keys -----------------------------------------------------------------------------------

def test_protection_rules_of_spec_7_3():
    protected = ["agent:main:telegram:group:1", "agent:main:Discord:GROUP:5", "agent:main:x:thread:9",
                 "agent:main:telegram:direct:1:topic:7", "cron:nightly"]
    entries = {"cron:nightly": {"chatType": "group"}}
    for key in protected:
        assert keys.is_protected_entry(key, entries.get(key, {})), key
    assert not keys.is_protected_entry("agent:main:main", {})
    assert keys.is_protected_entry("agent:main:main", {"origin": {"chatType": "Channel"}})
    for key in ["agent:main:cron:x", "agent:main:telegram:group:9:heartbeat",
                "agent:main:subagent:1", "acp:1", "agent:main:hook:gmail:1", "agent:main:node:a"]:
        assert not keys.is_protected_entry(key, {"chatType": "group"}), key


@pytest.mark.parametrize("key", [
    "agent:main:subagent:x", "subagent:x", "acp:y", "agent:w:acp:z", "agent:main:cron:j", "cron:j",
    "agent:main:hook:a", "hook:a", "agent:main:node:n", "agent:main:heartbeat", "x:heartbeat",
    "agent:main:a:heartbeat:b", " Agent:Main:Cron:J ", "agent::main::cron:x", "", "agent:main", "agent:main:main",
])
def test_synthetic_keys_agree_with_their_definition(key):
    rest = keys.key_rest(key)
    expected = (keys.is_subagent_key(key) or keys.is_acp_key(key) or keys.is_cron_key(key)
                or rest.startswith("hook:") or rest.startswith("node:") or rest == "heartbeat"
                or rest.endswith(":heartbeat") or ":heartbeat:" in rest)
    assert keys.is_synthetic_key(key) == expected


def test_update_session_store_entry_keeps_its_own_key_as_active(state_dir, store_path):
    # A write names its entry as active: the cap never evicts it, however old.
    config_file(state_dir, {"maxEntries": 2})
    entries = _fresh_store(2)
    entries["agent:main:x:old"] = {"sessionId": sid(7), "updatedAt": NOW - 20 * DAY_MS}
    write_store(store_path, entries)
    update_session_store_entry(store_path, "agent:main:x:old", lambda e: {"label": "x", "updatedAt": e["updatedAt"]})
    after = load_session_store(store_path)
    assert "agent:main:x:old" in after and len(after) == 2
