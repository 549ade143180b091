"""``openclaw sessions cleanup`` against every recorded cleanup case of the real
OpenClaw 2026.5.4 (tests/reference_cases: the kit's public cases plus ours;
tests/reference_cases_ext: cases our own recorder made, with symlinks and text
output). Each run gets a fresh state and a real subprocess of our CLI; stdout
(key order too), exit status, the stores, the file tree and the maintenance
log lines must be the reference's.

The runs where we differ on purpose are listed in INTENTIONAL with the test
that pins our behaviour instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import refcases
from conftest import OPENCLAW

HERE = Path(__file__).resolve().parent
CASE_DIRS = [HERE / "reference_cases", HERE / "reference_cases_ext"]

# (case, run) -> the test that covers our deliberate difference
INTENTIONAL = {
    ("06-active-key", "dry-run-active"): "test_cleanup_cli.py::test_dry_run_with_active_key_previews_the_enforce_run",
    # the reference's budget deletes the transcripts another store of the shared dir references
    ("93-cleanup-budget-shared-store-dir", "agent-a-dry-run"):
        "test_hostile_store.py::test_one_agents_disk_budget_keeps_the_transcripts_another_store_in_its_dir_references",
    ("93-cleanup-budget-shared-store-dir", "agent-a-enforce"):
        "test_hostile_store.py::test_one_agents_disk_budget_keeps_the_transcripts_another_store_in_its_dir_references",
}


def _runs():
    for base in CASE_DIRS:
        for case_file in sorted(base.glob("*/case.json")):
            case = json.loads(case_file.read_text())
            if case.get("kind", "cleanup") != "cleanup":
                continue
            for run in case["runs"]:
                key = (case_file.parent.name, run["name"])
                marks = [pytest.mark.skip(reason=f"intentional difference, see {INTENTIONAL[key]}")] \
                    if key in INTENTIONAL else []
                yield pytest.param(case_file.parent, case, run, id=f"{key[0]}/{key[1]}", marks=marks)


@pytest.mark.parametrize(("case_dir", "case", "run"), list(_runs()))
def test_cleanup_matches_reference(case_dir, case, run, tmp_path):
    out = refcases.run_cli([OPENCLAW], case, run, tmp_path / "run")
    problems = refcases.compare(case_dir, out)
    assert not problems, "\n".join(problems)


def test_the_checker_catches_a_wrong_cli(tmp_path):
    """A CLI that prints nothing and fails is reported, not waved through."""
    case_dir = HERE / "reference_cases" / "01-stale-prune"
    case = json.loads((case_dir / "case.json").read_text())
    out = refcases.run_cli(["/bin/false"], case, case["runs"][0], tmp_path / "run")
    assert refcases.compare(case_dir, out)


def test_the_checker_sees_a_wrong_store(tmp_path):
    case_dir = HERE / "reference_cases" / "01-stale-prune"
    case = json.loads((case_dir / "case.json").read_text())
    enforce = next(r for r in case["runs"] if r["name"] == "enforce")
    out = refcases.run_cli([OPENCLAW], case, enforce, tmp_path / "run")
    out.stores["main"] = out.stores["main"].replace("now-29d", "now-28d")
    out.tree = out.tree.replace("sessions.json\t1241", "sessions.json\t1240")
    problems = refcases.compare(case_dir, out)
    assert any("sessions.main.json" in p for p in problems)
    assert any("tree.after" in p for p in problems)


def test_time_and_archive_normalisation():
    now = 1_800_000_000_000
    assert refcases.rel_duration(40 * 86_400_000) == "now-40d"
    assert refcases.rel_duration(90 * 60_000) == "now-90m"
    assert refcases.rel_duration(-7_200_000) == "now+2h"
    assert refcases.rel_duration(1500) == "now-1500ms"
    stamp = refcases.archive_stamp(now - 2 * 86_400_000)
    assert refcases.archive_name(f"x.jsonl.deleted.{stamp}", now) == "x.jsonl.deleted.<now-2d>"
    assert refcases.archive_name(f"x.jsonl.reset.{refcases.archive_stamp(now + 5)}", now) == "x.jsonl.reset.<RUN-TS>"
    assert refcases.normalise_value({"updatedAt": now - 3_600_000, "n": {"sessionStartedAt": now}}, now, "/s") == \
        {"updatedAt": "now-1h", "n": {"sessionStartedAt": "now-0ms"}}


def test_the_invalid_config_block_is_compared_but_for_its_two_documented_lines():
    reference = 'Config invalid\nFile: $STATE/openclaw.json\nProblem:\n  - <root>: Unrecognized key: "sesion"\n\n' \
                "Run: openclaw doctor --fix\n"
    ours = 'Config invalid\nFile: $STATE/openclaw.json\nProblem:\n  - <root>: Unrecognized key: "sesion"\n' \
           'Hint: sesion: did you mean "session"?\n'
    assert refcases.comparable_stderr(reference) == refcases.comparable_stderr(ours)
    assert refcases.comparable_stderr(reference) != refcases.comparable_stderr(ours.replace('"sesion"\n', '"x"\n', 1))
    # Outside that block nothing is dropped.
    assert refcases.comparable_stderr("Error: x\nHint: y\n") == "Error: x\nHint: y"
