"""``sessions cleanup`` with the stores on SQLite gives the file store's results
on the recorded reference cases: the case runner checks both, and every case
must come out the same way (passed, or the same difference)."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import REPO, requires_reference_cases
from test_store_postgres_cleanup import CLEANUP_CASES, on_file_store, run_cases

WRAPPER = REPO / "tests" / "sqlite_cleanup_cli.py"


def check_same(cases: list[str], cases_dir: str | None = None) -> None:
    env = dict(os.environ)
    on_file = on_file_store(cases, env, cases_dir)
    on_sqlite = run_cases(f"{sys.executable} {WRAPPER}", cases, env, cases_dir)
    assert on_sqlite == on_file


@requires_reference_cases
def test_stale_prune_case_on_sqlite_equals_the_file_store():
    check_same(["01-stale-prune"])


@requires_reference_cases
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_cleanup_case_on_sqlite_equals_the_file_store():
    check_same(CLEANUP_CASES)


@requires_reference_cases
def test_a_shared_store_dir_keeps_other_agents_transcripts_on_sqlite_too():
    """Rows leave no other *.json in the dir to read: the guard asks the backend (case 93).
    The budget's byte counts differ from the file store's (the other agent's database is a
    file of another size than its JSON), so what is compared is what stays: every one of
    b's ten live transcripts, which the reference deletes."""
    env = dict(os.environ)
    case = "93-cleanup-budget-shared-store-dir"
    status, lines = run_cases(f"{sys.executable} {WRAPPER}", [case], env, str(REPO / "tests" / "reference_cases"))[case]
    assert status == "DIFF"
    kept = [line for line in lines if line.startswith("+stores/000000b")]
    assert len(kept) == 10 and not [line for line in lines if line.startswith("-stores/000000b")], lines


@pytest.mark.slow
@pytest.mark.timeout(1500)  # every project case twice (file, SQLite), ~1 s a run
def test_the_projects_own_cleanup_cases_on_sqlite_equal_the_file_store():
    cases_dir = REPO / "tests" / "reference_cases"
    # 93: the disk budget counts the other agent's database, not its JSON (the test above)
    cases = sorted(p.parent.name for p in cases_dir.glob("*/case.json")
                   if '"agents-delete"' not in p.read_text() and '"gateway"' not in p.read_text()
                   and p.parent.name != "93-cleanup-budget-shared-store-dir")
    assert cases
    check_same(cases, str(cases_dir))
