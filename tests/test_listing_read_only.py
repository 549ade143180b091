"""``openclaw sessions`` reads a store without the commit-only work (no
canonicalising, no re-encoding, only the listed fields normalised) and dumps
its document without walking plain rows: the output must stay byte for byte
that of a full load dumped the generic way."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import now_ms
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_core.js import json as jsjson
from openclaw_core.services import listing as lst
from openclaw_core.services import listing_json as lstj
from oc import load_config
from openclaw_core.base.errors import StoreCorruptError
from openclaw_core.js.values import replace_lone_surrogates
from openclaw_core.adapters.cli.listing_text import listing_lines
from openclaw_core.engine.store.normalize import NORMALIZED_FIELDS, normalize_loaded_entry
from openclaw_core.engine.store.state import StoreState, depth_padded

NOW = 1_780_000_000_000

# Written by hand: what a full load migrates, normalises or canonicalises.
ODD_STORE = (
    '{\n'
    '  "agent:main:z": {"updatedAt": 1779999000000.0, "model": "  gpt-x  ", "modelProvider": " acme ",'
    ' "provider": "telegram", "room": "r", "totalTokens": 5.0, "contextTokens": 1e21, "inputTokens": 12345678901234567890},\n'
    '  "10": {"updatedAt": 1779990000000, "model": "   ", "modelProvider": "gone", "chatType": "group"},\n'
    '  "2": {"updatedAt": "1779999999999", "modelOverride": " p/m ", "providerOverride": "P",'
    ' "responseUsage": {"9": 1, "1": [2.0, {"b": 1, "0": 0}]}},\n'
    '  "agent:main:cron:j:run:1": {"updatedAt": 1779999999000, "model": "codex-cli/gpt-5", "sessionId": "x"},\n'
    '  "agent:main:\\u00e9\\ud83c\\udf89": {"updatedAt": -9007199254740993, "lastChannel": " TG ", "lastTo": " 5 ",'
    ' "deliveryContext": {"channel": "x"}, "model": "m", "totalTokensFresh": false},\n'
    '  "agent:main:telegram:group:-1": {"updatedAt": null, "skillsSnapshot": {"resolvedSkills": [1]}, "thinkingLevel": "low"},\n'
    '  "agent:main:nan": {"updatedAt": 0, "verboseLevel": 1.5, "contextTokens": 0.1}\n'
    '}'
).encode()
# orjson refuses lone surrogates: this one goes through the full parse.
SURROGATE_STORE = ODD_STORE.replace(b'"sessionId": "x"', b'"sessionId": "\\ud800x"')


def _full_load_output(raw: bytes, as_json: bool) -> bytes:
    """The listing as before: the writer's full load, rows copied, the generic dumps."""
    config = load_config()
    entries = StoreState.parse(raw, source="s").entries
    rows = lst.rows_of_store(entries.items(), "main", None, NOW)
    listing = lstj.Listing(targets=[("main", "S")], aggregate=False, all_agents=False,
                          rows=lst.select_newest(rows, None), total_count=len(rows), limit=None, active_minutes=None)
    ctx = lst.ListingContext(config)
    if as_json:
        return jsjson.dumps_pretty(lstj.listing_document(ctx, listing)) + b"\n"
    return "".join(replace_lone_surrogates(line) + "\n" for line in listing_lines(ctx, listing, NOW)).encode()


def test_the_odd_store_takes_the_read_only_path():
    untouched = StoreState.parse_entries(ODD_STORE, source="s", normalize=lambda entry: None)
    assert untouched["10"]["model"] == "   " and "provider" in untouched["agent:main:z"]
    assert list(untouched)[:2] == ["2", "10"]
    assert "model" not in StoreState.parse_entries(SURROGATE_STORE, source="s", normalize=lambda entry: None)["10"]


@pytest.mark.parametrize("store", [ODD_STORE, SURROGATE_STORE])
@pytest.mark.parametrize("as_json", [True, False])
def test_the_listing_is_that_of_a_full_load(cli, store_path, monkeypatch, as_json, store):
    monkeypatch.setattr(lst, "now_ms", lambda: NOW)
    store_path.write_bytes(store)
    expected = _full_load_output(store, as_json).replace(b'"S"', json.dumps(str(store_path)).encode())
    result = cli("sessions", "--limit", "all", *(["--json"] if as_json else []))
    assert result.exit_code == 0, result.stderr
    ours = result.stdout.encode()
    if not as_json:
        # The header names the store path; the rows must be identical.
        ours, expected = ours.split(b"\n", 1)[1], expected.split(b"\n", 1)[1]
    assert ours == expected
    assert store_path.read_bytes() == store  # read-only: nothing written back


def test_plain_rows_are_dumped_as_dumps_pretty_would(cli, store_path, monkeypatch):
    monkeypatch.setattr(lst, "now_ms", lambda: NOW)
    store = {f"agent:main:telegram:direct:{i}": {"updatedAt": NOW - i * 1000, "model": "gpt-5.5", "sessionId": f"s{i}",
                                                 "inputTokens": i, "contextTokens": 200000} for i in range(50)}
    raw = jsjson.stringify(store).encode()
    store_path.write_bytes(raw)
    result = cli("sessions", "--limit", "all", "--json")
    expected = _full_load_output(raw, True).replace(b'"S"', json.dumps(str(store_path)).encode())
    assert result.stdout.encode() == expected


def test_dumps_listing_document_matches_dumps_pretty():
    row = {"key": "k", "updatedAt": 1, "ageMs": 2.0, "big": 2**60, "s": "\ud800", "agentRuntime": {"id": "pi"},
           "kind": "direct"}
    plain = {"key": "k", "updatedAt": 1, "ageMs": 2, "agentRuntime": {"id": "pi", "source": "implicit"}, "kind": "d"}
    odd_runtime = dict(plain, agentRuntime={"id": "\udfff"})
    doc = {"path": "p", "count": 3, "activeMinutes": float("inf"), "sessions": [row, plain, odd_runtime]}
    assert lstj.dumps_listing_document(copy.deepcopy(doc)) == jsjson.dumps_pretty(copy.deepcopy(doc))
    doc = {"path": "p", "count": 1, "activeMinutes": None, "sessions": [plain]}
    assert lstj.dumps_listing_document(copy.deepcopy(doc)) == jsjson.dumps_pretty(copy.deepcopy(doc))


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _read_only(raw: bytes, padded: bool) -> dict:
    """The read-only load as a reader of bytes calls it, or as the file store does
    (the file read into the depth padding)."""
    if padded:
        return StoreState.parse_entries(depth_padded(raw), source="s", padded=True)
    return StoreState.parse_entries(raw, source="s")


@pytest.mark.parametrize("padded", [False, True], ids=["bytes", "padded"])
@pytest.mark.parametrize("raw", [
    b"", b"  ", b"{", b"[]", b"null", b'{"a": 5}', b'{"a": {}} x', b'{"a": {"x": ' + _nested(254).encode() + b"}}",
    # pairs with the padding's brackets, but is no JSON alone
    b'{"a": {}}],[{"b": {}}', b'{"a": {}}]]', b'[[{"a": {}}', b'],[',
    b'{"a": {"x": ' + _nested(1030).encode() + b"}}",  # beyond the parser's own limit too
])
def test_the_read_only_load_refuses_what_the_full_load_refuses(raw, padded):
    with pytest.raises(StoreCorruptError) as full:
        StoreState.parse(raw, source="s")
    with pytest.raises(StoreCorruptError) as read_only:
        _read_only(raw, padded)
    assert str(read_only.value) == str(full.value)


@pytest.mark.parametrize("padded", [False, True], ids=["bytes", "padded"])
def test_the_read_only_load_takes_what_the_full_load_takes(padded):
    # As deep as a commit can write back (orjson refuses it one level higher, with the top object).
    raw = b'{"a": {"x": ' + _nested(253).encode() + b'}, "1": {"room": "r"}}'
    assert _read_only(raw, padded) == StoreState.parse(raw, source="s").entries
    assert list(_read_only(raw, padded)) == ["1", "a"]


def test_the_file_store_reads_into_the_padding(tmp_path, monkeypatch):
    """A listing reads the file once, into the padded buffer, and parses it there."""
    import openclaw_core.engine.store.state as state_module
    from openclaw_store_file.backend import FileStoreBackend

    seen = []
    real = state_module._parsed_padded
    monkeypatch.setattr(state_module, "_parsed_padded", lambda buf: seen.append(len(buf)) or real(buf))
    raw = b'{\n  "a": {\n    "sessionId": "s"\n  }\n}'
    (tmp_path / "sessions.json").write_bytes(raw)
    from openclaw_core import app

    backend = FileStoreBackend(tmp_path / "sessions.json", load_config(), app.hooks())
    assert dict(backend.load_entries(lambda entry: None)) == {"a": {"sessionId": "s"}}
    assert seen == [len(raw) + 2 * state_module.DEPTH_PAD]


def test_only_model_fields_of_the_listed_ones_are_normalised():
    # normalize_listed_fields stands in for the whole load normalisation: it must
    # cover every listed field that normalisation can change.
    assert lst.LISTED_FIELDS & NORMALIZED_FIELDS == {"model", "modelProvider"}
    for entry in json.loads(ODD_STORE).values():
        full, listed = copy.deepcopy(entry), copy.deepcopy(entry)
        normalize_loaded_entry(full)
        lst.normalize_listed_fields(listed)
        for name in lst.LISTED_FIELDS:
            assert (name in full, full.get(name)) == (name in listed, listed.get(name)), name


def test_age_is_the_same_number_on_both_paths():
    now = now_ms()
    for updated in (now - 5, now + 5, 1, -1, 2**53, -(2**53), 2**53 + 2, 1.5, "12", True):
        row = lst.build_row("k", {"updatedAt": updated}, "main", now)
        to_number = float(updated) if not isinstance(updated, str) else float(updated)
        assert row.age_ms == float(now) - to_number
        assert row.sort_value == to_number


# --- the --json rows built at once from the entries (listing_json.json_rows_of_store) ----------

_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=False) | st.sampled_from(["", " x ", "\ud800", "é", "gpt-5", "acme/m", "1e5", "3.0"])
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["a", "1", "0", "b"]), inner,
                                                                max_size=2),
    max_leaves=4,
)
_entries = st.dictionaries(
    st.sampled_from([*lst.ROW_FIELDS, "updatedAt", "chatType", "label", "origin"]),
    _values | st.sampled_from(["  gpt-x  ", " acme ", "   ", "p/m", " P "]), max_size=8)
_keys = st.sampled_from(["agent:main:x", "agent:ops:cron:j", "AGENT:Main:telegram:group:1", "global", "10",
                         " agent::w:y ", "agent:main:\ud800", "plain"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_keys, _entries), max_size=5, unique_by=lambda pair: pair[0]))
def test_json_rows_built_at_once_are_those_of_the_general_path(pairs):
    # The same JSON rows as build_row + json_row, the same bytes as the generic
    # dumps; the entries are not modified (their containers are copied).
    # The fused rows read the entries as parsed (lstj.as_parsed), the general path as loaded.
    config = load_config()
    loaded = copy.deepcopy(pairs)
    for entry in (entry for _, entry in loaded):
        lst.normalize_listed_fields(entry)
    before = copy.deepcopy(pairs)
    general_ctx, fused_ctx = lst.ListingContext(config), lst.ListingContext(config)
    general = [lst.build_row(key, entry, "main", NOW) for key, entry in loaded]
    fused = lstj.json_rows_of_store(fused_ctx, pairs, "main", None, NOW)
    # (repr: an ageMs of NaN is not equal to itself)
    assert repr([lstj.json_row(fused_ctx, row) for row in fused]) == repr([lstj.json_row(general_ctx, row)
                                                                           for row in general])
    assert repr([(r.key, r.agent_id, r.kind, r.sort_value) for r in fused]) == repr(
        [(r.key, r.agent_id, r.kind, r.sort_value) for r in general])

    def listing(rows: list) -> lstj.Listing:
        return lstj.Listing(targets=[("main", "S")], aggregate=False, all_agents=False, rows=rows,
                            total_count=len(rows), limit=None, active_minutes=None)

    expected = jsjson.dumps_pretty(lstj.listing_document(general_ctx, listing(general)))
    assert lstj.listing_bytes(fused_ctx, listing(fused)) == expected
    assert repr(pairs) == repr(before)


def test_a_simple_listing_is_dumped_by_orjson_at_once(monkeypatch):
    # Simple rows skip the row-by-row check; a big integer or a lone surrogate in
    # them still reaches the exact path (orjson refuses both).
    calls = []
    monkeypatch.setattr(lstj, "dumps_listing_document", lambda doc: calls.append(doc) or b"exact")
    ctx = lst.ListingContext(load_config())
    for value, exact in (("m", False), (2**53, True), ("\udc00", True)):
        rows = lstj.json_rows_of_store(ctx, [("agent:main:x", {"updatedAt": NOW - 5, "sessionId": value})],
                                       "main", None, NOW)
        assert rows[0].json_simple
        listing = lstj.Listing(targets=[("main", "S")], aggregate=False, all_agents=False, rows=rows,
                               total_count=1, limit=None, active_minutes=None)
        calls.clear()
        out = lstj.listing_bytes(ctx, listing)
        assert (out == b"exact") == exact and len(calls) == exact


@pytest.mark.parametrize("change", [5, -5], ids=["shrunk", "grew"])
def test_a_file_of_another_size_than_its_fstat_is_read_the_plain_way(tmp_path, change):
    """Between the fstat and the read the file changed size: no padded buffer, and the
    descriptor is back at the start for the plain read."""
    import os

    from openclaw_store_file.backend import _read_depth_padded

    path = tmp_path / "sessions.json"
    path.write_bytes(b'{"a": {}}' * 10)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert _read_depth_padded(fd, path.stat().st_size + change) is None
        assert os.read(fd, 100) == path.read_bytes()
    finally:
        os.close(fd)
