"""Load-time migrations and normalisation give the reference's exact bytes.

Each fixture pair is a store before and after the real OpenClaw 2026.5.4 ran
`sessions cleanup --json` on it in warn mode (nothing pruned, so the only
changes are migrations, normalisation and serialisation).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from openclaw_core.engine.store.normalize import normalize_delivery_context
from openclaw_core.engine.store.state import StoreState

FIXTURES = Path(__file__).parent / "fixtures" / "normalize"
PAIRS = sorted(p.name.removesuffix(".before.json") for p in FIXTURES.glob("*.before.json"))


@pytest.mark.parametrize("name", PAIRS)
def test_store_is_written_exactly_as_the_reference_wrote_it(name):
    before = (FIXTURES / f"{name}.before.json").read_bytes()
    after = (FIXTURES / f"{name}.after.json").read_bytes()
    state = StoreState.parse(before, source=name)
    assert state.text() == after
    # a store already in canonical form is recognised as such (no rewrite)
    assert state.on_disk_matches == (before == after)


def test_delivery_context_parts():
    assert normalize_delivery_context({"channel": " IMSG ", "to": " 1 ", "accountId": "Work Acct", "threadId": 42.7}) == {
        "channel": "imessage", "to": "1", "accountId": "work-acct", "threadId": 42}
    assert normalize_delivery_context({"channel": "", "to": 5, "accountId": "__proto__", "threadId": True}) is None
