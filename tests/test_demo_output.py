"""``make demo`` as a new user sees it (issue 17): the cleanup preview and the
enforced cleanup run with the same flags, so their counts agree; the preview is
short (its counts, not one row per session); the last line points to the docs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _counts(lines: list[str]) -> list[tuple[str, str]]:
    return [m.groups() for m in (re.match(r'\s+"(\w+)": (.*?),?$', line) for line in lines) if m]


@pytest.mark.skipif(not (REPO / ".venv" / ".installed").exists(), reason="make setup has not run in this checkout")
def test_make_demo_previews_what_it_enforces_in_a_few_lines(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_") and k != "MAKEFLAGS"}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "xdg"))
    result = subprocess.run(["make", "-s", "-o", ".venv/.installed", "demo", f"DEMO={tmp_path / 'demo-state'}"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# preview, then enforce"))
    cleanup = lines[start + 1:-1]
    assert len(cleanup) < 40, "\n".join(cleanup)          # not the 300 dry-run rows
    assert not any("Planned session actions" in line for line in lines)
    applied_at = next(i for i, line in enumerate(cleanup) if '"applied": true' in line)
    first_enforce = max(i for i in range(applied_at) if '"agentId"' in cleanup[i])
    preview = [c for c in _counts(cleanup[:first_enforce]) if c[0] not in ("applied", "appliedCount")]
    enforce = [c for c in _counts(cleanup[first_enforce:]) if c[0] not in ("applied", "appliedCount")]
    # --fix-missing in both runs: what the preview promised is what enforce did
    assert preview == enforce and ("missing", "0") not in preview
    assert [v for k, v in preview if k == "agentId"] == ['"main"', '"work"']
    applied = [v for k, v in _counts(cleanup[first_enforce:]) if k == "appliedCount"]
    assert applied == [v for k, v in preview if k == "afterCount"]
    assert lines[-1].startswith("Next: docs/getting-started.md")
