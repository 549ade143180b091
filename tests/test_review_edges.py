"""Edges found by a hostile review of the issue 13 / 18 work (real CLI
processes, real Gateways, real files): each test failed before its fix."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import DAY_MS, now_ms, write_store

SID = "11111111-1111-4111-8111-111111111111"


# --- a sessions dir shared by several stores: the stale prune's archive rename -------------

def _shared_dir_with_one_transcript(state_dir: Path) -> Path:
    """Stores a and b in one dir; a's stale entry and b's live one name the same transcript."""
    stores = state_dir / "stores"
    stores.mkdir()
    (state_dir / "openclaw.json").write_text(json.dumps({
        "session": {"store": "${OPENCLAW_STATE_DIR}/stores/{agentId}.json", "maintenance": {"pruneAfter": "30d"}},
        "agents": {"list": [{"id": "a", "default": True}, {"id": "b"}]}}))
    (stores / f"{SID}.jsonl").write_text('{"type":"session"}\n')
    (stores / f"{SID}.trajectory.jsonl").write_text('{"traceSchema":"openclaw-trajectory"}\n')
    write_store(stores / "a.json", {"agent:a:old": {"sessionId": SID, "updatedAt": now_ms() - 40 * DAY_MS},
                                    "agent:a:main": {"sessionId": "a2", "updatedAt": now_ms()}})
    write_store(stores / "b.json", {"agent:b:main": {"sessionId": SID, "sessionFile": f"{SID}.jsonl",
                                                     "updatedAt": now_ms()}})
    return stores


def test_the_stale_prune_does_not_archive_a_transcript_another_store_of_the_dir_references(state_dir, run_openclaw):
    """The reference renames b's live transcript to .deleted.<TS> and deletes its
    trajectory when a's stale entry names the same file (checked by hand on 2026.5.4)."""
    stores = _shared_dir_with_one_transcript(state_dir)
    result = run_openclaw("sessions", "cleanup", "--agent", "a", "--enforce", "--json")
    assert result.exit_code == 0, result
    assert result.json()["pruned"] == 1, result
    assert "agent:a:old" not in json.loads((stores / "a.json").read_text())
    assert (stores / f"{SID}.jsonl").read_text() == '{"type":"session"}\n'
    assert (stores / f"{SID}.trajectory.jsonl").exists()
    assert not list(stores.glob("*.deleted.*"))


def test_the_stale_prune_still_archives_a_transcript_no_other_store_references(state_dir, run_openclaw):
    stores = _shared_dir_with_one_transcript(state_dir)
    write_store(stores / "b.json", {"agent:b:main": {"sessionId": "b1", "updatedAt": now_ms()}})
    result = run_openclaw("sessions", "cleanup", "--agent", "a", "--enforce", "--json")
    assert result.exit_code == 0, result
    assert not (stores / f"{SID}.jsonl").exists() and not (stores / f"{SID}.trajectory.jsonl").exists()
    assert len(list(stores.glob(f"{SID}.jsonl.deleted.*"))) == 1
