"""Our ``agents delete`` against the recorded reference cases in
tests/reference_cases (20-agents-delete vendored from ../shared, 21-23
recorded for the shared, templated and global-scope store rules of spec 11).
Self-contained: see tests/agents_cases.py for how a run is built and compared."""

from __future__ import annotations

import difflib

import pytest
from agents_cases import agents_cases, run_case
from conftest import OPENCLAW

RUNS = [(name, case, run) for name, case in agents_cases() for run in case["runs"]]


@pytest.mark.parametrize(("case_name", "case", "run"), RUNS, ids=[f"{n}/{r['name']}" for n, _, r in RUNS])
def test_agents_delete_matches_the_reference(case_name, case, run, tmp_path):
    outcome = run_case(case_name, case, run, tmp_path, OPENCLAW)
    diffs = []
    for key, want in outcome.expected.items():
        got = outcome.actual[key]
        if got != want:
            diffs.append("".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                      f"expected/{key}", f"actual/{key}")))
    assert not diffs, "\n".join(diffs) + f"\nstderr:\n{outcome.stderr}"


def test_the_vendored_cases_are_there():
    names = {name for name, _ in agents_cases()}
    assert {"20-agents-delete", "21-agents-delete-shared-store", "22-agents-delete-templated-store",
            "23-agents-delete-global-scope"} <= names
