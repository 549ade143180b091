"""The docs stay true: every hook is documented with its exact signature and
has a test of its own."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from openclaw_core import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"
TESTS = Path(__file__).resolve().parent


def hook_specs():
    return sorted((name, getattr(hookspecs, name)) for name in dir(hookspecs) if name.startswith("openclaw_"))


def render_signature(name: str, spec) -> str:
    """``name(arg: type, ...) -> result`` from the spec's own annotations."""
    signature = inspect.signature(spec)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in signature.parameters.values())
    return f"{name}({params}) -> {signature.return_annotation}"


@pytest.mark.parametrize(("name", "spec"), hook_specs())
def test_hook_is_documented_with_its_exact_signature(name, spec):
    text = (DOCS / "hooks.md").read_text()
    heading = re.search(rf"^### `{name}`$", text, re.MULTILINE)
    assert heading, f"docs/hooks.md has no '### `{name}`' section"
    section = text[heading.end():]
    next_heading = re.search(r"^### ", section, re.MULTILINE)
    section = section[: next_heading.start()] if next_heading else section
    assert render_signature(name, spec) in section, f"docs/hooks.md: {name} signature differs from hookspecs.py"
    for word in ("Called", "Result"):
        assert f"**{word}**" in section, f"docs/hooks.md: {name} lacks a **{word}** paragraph"
    assert "```python" in section, f"docs/hooks.md: {name} has no example"


@pytest.mark.parametrize(("name", "spec"), hook_specs())
def test_hook_has_a_test_of_its_own(name, spec):
    short = name.removeprefix("openclaw_")
    pattern = re.compile(rf"^\s*(?:async\s+)?def test_hook_{short}(?:_\w+)?\(", re.MULTILINE)
    found = [p.name for p in TESTS.rglob("test_*.py") if pattern.search(p.read_text())]
    assert found, f"no test named test_hook_{short}[_...] for {name}"


def test_no_documented_hook_is_missing_from_hookspecs():
    documented = set(re.findall(r"^### `(openclaw_\w+)`$", (DOCS / "hooks.md").read_text(), re.MULTILINE))
    assert documented == {name for name, _ in hook_specs()}


def test_every_part_of_the_store_backend_interface_is_in_its_contract_table():
    # docs/scaling-out.md's table is the backend author's reference: what the
    # interface gains (a lazy load, a one-shot reader's load, an index) must be there
    from openclaw_core.engine.store.backend import StoreBackend

    text = (DOCS / "scaling-out.md").read_text()
    table = text[text.index("| method | contract |"):]
    table = table[:table.index("\n\n")]
    missing = [name for name in vars(StoreBackend) if not name.startswith("_")
               and not re.search(rf"`{name}[`( ]", table)]
    assert not missing, f"docs/scaling-out.md's backend table lacks {missing}"
