"""docs/gateway.md's "Methods" table says what our Gateway serves: every method registered
(``builtin_methods()`` and the ``openclaw_gateway_methods`` hook) has a row with the
protocol versions it answers on and its scope, no row claims a method that is not served,
the "2026.5.4" column is the 34 ``sessions.*``/``agents.*``/``config.*``/``health``
methods of OpenClaw 2026.5.4's hello-ok, and the coverage line matches the table.
When a method is added, this test names the row to add."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REFERENCE

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "gateway.md"
FEATURES = REFERENCE / "cases" / "30-gateway" / "expected" / "hello-ok.features.json"
SCOPE_LABELS = {None: "any", "operator.read": "read", "operator.write": "write", "operator.admin": "admin"}
NOT_SERVED = "not served"


@dataclass
class Row:
    method: str
    versions: str
    scope: str
    reference: bool
    identical: str


def doc_rows(text: str | None = None) -> list[Row]:
    text = DOC.read_text() if text is None else text
    section = text.split("\n## Methods\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and re.fullmatch(r"`[^`]+`", cells[0]):
            rows.append(Row(cells[0].strip("`"), cells[1], cells[2], cells[3] == "yes", cells[4]))
    return rows


def served_methods() -> dict:
    from openclaw_core.adapters.gateway.server import collect_methods
    from openclaw_core.app import hooks as app_hooks

    return collect_methods(app_hooks(), lambda _line: None)


def problems(rows: list[Row], served: dict) -> list[str]:
    """What the table gets wrong about ``served`` (method name -> GatewayMethod)."""
    from openclaw_core.engine.wire.protocol import PROTOCOL_VERSIONS

    versions = ", ".join(str(v) for v in PROTOCOL_VERSIONS)
    by_name = {r.method: r for r in rows}
    found = []
    for name, method in served.items():
        row = by_name.get(name)
        scope = SCOPE_LABELS.get(method.scope, method.scope)
        if row is None:
            found.append(f"add a row: | `{name}` | {versions} | {scope} | — | — | ... |")
        elif row.versions != versions or row.scope != scope:
            found.append(f"`{name}`: the row says versions {row.versions!r}, scope {row.scope!r}; "
                         f"it is served on {versions}, scope {scope}")
    for row in rows:
        if row.method not in served and row.versions != NOT_SERVED:
            found.append(f"`{row.method}` is not served: its row should say {NOT_SERVED!r}")
    return found


def test_every_served_method_has_a_true_row():
    assert problems(doc_rows(), served_methods()) == []


def test_a_plugins_method_without_a_row_is_reported(register_openclaw_plugin):
    from openclaw_core import hookimpl
    from openclaw_core.adapters.gateway.methods import GatewayMethod

    unserved = next(row.method for row in doc_rows() if row.versions == "not served")

    class Plugin:
        @hookimpl
        def openclaw_gateway_methods(self):
            return [GatewayMethod(unserved, lambda call: {}, scope="operator.read"),
                    GatewayMethod("demo.extra", lambda call: {}, scope="operator.admin")]

    register_openclaw_plugin(Plugin(), "docs-methods-plugin")
    found = problems(doc_rows(), served_methods())
    assert "add a row: | `demo.extra` | 3, 4 | admin | — | — | ... |" in found
    assert f"`{unserved}`: the row says versions 'not served', scope '—'; it is served on 3, 4, scope read" \
        in found


def test_the_reference_column_is_the_34_methods():
    listed = [r.method for r in doc_rows() if r.reference]
    assert len(listed) == len(set(listed)) == 34
    if not FEATURES.exists():
        pytest.skip(f"{FEATURES} (the reference's recorded hello-ok) is missing")
    features = json.loads(FEATURES.read_text())
    methods = features["methods"] if isinstance(features, dict) else features
    reference = [m for m in methods if m == "health" or m.split(".")[0] in ("sessions", "agents", "config")]
    assert sorted(listed) == sorted(reference)


def test_identical_rows_are_served_and_name_their_test():
    for row in doc_rows():
        if row.identical in ("", "—"):
            continue
        match = re.fullmatch(r"yes: `(tests/[\w/]+\.py)`", row.identical)
        assert match, f"`{row.method}`: identical must be '—' or 'yes: `tests/<file>.py`', not {row.identical!r}"
        assert (REPO / match.group(1)).exists(), match.group(1)
        assert row.versions != NOT_SERVED and row.reference, row


def test_the_coverage_line_matches_the_table():
    rows = [r for r in doc_rows() if r.reference]
    served = sum(r.versions != NOT_SERVED for r in rows)
    identical = sum(r.identical.startswith("yes") for r in rows)
    line = f"Coverage: {served} of {len(rows)} served, {identical} identical."
    assert line in DOC.read_text(), f"docs/gateway.md should say: {line}"
