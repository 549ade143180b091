"""``sessions cleanup`` with the stores on SQLite gives the file store's results
on the recorded reference cases: the case runner checks both, and every case
must come out the same way (passed, or the same difference)."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import REPO, requires_reference_cases
from test_store_postgres_cleanup import (
    CLEANUP_CASES,
    OWN_CASES_DIR,
    QUICK_CASE,
    SHARED_DIR_CASE,
    case_params,
    on_file_store,
    own_cleanup_cases,
    run_cases,
)

WRAPPER = REPO / "tests" / "sqlite_cleanup_cli.py"


def check_same(cases: list[str], cases_dir: str | None = None) -> None:
    env = dict(os.environ)
    on_file = on_file_store(cases, env, cases_dir)
    on_sqlite = run_cases(f"{sys.executable} {WRAPPER}", cases, env, cases_dir)
    assert on_sqlite == on_file


@requires_reference_cases
@pytest.mark.xdist_group(f"cleanup-case-reference-{QUICK_CASE}")
def test_stale_prune_case_on_sqlite_equals_the_file_store():
    check_same([QUICK_CASE])


@requires_reference_cases
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("case", case_params([c for c in CLEANUP_CASES if c != QUICK_CASE], "reference"))
def test_every_cleanup_case_on_sqlite_equals_the_file_store(case):
    check_same([case])


@requires_reference_cases
def test_a_shared_store_dir_keeps_other_agents_transcripts_on_sqlite_too():
    """Rows leave no other *.json in the dir to read: the guard asks the backend (case 93).
    The budget's byte counts differ from the file store's (the other agent's database is a
    file of another size than its JSON), so what is compared is what stays: every one of
    b's ten live transcripts, which the reference deletes."""
    env = dict(os.environ)
    case = SHARED_DIR_CASE
    status, lines = run_cases(f"{sys.executable} {WRAPPER}", [case], env, str(OWN_CASES_DIR))[case]
    assert status == "DIFF"
    kept = [line for line in lines if line.startswith("+stores/000000b")]
    assert len(kept) == 10 and not [line for line in lines if line.startswith("-stores/000000b")], lines


@requires_reference_cases
@pytest.mark.slow
@pytest.mark.timeout(900)  # a case of 14 runs, twice (file, SQLite), on a loaded machine
@pytest.mark.parametrize("case", case_params(own_cleanup_cases(), "own"))  # less 93: the test above
def test_the_projects_own_cleanup_cases_on_sqlite_equal_the_file_store(case):
    check_same([case], str(OWN_CASES_DIR))
