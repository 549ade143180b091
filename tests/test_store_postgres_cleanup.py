"""``sessions cleanup`` with the stores on PostgreSQL gives the file store's
results on the recorded reference cases: the case runner checks both, and
every case must come out the same way (passed, or the same difference)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import OPENCLAW, REFERENCE, REPO, requires_reference_cases

RUNNER = REFERENCE / "tools" / "run_cases.py"
WRAPPER = REPO / "tests" / "pg_cleanup_cli.py"
CLEANUP_CASES = ["01-stale-prune", "02-max-entries-cap", "03-synthetic-keys", "04-fix-missing", "05-disk-budget",
                 "06-active-key", "09-all-agents", "10-store-rewrite", "12-missing-store"]
STATUS = re.compile(r"^(OK|DIFF) +(\S+)$")


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
def test_stale_prune_case_on_postgres_equals_the_file_store(pg_server):
    check_same(pg_server, ["01-stale-prune"])


@requires_reference_cases
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_cleanup_case_on_postgres_equals_the_file_store(pg_server):
    check_same(pg_server, CLEANUP_CASES)


@requires_reference_cases
def test_a_shared_store_dir_keeps_other_agents_transcripts_on_postgres_too(pg_server):
    """Rows leave no other *.json in the dir to read: the guard asks the backend (case 93)."""
    check_same(pg_server, ["93-cleanup-budget-shared-store-dir"], str(REPO / "tests" / "reference_cases"))


@requires_reference_cases
@pytest.mark.slow
@pytest.mark.timeout(1500)  # every project case twice (file, PostgreSQL), ~1 s a run
def test_the_projects_own_cleanup_cases_on_postgres_equal_the_file_store(pg_server):
    cases_dir = REPO / "tests" / "reference_cases"
    cases = sorted(p.parent.name for p in cases_dir.glob("*/case.json")
                   if '"agents-delete"' not in p.read_text() and '"gateway"' not in p.read_text())
    assert cases
    check_same(pg_server, cases, str(cases_dir))
