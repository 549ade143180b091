"""The docs "build check": every relative link of the Markdown pages resolves
(file and heading), and docs/cli.md is exactly what ``--help`` prints today."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from openclaw_core import clidoc

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), REPO / "bench" / "README.md",
                *(REPO / "examples").glob("*/README.md")])

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)


def prose(text: str) -> str:
    """The page without code (links inside code are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def links(page: Path) -> list[str]:
    text = prose(page.read_text(encoding="utf-8"))
    return INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text)


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors (duplicates numbered)."""
    found: set[str] = set()
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE):
        slug = clidoc.anchor(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", ""))
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        if is_external(target):
            continue
        path_part, _, fragment = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
            broken.append(f"{target}: no heading with anchor #{fragment} in {shown(destination)}")
    assert not broken, f"{shown(page)}: " + "; ".join(broken)


def test_the_link_check_sees_links_and_catches_broken_ones(tmp_path):
    (tmp_path / "there.md").write_text("# A heading, with `code`\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#a-heading-with-code) [gone](missing.md) `[code](nowhere.md)`\n"
                    "```\n[fenced](nowhere.md)\n```\n[web](https://example.com) [bad anchor](there.md#nope)\n")
    assert links(page) == ["there.md#a-heading-with-code", "missing.md", "https://example.com", "there.md#nope"]
    with pytest.raises(AssertionError) as failed:
        test_every_relative_link_resolves(page)
    message = str(failed.value)
    assert "missing.md: no such file" in message and "there.md#nope: no heading" in message
    assert "a-heading-with-code" not in message


# --- docs/cli.md ----------------------------------------------------------------------------------------------

def test_cli_reference_is_generated_from_todays_commands():
    current = clidoc.DOC_PATH.read_text(encoding="utf-8")
    assert current == clidoc.render(), "docs/cli.md is out of date: run python -m openclaw_core.clidoc --write"


def cli_blocks() -> dict[str, str]:
    text = clidoc.DOC_PATH.read_text(encoding="utf-8")
    return dict(re.findall(r"^## `([^`]+)`\n\n```text\n(.*?)\n```$", text, re.MULTILINE | re.DOTALL))


def test_cli_reference_documents_every_command_as_help_prints_it(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(clidoc.TERMINAL_COLUMNS))
    monkeypatch.setenv("OPENCLAW_DISABLE_PLUGINS", "third-party")
    blocks = cli_blocks()
    assert {"openclaw", "openclaw sessions cleanup", "openclaw gateway run", "openclaw agents delete",
            "openclaw config migrate", "openclaw store migrate", "openclaw plugins list"} <= set(blocks)
    for path, documented in blocks.items():
        result = cli(*path.split()[1:], "--help")
        assert result.exit_code == 0, result
        assert result.stdout.rstrip("\n") == documented, f"docs/cli.md: {path} differs from its --help"
    # ... and nothing is missing: every command the root lists (recursively) has a section.
    root = cli("--help").stdout
    listed = re.findall(r"^  (\w[\w-]*)  ", root.split("Commands:")[1], re.MULTILINE)
    assert {f"openclaw {name}" for name in listed} <= set(blocks)


def test_clidoc_check_fails_on_drift(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "cli.md"
    stale.write_text(clidoc.render().replace("Print JSON.", "Print JSON (old wording).", 1))
    monkeypatch.setattr(clidoc, "DOC_PATH", stale)
    assert clidoc.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert clidoc.main(["--write"]) == 0 and clidoc.main(["--check"]) == 0


# --- code excerpts ----------------------------------------------------------------------------------------------

SNIPPET = re.compile(r"^<!-- snippet: (\S+) -->\n```\w*\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_code_excerpts_are_copied_verbatim_from_their_files(page):
    """A block after ``<!-- snippet: path -->`` must appear in that file as it is."""
    for source, code in SNIPPET.findall(page.read_text(encoding="utf-8")):
        text = (REPO / source).read_text(encoding="utf-8")
        assert code in text, f"{shown(page)}: an excerpt of {source} no longer matches it:\n{code}"


def test_the_plugin_guide_quotes_the_example_plugin():
    excerpts = SNIPPET.findall((REPO / "docs" / "plugin-guide.md").read_text(encoding="utf-8"))
    assert len(excerpts) >= 6
    assert {source.split("/")[-1] for source, _ in excerpts} >= {"__init__.py", "policy.py", "settings.py",
                                                                 "archive.py", "pyproject.toml",
                                                                 "test_retention_pins.py"}
