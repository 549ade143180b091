"""The shell sessions shown in the docs are real: each page's ``console`` blocks
run in order on a fresh checkout-like dir (see docs_console.py), and what they
print must be what the page shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import docs_console
from conftest import EXAMPLE_PLUGINS, enable_only

REPO = Path(__file__).resolve().parent.parent
PAGES = ["README.md", "docs/getting-started.md", "docs/plugin-guide.md"]


def page_env() -> dict[str, str]:
    env = dict(os.environ)
    # A reader's venv has the example plugin installed and on (make setup); so does this run,
    # but no other third-party plugin that may be installed here.
    env["OPENCLAW_DISABLE_PLUGINS"] = enable_only(*EXAMPLE_PLUGINS)
    return env


@pytest.mark.parametrize("name", PAGES)
def test_console_sessions_print_what_the_page_shows(name):
    _, blocks = docs_console.run_page(REPO / name, page_env())
    ran = [c for b in blocks for c in b.commands if c.actual is not None]
    assert len(ran) >= 5, f"{name}: expected a shell session to check"
    problems = docs_console.differences(blocks)
    assert not problems, (f"{name} shows other output than its commands print "
                          f"(regenerate: python tests/docs_console.py {name} --write):\n\n" + "\n\n".join(problems))


def test_the_runner_reports_a_difference_and_rewrites_it(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Intro\n\n```console\n$ echo one\none\n$ cat > f <<'EOF'\n> a\n>\n> b\n> EOF\n$ cat f\nwrong\n```\n\n"
                    "<!-- console: not run -->\n```console\n$ exit 3\n```\n")
    text, blocks = docs_console.run_page(page, page_env())
    assert [c.text for c in blocks[0].commands] == ["echo one", "cat > f <<'EOF'\na\n\nb\nEOF", "cat f"]
    assert blocks[1].skipped and blocks[1].commands[0].actual is None
    problems = docs_console.differences(blocks)
    assert len(problems) == 1 and "wrong" in problems[0] and "a\n\nb\n" in problems[0]
    fixed = docs_console.rewrite(text, blocks)
    assert "$ cat f\na\n\nb\n```" in fixed and "$ exit 3\n```" in fixed
    page.write_text(fixed)
    assert docs_console.differences(docs_console.run_page(page, page_env())[1]) == []
