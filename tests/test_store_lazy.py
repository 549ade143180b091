"""Lazily loaded stores (what ``sessions cleanup`` uses on a big store) must be
indistinguishable from fully loaded ones: same entries, same bytes written,
same errors; only the cost differs."""

from __future__ import annotations

import copy
import json

import orjson

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openclaw_core.js import json as jsjson
from openclaw_core.base.errors import StoreCorruptError
from openclaw_core.engine.maintenance import MaintenanceRequest
from openclaw_core.engine.store.normalize import NORMALIZED_FIELDS, normalize_loaded_entry
from openclaw_core.engine.store.chunks import LazyEntry
from openclaw_core.engine.store.state import MutationView, StoreState
from oc import get_writer
from conftest import write_store

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**60, 2**60), st.text(max_size=12),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["telegram", " Telegram ", "", "  ", "imsg"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(["0", "7", "42", "threadId", "to"])), inner,
                    max_size=3)), max_leaves=8)
field_names = st.sampled_from(sorted(NORMALIZED_FIELDS) + [
    "sessionId", "updatedAt", "chatType", "sessionFile", "label", "compactionCheckpoints", "acp", "x", "7",
    "resolvedSkills", "threadId"])
entries = st.dictionaries(field_names, values, max_size=8)
stores = st.dictionaries(st.one_of(st.sampled_from(["agent:main:main", "7", "42", "Agent:Main:X", "a\"b", "é"]),
                                   st.text(min_size=1, max_size=10)), entries, min_size=1, max_size=5)


def _canonical_text(store: dict) -> bytes | None:
    try:
        return jsjson.stringify(store).encode("utf-8")
    except (jsjson.JSONError, UnicodeEncodeError):
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stores)
def test_a_lazy_load_equals_a_full_load(store):
    raw = _canonical_text(store)
    if raw is None:
        return
    try:
        full = StoreState.parse(raw, source="full")
    except StoreCorruptError as exc:
        with pytest.raises(StoreCorruptError) as lazy_exc:
            StoreState.parse(raw, source="full", lazy=True)
        assert str(lazy_exc.value) == str(exc)
        return
    lazy = StoreState.parse(raw, source="full", lazy=True)
    assert list(lazy.entries) == list(full.entries)
    for key, entry in full.entries.items():
        seen = lazy.entries[key]
        assert dict(seen) == entry and list(seen) == list(entry)
        for name in list(entry) + ["absent", "sessionId", "model"]:
            assert seen.get(name, "<none>") == entry.get(name, "<none>")
            assert (name in seen) == (name in entry)
    assert lazy.text() == full.text()
    assert lazy.on_disk_matches == full.on_disk_matches


def _strict(value):
    """A value's JSON text with key order and int/float kept (1 and 1.0 differ)."""
    return json.dumps(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stores)
def test_a_lazy_entry_shows_what_a_full_load_holds_whatever_wrote_the_file(store):
    """A file in the 2-space layout but not JS's text (orjson's: integral floats as
    1.0, integer-like keys where the file put them): a lazy entry's every view has
    a full load's key order and number types, not the file's."""
    try:
        raw = orjson.dumps(store, option=orjson.OPT_INDENT_2)
        full = StoreState.parse(raw, source="t")
    except (orjson.JSONEncodeError, StoreCorruptError):
        return
    lazy = StoreState.parse(raw, source="t", lazy=True)
    assert lazy.text() == full.text()
    for key, entry in full.entries.items():
        seen = lazy.entries[key]
        assert _strict(dict(seen)) == _strict(entry) and list(seen) == list(entry)
        for name in list(entry) + ["absent"]:
            assert _strict(seen.get(name, "<none>")) == _strict(entry.get(name, "<none>"))
            if name in entry:
                assert _strict(seen[name]) == _strict(entry[name])


def test_a_lazy_entry_gives_an_integral_float_as_a_full_load_does():
    raw = b'{\n  "a": {\n    "updatedAt": 5.0,\n    "n": {\n      "x": 1,\n      "7": 2.0\n    },\n    "origin": {\n      "chatType": "group",\n      "1": 1.0\n    }\n  }\n}'
    full = StoreState.parse(raw, source="t").entries["a"]
    seen = StoreState.parse(raw, source="t", lazy=True).entries["a"]
    assert type(seen) is LazyEntry
    assert type(seen["updatedAt"]) is int and type(seen.get("updatedAt")) is int and full["updatedAt"] == 5
    assert _strict(seen["n"]) == _strict(full["n"]) == '{"7": 2, "x": 1}'
    assert _strict(seen.get("origin")) == _strict(full["origin"]) == '{"1": 1, "chatType": "group"}'


@settings(max_examples=300, deadline=None)
@given(entries)
def test_normalisation_touches_only_the_fields_it_declares(entry):
    before = copy.deepcopy(entry)
    try:
        normalize_loaded_entry(entry)
    except Exception:  # noqa: BLE001 - odd values the full load refuses anyway
        return
    for name, value in before.items():
        if name not in NORMALIZED_FIELDS:
            assert entry.get(name, "<gone>") == value
    assert {n for n in entry if n not in NORMALIZED_FIELDS} == {n for n in before if n not in NORMALIZED_FIELDS}


def test_lazy_entries_keep_only_scalars_and_decode_the_rest():
    raw = jsjson.stringify({"agent:main:a": {"sessionId": "s", "updatedAt": 5, "origin": {"chatType": "group"},
                                             "lastProvider": "telegram", "lastTo": "9"}}).encode()
    state = StoreState.parse(raw, source="t", lazy=True)
    entry = state.entries["agent:main:a"]
    assert type(entry) is LazyEntry and state.loaded_lazily
    assert entry["sessionId"] == "s" and entry["origin"] == {"chatType": "group"}
    assert "lastProvider" not in entry and entry["lastChannel"] == "telegram"  # migrated on the fly
    assert not state.on_disk_matches  # the migration changes the text


@pytest.mark.parametrize("raw", [
    b'{"a": {"sessionId": "x"}}',                         # compact
    b'{\n    "a": {\n        "x": 1\n    }\n}',           # 4 spaces
    b'{\n  "a": {\n    "x": 1\n  },\n  "a": {\n    "x": 2\n  }\n}',   # duplicate key
    b'{\n  "b": {\n    "x": 1\n  },\n  "7": {\n    "x": 2\n  }\n}',   # index key after another
    b'{\n  "a": {\n    "x": 1,\n  "y": 2\n  }\n}',                    # odd indentation
])
def test_other_layouts_fall_back_to_the_full_parse(raw):
    lazy = StoreState.parse(raw, source="t", lazy=True)
    full = StoreState.parse(raw, source="t")
    assert not lazy.loaded_lazily and lazy.text() == full.text() and lazy.entries == full.entries


@pytest.mark.parametrize("keys", [
    ["agent:main:a", 'agent:main:"quoted"', "agent:main:b"],   # an escape after the first member
    ['a\\b', "c", 'd\te', "é"],                               # escapes first and later, a raw non-ASCII key
    ["x", 'a": {"b', "y"],                                   # '": ' inside a key (after an escape)
    ["a", "z\u200bw", "\u2028"],                               # no escape, characters that are not printable
])
def test_keys_with_escapes_are_split_lazily_too(keys):
    """The split leaves a key with an escape to the escaping pattern, which then
    reads the file lazily (not the full parse), to the same entries."""
    store = {key: {"sessionId": str(i), "updatedAt": i} for i, key in enumerate(keys)}
    raw = jsjson.stringify(store).encode()
    lazy = StoreState.parse(raw, source="t", lazy=True)
    assert lazy.loaded_lazily and list(lazy.entries) == keys
    assert lazy.text() == raw and lazy.snapshot() == StoreState.parse(raw, source="t").snapshot()


def test_only_a_skipped_member_takes_the_escaping_pattern(monkeypatch):
    """A duplicate key (or any other refusal) falls back to the full parse at once:
    the escaping pattern runs only for a file whose keys hold an escape."""
    import openclaw_core.engine.store.members as members_module

    class Unused:
        def finditer(self, raw):
            raise AssertionError("the escaping pattern ran")

    monkeypatch.setattr(members_module, "_MEMBER_ESCAPED", Unused())
    raw = b'{\n  "a": {\n    "x": "\\\\"\n  },\n  "a": {\n    "x": 2\n  }\n}'
    lazy = StoreState.parse(raw, source="t", lazy=True)
    assert not lazy.loaded_lazily and lazy.text() == StoreState.parse(raw, source="t").text()


def test_a_separator_inside_an_entry_is_no_member():
    """',\\n  "' inside an oddly indented value (no key follows) does not split it."""
    raw = b'{\n  "a": {\n    "x": [\n  "p",\n  "q"\n    ]\n  },\n  "b": {\n    "y": 1\n  }\n}'
    lazy = StoreState.parse(raw, source="t", lazy=True)
    full = StoreState.parse(raw, source="t")
    assert list(lazy.entries) == ["a", "b"] and lazy.text() == full.text() and lazy.snapshot() == full.snapshot()
    assert not lazy.on_disk_matches


@pytest.mark.parametrize("raw", [b"", b'{\n  "a": {\n    "x": 1\n  }\n', b'{\n  "a": [\n    1\n  ]\n}',
                                 b'{\n  "a": {\n    "x": 1\n  },\n  "b": 5\n}',
                                 # a raw control character in a key is no JSON (it was read lazily and rewritten)
                                 b'{\n  "a\tb": {\n    "x": 1\n  }\n}', b'{\n  "a": {\n    "x": 1\n  },\n  "\x01": {\n    "x": 2\n  }\n}'])
def test_damaged_stores_fail_the_same_way(raw):
    with pytest.raises(StoreCorruptError) as full:
        StoreState.parse(raw, source="t")
    with pytest.raises(StoreCorruptError) as lazy:
        StoreState.parse(raw, source="t", lazy=True)
    assert str(full.value) == str(lazy.value)


def test_a_mutation_materialises_what_it_touches_and_rolls_back_to_lazy():
    raw = jsjson.stringify({"a": {"sessionId": "1", "updatedAt": 1}, "b": {"sessionId": "2"}}).encode()
    state = StoreState.parse(raw, source="t", lazy=True)
    view = MutationView(state)
    view["a"]["label"] = "x"
    del view["b"]
    assert type(state.entries["a"]) is dict
    view.rollback()
    assert type(state.entries["a"]) is LazyEntry and type(state.entries["b"]) is LazyEntry
    assert state.text() == raw
    view = MutationView(state)
    view["a"]["label"] = "x"
    changes = view.finish()
    assert set(changes.upserted) == {"a"} and "a" not in state.unverified
    assert json.loads(state.text())["a"]["label"] == "x"


def test_a_lazy_commit_is_not_kept_by_the_writer(state_dir, store_path):
    write_store(store_path, {f"agent:main:x:{i}": {"sessionId": str(i), "updatedAt": i} for i in range(5)})
    writer = get_writer(store_path)
    result = writer.run_with_report(lambda store: None, maintenance=MaintenanceRequest(force=True), lazy=True)
    assert result.report.pruned == 5 and writer._state is None
    assert json.loads(store_path.read_text()) == {} and dict(writer.snapshot()) == {}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stores)
def test_a_store_in_orjsons_layout_is_written_back_as_javascript_writes_it(store):
    """A file in the 2-space layout but not JS's text (orjson's floats, integer-like
    keys where the file put them): both loads write JS's bytes, which the exact
    encoder gives, whether or not the kept entries take orjson's fast path."""
    try:
        raw = orjson.dumps(store, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:
        return
    try:
        full = StoreState.parse(raw, source="full")
    except StoreCorruptError:
        return
    parsed = json.loads(raw)
    for entry in parsed.values():
        normalize_loaded_entry(entry)
    expected = jsjson.stringify(parsed).encode("utf-8")
    assert full.text() == expected
    assert StoreState.parse(raw, source="lazy", lazy=True).text() == expected
