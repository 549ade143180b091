"""JSON exactly as JavaScript writes it."""

from __future__ import annotations

import copy
import math
import sys
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_core.js import json as jsjson

# What node's JSON.stringify printed for these numbers (checked with the
# reference's own Node 26 when this test was written).
JS_NUMBERS = [
    (1.0, "1"), (0.1, "0.1"), (1e-6, "0.000001"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"),
    (1e20, "100000000000000000000"), (1e21, "1e+21"), (123456789012345680000.0, "123456789012345680000"),
    (1.5e300, "1.5e+300"), (-0.0, "0"), (0.000123, "0.000123"), (5e-324, "5e-324"),
    (1e-5, "0.00001"), (9.99e-6, "0.00000999"), (1e16, "10000000000000000"),
    (1.2345e16, "12345000000000000"), (1.5e17, "150000000000000000"), (2.5e-6, "0.0000025"),
    (12345678901234567890, "12345678901234567000"), (2**53, "9007199254740992"),
    (float("inf"), "null"), (float("nan"), "null"), (-1.5, "-1.5"), (123456.789, "123456.789"),
]


@pytest.mark.parametrize(("value", "expected"), JS_NUMBERS)
def test_numbers_print_like_javascript(value, expected):
    assert jsjson.js_number(value) == expected
    # and through the full encoder, whichever path it takes
    assert jsjson.dumps_pretty({"v": value}).decode() == '{\n  "v": ' + expected + "\n}"


def test_strings_escape_like_javascript():
    text = "\x01\x1f\x7f\u2028/\"\\\n\t\b\f\r é ✨"
    assert jsjson.js_string(text) == '"\\u0001\\u001f\x7f\u2028/\\"\\\\\\n\\t\\b\\f\\r é ✨"'
    assert jsjson.js_string("\ud800x") == '"\\ud800x"'


def test_integer_like_keys_come_first_in_numeric_order_at_every_level():
    value = {"agent:main:x": {"b": 1, "10": 2, "2": 3, "007": 4, "-1": 5}, "42": {}, "7": {"z": 0}}
    text = jsjson.stringify(value)
    assert text.index('"7"') < text.index('"42"') < text.index('"agent:main:x"')
    inner = text[text.index('"agent:main:x"'):]
    assert [inner.index(k) for k in ('"2"', '"10"', '"b"', '"007"', '"-1"')] == sorted(
        inner.index(k) for k in ('"2"', '"10"', '"b"', '"007"', '"-1"'))


def test_empty_containers_and_layout():
    assert jsjson.stringify({}) == "{}"
    assert jsjson.stringify({"a": [], "b": {}, "c": [1, {"d": None}]}) == (
        '{\n  "a": [],\n  "b": {},\n  "c": [\n    1,\n    {\n      "d": null\n    }\n  ]\n}')


def test_loads_is_strict_but_takes_what_json_parse_takes():
    for bad in (b"NaN", b"{'a': 1}", b"[1,]", b"// c\n{}", b"\xff\xfe"):
        with pytest.raises(jsjson.JSONError):
            jsjson.loads(bad)
    assert jsjson.loads(b'"\\ud800"') == "\ud800"
    assert jsjson.loads(b'{"a":1,"b":2,"a":3}') == {"a": 3, "b": 2}
    assert math.isinf(jsjson.loads(b"1e400"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fast_path_equals_exact_encoder(value):
    exact = jsjson.stringify(value)
    assert jsjson.dumps_pretty(value).decode() == exact


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_round_trip_is_byte_stable(value):
    once = jsjson.dumps_pretty(value)
    again = jsjson.dumps_pretty(jsjson.loads(once))
    assert once == again


def test_orjson_agrees_where_we_call_it_plain():
    for value in (0.5, 1e-5, 1234567.5, -3.25, 123.456):
        _, plain = jsjson.canonicalize(value)
        assert plain
        assert orjson.dumps(value).decode() == jsjson.js_number(value)


def test_lone_surrogates_and_odd_values_anywhere_take_the_exact_path():
    # orjson cannot print a lone surrogate: wherever one hides, the value is not plain
    for value in ({"\udc00k": 1}, {"a": [{"b": "x\ud800"}]}, [[{"9": "\udfff"}]],
                  {"n": [2**60]}, {"f": {"g": 1e-7}}):
        _, plain = jsjson.canonicalize(value)
        assert not plain, value
        assert jsjson.dumps_pretty(value).decode("utf-8", "surrogatepass") == jsjson.stringify(value)
    value = {"z": [{"2": 1.0, "1": {"b": 2.0, "0": True}}]}
    assert jsjson.canonicalize(value) == ({"z": [{"1": {"0": True, "b": 2}, "2": 1}]}, True)
    assert list(value["z"][0]) == ["1", "2"] and list(value["z"][0]["1"]) == ["0", "b"]
    with pytest.raises(jsjson.JSONError, match="keys must be strings"):
        jsjson.canonicalize({"a": [{1: "x"}]})
    with pytest.raises(jsjson.JSONError, match="set is not a JSON value"):
        jsjson.canonicalize({"a": [{"b": {1, 2}}]})


def test_the_deepest_allowed_value_encodes_from_deep_in_the_stack():
    # One frame per nesting level: a caller 600 frames deep (a Gateway handler,
    # a plugin's hook) still gets the whole MAX_DEPTH before the recursion limit.
    def deep(levels: int) -> Any:
        value: Any = {"leaf": 1.0}
        for i in range(levels - 1):
            value = {"k": value} if i % 2 else [value]
        return value

    def from_depth(frames: int) -> bytes:
        return from_depth(frames - 1) if frames else jsjson.dumps_pretty(deep(jsjson.MAX_DEPTH))

    assert sys.getrecursionlimit() == 1000
    assert from_depth(600).count(b"\n") >= 2 * jsjson.MAX_DEPTH
    with pytest.raises(jsjson.JSONError, match="nested too deeply"):
        jsjson.dumps_pretty(deep(jsjson.MAX_DEPTH + 1))


def test_dumps_compact_prints_lone_surrogates_as_json_stringify_does():
    # What the Gateway sends for a store holding half an emoji (JSON.stringify's text).
    assert jsjson.dumps_compact({"cut-\ud83d": ["x\ude00y", 2**70, 1.0]}) == \
        '{"cut-\\ud83d":["x\\ude00y",1.1805916207174113e+21,1]}'
    with pytest.raises(jsjson.JSONError):
        jsjson.dumps_compact({"s": {1, 2}})


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=4))
def test_dumps_compact_round_trips(value):
    # A lone surrogate (one per string: a Python pair would be one JS character) anywhere.
    text = jsjson.dumps_compact(value)
    assert text.isascii() or not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    assert jsjson.dumps_compact(jsjson.loads(text)) == text


@pytest.mark.parametrize("value,expected", [
    ([-9223372036854775809], "[-9223372036854776000]"),  # beyond 64 bits
    ([-9.223372036854776e18], "[-9223372036854776000]"),  # orjson: -9.223372036854776e18
    ([3.0], "[3]"),
    ([1e16, 1e-6, 1.5e300], "[10000000000000000,0.000001,1.5e+300]"),
    ([9007199254740993], "[9007199254740992]"),
    ({"b": 1, "1": 2}, '{"1":2,"b":1}'),
    ({"a": "x.0,1e5"}, '{"a":"x.0,1e5"}'),  # a look-alike in a string: same text either way
])
def test_dumps_compact_prints_numbers_and_key_order_as_js(value, expected):
    assert jsjson.dumps_compact(value) == expected


# Numbers where orjson and JSON.stringify part ways, and look-alikes of them in strings and keys.
_odd_numbers = st.sampled_from([1.0, -0.0, 0.0, 3.0, 1e16, 1e21, 1e-6, 1e-7, 2.5e-6, 1.5e300, 2**53, 2**53 + 1,
                                -(2**63), 10**17, 123456789012345680000.0, 0.1, -1.5])
_odd_strings = st.sampled_from(["3e41", "x:1e5", "[1.0]", ",1234567890123456", "0000000e-0000-4000", '"1":'])
compact_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | _odd_numbers
    | _odd_strings | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4) | st.sampled_from(["1", "12", "01", "e5"]), children, max_size=4),
    max_leaves=24,
)


@settings(max_examples=500, deadline=None)
@given(compact_values)
def test_dumps_compact_equals_the_exact_encoder(value):
    exact: list[str] = []
    jsjson._encode_compact(value, 0, exact)
    assert jsjson.dumps_compact(value) == "".join(exact)


def test_hex_digits_in_strings_keep_a_listing_on_the_fast_path(monkeypatch):
    """A UUID's "3e41" or "0000000e" is no exponent: a 3,000-row listing took the
    exact encoder (0.67 s on the event loop) for it before."""
    def exact(*_args):
        raise AssertionError("the exact encoder ran")

    monkeypatch.setattr(jsjson, "_encode_compact", exact)
    rows = [{"key": f"agent:main:telegram:direct:{i}", "sessionId": f"0000000e-0000-4000-8000-3e41{i:08d}",
             "updatedAt": 1764633600000 + i, "totalTokens": i * 7, "label": "v1.0, 2e5 runs"} for i in range(300)]
    text = jsjson.dumps_compact({"type": "res", "ok": True, "payload": {"sessions": rows}})
    assert orjson.loads(text)["payload"]["sessions"] == rows


# --- dumps_parsed_pretty: orjson's 2-space text where it is JS's, without the walk -------------

@settings(max_examples=500, deadline=None)
@given(st.lists(compact_values, max_size=3) | st.dictionaries(
    st.text(max_size=4) | st.sampled_from(["1", "12", "01", "e5", "4294967295"]), compact_values, max_size=4))
def test_dumps_parsed_pretty_is_none_or_exactly_javascripts(value):
    before = copy.deepcopy(value)
    fast = jsjson.dumps_parsed_pretty(value)
    assert value == before and repr(value) == repr(before)  # not modified (not even reordered)
    if fast is not None:
        assert fast.decode() == jsjson.stringify(value)


@pytest.mark.parametrize("value", [
    {"cost": 0.5}, {"n": 3.0}, {"list": [1, 2.5e-7]}, {"deep": {"x": [[1e16]]}}, {"9": 1, "a": 2},
    {"a": {"b": 1, "10": 2}}, [{"0": None}], {"big": 2**53}, {"neg": -(2**60)}, {"s": "x\ud800"},
])
def test_dumps_parsed_pretty_leaves_floats_digit_keys_big_ints_and_surrogates_to_the_walk(value):
    assert jsjson.dumps_parsed_pretty(value) is None
    assert jsjson.dumps_pretty(copy.deepcopy(value)).decode() == jsjson.stringify(value)


def test_dumps_parsed_pretty_writes_a_plain_entry_without_walking_it(monkeypatch):
    entry = {"sessionId": "0000000e-3e41-4000-8000-1e5", "updatedAt": 1764633600000, "label": "v1.0: 2e5 runs",
             "model": "gpt-5.5", "tags": ["a", "1st"], "nested": {"to": "+1 555", "n": -7},
             "skills": [{"name": "s-0", "primaryEnv": None}], "empty": {}, "none": [], "ok": True}
    expected = jsjson.stringify(entry).encode()

    def walk(*_args):
        raise AssertionError("the canonicalize walk ran")

    monkeypatch.setattr(jsjson, "_canonicalize_container", walk)
    assert jsjson.dumps_parsed_pretty(entry) == expected
    # What looks like a float member inside a string only costs the walk.
    assert jsjson.dumps_parsed_pretty({**entry, "note": '": 1.5'}) is None
