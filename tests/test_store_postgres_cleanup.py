"""``sessions cleanup`` with the stores on PostgreSQL gives the file store's
results on the recorded reference cases: the case runner checks both, and
every case must come out the same way (passed, or the same difference).

One test per case, so pytest-xdist spreads them over the workers; the SQLite
test of a case is in the same ``xdist_group`` (one worker), which then runs the
case on the file store once for both. A case of ours that is a byte-identical
copy of one of the reference's is checked once, as the reference's.
"""

from __future__ import annotations

import filecmp
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import OPENCLAW, REFERENCE, REPO, requires_reference_cases

RUNNER = REFERENCE / "tools" / "run_cases.py"
WRAPPER = REPO / "tests" / "pg_cleanup_cli.py"
CLEANUP_CASES = ["01-stale-prune", "02-max-entries-cap", "03-synthetic-keys", "04-fix-missing", "05-disk-budget",
                 "06-active-key", "09-all-agents", "10-store-rewrite", "12-missing-store"]
QUICK_CASE = "01-stale-prune"  # the quick test's (not marked slow); the slow ones leave it to it
OWN_CASES_DIR = REPO / "tests" / "reference_cases"
STATUS = re.compile(r"^(OK|DIFF) +(\S+)$")


def same_case(ours: Path, theirs: Path) -> bool:
    """Byte for byte the same case.json and expected/ (so the same check)."""
    if not theirs.is_dir():
        return False
    match, mismatch, errors = filecmp.cmpfiles(ours, theirs, ["case.json"], shallow=False)
    if mismatch or errors:
        return False
    pending = [filecmp.dircmp(ours / "expected", theirs / "expected")] if (theirs / "expected").is_dir() else []
    if not pending:
        return False
    while pending:
        cmp = pending.pop()
        if cmp.left_only or cmp.right_only or cmp.funny_files:
            return False
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        if mismatch or errors:
            return False
        pending += cmp.subdirs.values()
    return True


SHARED_DIR_CASE = "93-cleanup-budget-shared-store-dir"  # has a test of its own in each file


def own_cleanup_cases() -> list[str]:
    """Our cleanup cases (not agents delete, not Gateway ones), less the copies of CLEANUP_CASES."""
    cases = []
    for path in sorted(OWN_CASES_DIR.glob("*/case.json")):
        text = path.read_text()
        if '"agents-delete"' in text or '"gateway"' in text:
            continue
        name = path.parent.name
        if name == SHARED_DIR_CASE:
            continue
        if name in CLEANUP_CASES and same_case(path.parent, REFERENCE / "cases" / name):
            continue
        cases.append(name)
    return cases


def case_params(cases: list[str], where: str) -> list:
    """One pytest param per case, grouped with the other backend's test of the same case."""
    return [pytest.param(case, id=case, marks=pytest.mark.xdist_group(f"cleanup-case-{where}-{case}"))
            for case in cases]


def run_cases(cli: str, cases: list[str], env: dict[str, str], cases_dir: str | None = None,
              ) -> dict[str, tuple[str, list[str]]]:
    """case -> (OK|DIFF, the diff lines the runner printed for it)."""
    where = ["--cases-dir", cases_dir] if cases_dir else []
    proc = subprocess.run([sys.executable, str(RUNNER), "--check", *where, "--cli", cli, *cases], env=env,
                          capture_output=True, text=True, timeout=900)
    results: dict[str, tuple[str, list[str]]] = {}
    block: list[str] = []
    for line in proc.stdout.splitlines():
        match = STATUS.match(line)
        if match:
            results[match.group(2)] = (match.group(1), block)
            block = []
        elif line[:1] in "-+@":  # the unified diffs, not the stderr excerpts
            block.append(line)
    assert set(results) == set(cases), proc.stdout[-3000:] + proc.stderr[-3000:]
    return results


_ON_FILE: dict[tuple[str | None, str], tuple[str, list[str]]] = {}


def on_file_store(cases: list[str], env: dict[str, str], cases_dir: str | None = None,
                  ) -> dict[str, tuple[str, list[str]]]:
    """The file store's results, each case run once per test session (the PostgreSQL
    and SQLite parity tests compare with the same runs)."""
    missing = [case for case in cases if (cases_dir, case) not in _ON_FILE]
    if missing:
        for case, result in run_cases(OPENCLAW, missing, env, cases_dir).items():
            _ON_FILE[(cases_dir, case)] = result
    return {case: _ON_FILE[(cases_dir, case)] for case in cases}


def check_same(pg_server, cases: list[str], cases_dir: str | None = None) -> None:
    env = dict(os.environ, OPENCLAW_POSTGRES_DSN=pg_server.socket_dsn())
    on_file = on_file_store(cases, env, cases_dir)
    on_postgres = run_cases(f"{sys.executable} {WRAPPER}", cases, env, cases_dir)
    assert on_postgres == on_file


@requires_reference_cases
@pytest.mark.xdist_group(f"cleanup-case-reference-{QUICK_CASE}")
def test_stale_prune_case_on_postgres_equals_the_file_store(pg_server):
    check_same(pg_server, [QUICK_CASE])


@requires_reference_cases
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("case", case_params([c for c in CLEANUP_CASES if c != QUICK_CASE], "reference"))
def test_every_cleanup_case_on_postgres_equals_the_file_store(pg_server, case):
    check_same(pg_server, [case])


@requires_reference_cases
def test_a_shared_store_dir_keeps_other_agents_transcripts_on_postgres_too(pg_server):
    """Rows leave no other *.json in the dir to read: the guard asks the backend (case 93)."""
    check_same(pg_server, [SHARED_DIR_CASE], str(OWN_CASES_DIR))


@requires_reference_cases
@pytest.mark.slow
@pytest.mark.timeout(900)  # a case of 14 runs, twice (file, PostgreSQL), on a loaded machine
@pytest.mark.parametrize("case", case_params(own_cleanup_cases(), "own"))
def test_the_projects_own_cleanup_cases_on_postgres_equal_the_file_store(pg_server, case):
    check_same(pg_server, [case], str(OWN_CASES_DIR))
