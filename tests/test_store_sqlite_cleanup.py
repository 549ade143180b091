"""``sessions cleanup`` with the stores on SQLite gives the file store's results
on the recorded reference cases: the case runner checks both, and every case
must come out the same way (passed, or the same difference)."""

from __future__ import annotations

import os
import sys

import pytest
from conftest import OPENCLAW, REPO, requires_reference_cases
from test_store_postgres_cleanup import CLEANUP_CASES, run_cases

WRAPPER = REPO / "tests" / "sqlite_cleanup_cli.py"


def check_same(cases: list[str], cases_dir: str | None = None) -> None:
    env = dict(os.environ)
    on_file = run_cases(OPENCLAW, cases, env, cases_dir)
    on_sqlite = run_cases(f"{sys.executable} {WRAPPER}", cases, env, cases_dir)
    assert on_sqlite == on_file


@requires_reference_cases
def test_stale_prune_case_on_sqlite_equals_the_file_store():
    check_same(["01-stale-prune"])


@requires_reference_cases
@pytest.mark.slow
def test_every_cleanup_case_on_sqlite_equals_the_file_store():
    check_same(CLEANUP_CASES)


@requires_reference_cases
@pytest.mark.slow
def test_the_projects_own_cleanup_cases_on_sqlite_equal_the_file_store():
    cases_dir = REPO / "tests" / "reference_cases"
    cases = sorted(p.parent.name for p in cases_dir.glob("*/case.json")
                   if '"agents-delete"' not in p.read_text() and '"gateway"' not in p.read_text())
    assert cases
    check_same(cases, str(cases_dir))
