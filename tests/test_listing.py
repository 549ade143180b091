"""The pieces of the listing: JS coercions, kinds, display models, targets, sorting."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_core.js.sort import insertion_select
from openclaw_core.js import values as js
from openclaw_core.services import listing as lst
from openclaw_core.services import listing_json as lstj
from openclaw_core.config.model import Config
from openclaw_core.base.errors import UsageError
from openclaw_core.js.json import stringify
from openclaw_core.js.sort import v8_sort
from openclaw_core.base.keys import session_kind
from openclaw_core.adapters.cli.listing_text import format_k_tokens, format_time_ago, tokens_cell, truncate_key
from openclaw_core.config.targets import resolve_targets


def config(data: dict, tmp_path: Path, env: dict | None = None) -> Config:
    return Config(data, tmp_path / "openclaw.json", "json", tmp_path, env or {})


# --- JS coercions --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "number"), [
    (None, 0), (True, 1), (False, 0), ("", 0), ("  12  ", 12), ("\ufeff7\u00a0", 7), ("1e3", 1000), (".5", 0.5),
    ("5.", 5), ("-0x10", math.nan), ("0x10", 16), ("0B11", 3), ("0o17", 15), ("Infinity", math.inf),
    ("-Infinity", -math.inf), ("infinity", math.nan), ("1_000", math.nan), ("abc", math.nan), ("١", math.nan),
    ([], 0), ([5], 5), (["7"], 7), ([1, 2], math.nan), ([None], 0), ({}, math.nan), (2 ** 60, float(2 ** 60)),
    (10 ** 400, math.inf),
])
def test_to_number(value, number):
    result = js.to_number(value)
    assert (math.isnan(result) and math.isnan(number)) or result == number


@pytest.mark.parametrize(("value", "text"), [
    ("x", "x"), (None, "null"), (True, "true"), (1.0, "1"), (1e21, "1e+21"), (0.1, "0.1"), (math.nan, "NaN"),
    (-math.inf, "-Infinity"), ([1, [2, None], "a"], "1,2,,a"), ({"a": 1}, "[object Object]"), (-0.0, "0"),
])
def test_to_string(value, text):
    assert js.to_string(value) == text


@pytest.mark.parametrize(("value", "truthy"), [
    ("", False), (" ", True), (0, False), (-0.0, False), (math.nan, False), (0.1, True), ([], True), ({}, True),
    (None, False), (False, False), ("0", True),
])
def test_truthy(value, truthy):
    assert js.truthy(value) is truthy


@pytest.mark.parametrize(("value", "rounded"), [
    (0.5, 1), (1.5, 2), (2.5, 3), (-0.5, 0), (-2.5, -2), (-2.6, -3), (0.49999999999999994, 0), (1e300, 1e300),
])
def test_math_round_goes_half_up(value, rounded):
    assert js.math_round(value) == rounded


@pytest.mark.parametrize(("value", "digits", "text"), [
    (1.25, 1, "1.3"), (1.45, 1, "1.4"), (10.5, 0, "11"), (12.5, 0, "13"), (0.999, 1, "1.0"), (9.999, 1, "10.0"),
    (-1.25, 1, "-1.3"), (-0.0, 1, "0.0"), (-0.04, 1, "-0.0"), (math.nan, 1, "NaN"), (1e21, 0, "1e+21"),
    (math.inf, 1, "Infinity"),
])
def test_to_fixed_rounds_the_exact_binary_value_half_up(value, digits, text):
    assert js.to_fixed(value, digits) == text


@pytest.mark.parametrize(("text", "number"), [
    ("60", 60), (" 60", 60), ("\u00a060", 60), ("1.9", 1), ("5abc", 5), ("+5", 5), ("-5", -5), ("abc", math.nan),
    ("", math.nan), ("0x10", 0), ("1" * 500, math.inf),
])
def test_parse_int(text, number):
    result = js.parse_int(text)
    assert (math.isnan(result) and math.isnan(number)) or result == number


def test_utf16_lengths_slices_and_padding():
    assert js.utf16_len("a\U0001f389é") == 4
    assert js.utf16_slice("a\U0001f389b", 0, 2) == "a\ud83c"
    assert js.utf16_slice("a\U0001f389b", -2) == "\udf89b"
    assert js.pad_end("\U0001f389", 4) == "\U0001f389  "
    assert js.replace_lone_surrogates("a\ud83cb") == "a\ufffdb"
    assert js.js_trim_end("x \u00a0\ufeff\n") == "x"


# --- kinds ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "entry", "kind"), [
    ("global", {}, "global"), ("unknown", {}, "unknown"), ("Global", {}, "direct"), (" global", {}, "direct"),
    ("agent:main:cron:nightly", {}, "cron"), ("AGENT:Main:CRON:Upper", {}, "cron"), ("agent:main:cron", {}, "direct"),
    ("cron:x", {}, "direct"), ("agent:main:cron:x", {"chatType": "group"}, "cron"),
    ("agent:main:x", {"chatType": "group"}, "group"), ("agent:main:x", {"chatType": "channel"}, "group"),
    ("agent:main:x", {"chatType": "GROUP"}, "direct"), ("agent:main:x", {"chatType": "thread"}, "direct"),
    ("agent:main:x", {"origin": {"chatType": "group"}}, "direct"), ("agent:main:discord:GROUP:7", {}, "direct"),
    ("agent:main:x:group:", {}, "group"), ("telegram:group:5", {}, "group"),
    ("agent:main:slack:channel:C1", {}, "group"),
    ("agent:main:subagent:1", {}, "direct"), ("", {}, "direct"),
])
def test_session_kind(key, entry, kind):
    assert session_kind(key, entry) == kind


# --- display model, context, runtime ---------------------------------------------------------

@pytest.mark.parametrize(("key", "fields", "ref"), [
    ("agent:main:a", {}, ("anthropic", "claude-opus-4-6")),
    ("global", {}, ("anthropic", "claude-opus-4-6")),
    ("agent:work:a", {}, ("google", "gemini-3-pro")),
    ("agent:WORK:a", {}, ("anthropic", "claude-opus-4-6")),           # the agent id is compared exactly
    ("agent:main:a", {"model": "gpt-5.4"}, ("anthropic", "gpt-5.4")),  # provider from the default ref
    ("agent:main:a", {"model": "x/y", "modelProvider": "p"}, ("x", "y")),
    ("agent:main:a", {"model": "/y"}, ("anthropic", "/y")),
    ("agent:main:a", {"model": "y/"}, ("anthropic", "y/")),
    ("agent:main:a", {"modelOverride": "openrouter/meta/llama-4"}, ("openrouter", "meta/llama-4")),
    ("agent:main:a", {"providerOverride": "Anthropic", "modelOverride": "anthropic/claude-x"},
     ("Anthropic", "claude-x")),
    ("agent:main:a", {"providerOverride": "  ", "modelOverride": "m"}, ("", "m")),
    ("agent:main:a", {"providerOverride": 5, "modelOverride": "m", "model": "z"}, ("anthropic", "m")),
    ("agent:main:a", {"modelOverride": 5, "model": "z"}, ("anthropic", "z")),
    ("agent:main:a", {"model": "claude-opus-4-7", "modelProvider": "claude-cli"}, ("anthropic", "claude-opus-4-7")),
    ("agent:main:a", {"model": "acme-large", "modelProvider": "codex-cli"}, ("acme", "acme-large")),
    ("agent:main:a", {"model": "acme/x", "modelProvider": "my-cli"}, ("acme", "x")),
    ("agent:main:a", {"model": "m", "modelProvider": "my-cli"}, ("anthropic", "m")),
])
def test_display_model_ref(tmp_path, key, fields, ref):
    ctx = lst.ListingContext(config({
        "agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-6"}, "cliBackends": {"My-CLI": {}}},
                   "list": [{"id": "work", "model": " google/gemini-3-pro "}]},
        "models": {"providers": {"acme": {"models": [{"id": "acme-large"}]}}},
    }, tmp_path))
    assert lst.display_model_ref(ctx, key, fields) == ref


def test_context_tokens_chain(tmp_path):
    data = {"models": {"providers": {
        "acme": {"contextWindow": 64000, "models": [{"id": "small"}, {"id": "big", "contextWindow": 500000},
                                                    {"id": "tok", "contextTokens": 7, "contextWindow": 9},
                                                    {"id": "zero", "contextTokens": 0}]},
        "later": {"models": [{"id": "gpt-5.5", "contextWindow": 77777}]}}}}
    ctx = lst.ListingContext(config(data, tmp_path))
    assert lstj.row_context_tokens(ctx, {"contextTokens": 0}, "big") == 0          # the entry's own wins, even 0
    assert lstj.row_context_tokens(ctx, {"contextTokens": None}, "big") == 500000
    assert lstj.row_context_tokens(ctx, {}, "small") == 200000                     # not the provider's 64000
    assert lstj.row_context_tokens(ctx, {}, "tok") == 7
    assert lstj.row_context_tokens(ctx, {}, "zero") == 77777                       # skipped: the default model's
    assert lstj.row_context_tokens(ctx, {}, "other") == 77777
    capped = lst.ListingContext(config({**data, "agents": {"defaults": {"contextTokens": 32000}}}, tmp_path))
    assert lstj.row_context_tokens(capped, {}, "big") == 32000
    assert lstj.row_context_tokens(lst.ListingContext(config({}, tmp_path)), {}, "x") == 200000


def test_agent_runtime_sources(tmp_path):
    data = {"agents": {"defaults": {"agentRuntime": {"id": " Auto "}},
                       "list": [{"id": "Work", "agentRuntime": {"id": "Codex-App-Server"}}, {"id": "plain"},
                                {"id": "work", "agentRuntime": {"id": "other"}},
                                {"id": "blank", "agentRuntime": {"id": " "}}]}}
    ctx = lst.ListingContext(config(data, tmp_path))
    assert ctx.agent_runtime("work") == {"id": "codex", "source": "agent"}
    assert ctx.agent_runtime("plain") == {"id": "auto", "source": "defaults"}
    assert ctx.agent_runtime("blank") == {"id": "auto", "source": "defaults"}
    env = lst.ListingContext(config(data, tmp_path, {"OPENCLAW_AGENT_RUNTIME": " PI "}))
    assert env.agent_runtime("work") == {"id": "pi", "source": "env"}
    assert lst.ListingContext(config({}, tmp_path)).agent_runtime("x") == {"id": "pi", "source": "implicit"}


def test_json_row_fields(tmp_path):
    ctx = lst.ListingContext(config({}, tmp_path))
    entry = {"totalTokens": -5, "totalTokensFresh": True, "inputTokens": "12", "thinkingLevel": "", "label": "x",
             "updatedAt": "1000", "systemSent": False}
    row = lstj.json_row(ctx, lst.build_row("agent:Work:x", entry, "main", 5000))
    assert list(row) == ["key", "updatedAt", "ageMs", "systemSent", "thinkingLevel", "inputTokens", "totalTokens",
                         "totalTokensFresh", "model", "modelProvider", "contextTokens", "agentId", "agentRuntime",
                         "kind"]
    assert (row["updatedAt"], row["ageMs"], row["totalTokens"], row["totalTokensFresh"]) == ("1000", 4000, None, True)
    assert row["agentId"] == "work"
    odd = lstj.json_row(ctx, lst.build_row("k", {"updatedAt": "soon"}, "main", 5000))
    assert math.isnan(odd["ageMs"]) and '"ageMs": null' in stringify(odd)  # NaN prints as null, like JSON.stringify


# --- text cells ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("ms", "text"), [
    (0, "just now"), (29_499, "just now"), (30_000, "1m ago"), (59 * 60_000 + 29_000, "59m ago"),
    (59 * 60_000 + 30_000, "1h ago"), (90 * 60_000, "2h ago"), (47 * 3_600_000, "47h ago"),
    (48 * 3_600_000, "2d ago"), (60 * 3_600_000, "3d ago"), (-1, "unknown"), (math.nan, "unknown"),
])
def test_format_time_ago(ms, text):
    assert format_time_ago(ms) == text


@pytest.mark.parametrize(("total", "ctx", "cell"), [
    (1250, 200000, "1.3k/200k (1%)"), (10500, 200000, "11k/200k (5%)"), (1450, 0, "1.4k/? (?%)"),
    (2_500_000, 1000, "2500k/1.0k (999%)"), (None, 200000, "unknown/200k (?%)"), (100, "abc", "0.1k/NaNk (NaN%)"),
    (100, "0", "0.1k/0.0k (999%)"), (0, [], "0.0k/0.0k (NaN%)"), (100, -1000, "0.1k/-1.0k (-10%)"),
])
def test_tokens_cell(total, ctx, cell):
    assert tokens_cell(total, ctx) == js.pad_end(cell, 20)


def test_k_tokens_and_key_truncation():
    assert [format_k_tokens(v) for v in (999, 9999, 10000, 12500)] == ["1.0k", "10.0k", "10k", "13k"]
    assert truncate_key("a" * 26) == "a" * 26
    assert truncate_key("agent:main:twenty-seven-chars-k") == "agent:main:twent...hars-k"


# --- targets -------------------------------------------------------------------------------------

def test_targets_blank_agent_and_empty_store_count_as_absent(tmp_path):
    cfg = config({"agents": {"list": [{"id": "main"}, {"id": "work", "default": True}]}}, tmp_path)
    assert [t.agent_id for t in resolve_targets(cfg, agent="  ")] == ["work"]
    assert [t.agent_id for t in resolve_targets(cfg, agent=" ", all_agents=True)] == ["main", "work"]
    assert [t.agent_id for t in resolve_targets(cfg, store="")] == ["work"]
    assert resolve_targets(cfg, store="", all_agents=True)[1].path == tmp_path / "agents/work/sessions/sessions.json"
    with pytest.raises(UsageError, match="^--agent and --all-agents cannot be used together$"):
        resolve_targets(cfg, agent="x", store="s", all_agents=True)
    with pytest.raises(UsageError, match='^Unknown agent id "Nope". Use "openclaw agents list"'):
        resolve_targets(cfg, agent="Nope")


# --- sorting -------------------------------------------------------------------------------------

def _rows(values: list) -> list[lst.SessionRow]:
    return [lst.build_row(f"k{i}", {} if v is ... else {"updatedAt": v}, "main", 0) for i, v in enumerate(values)]


@given(st.lists(st.one_of(st.integers(-5, 5), st.none(), st.just(...), st.floats(-3, 3, allow_nan=False),
                          st.sampled_from([math.inf, -math.inf])), max_size=300))
def test_sorting_numbers_is_a_stable_descending_sort(values):
    rows = _rows(values)
    expected = [r.key for r in sorted(rows, key=lambda r: -r.sort_value)]
    assert [r.key for r in v8_sort(list(rows), lst._compare)] == expected
    assert [r.key for r in insertion_select(rows, lst._compare, len(rows) + 1)] == expected
    assert [r.key for r in lst.select_newest(rows, 3)] == expected[:3]


@given(st.lists(st.one_of(st.integers(0, 20), st.just("x")), max_size=400))
def test_v8_sort_with_nan_matches_timsort_on_a_consistent_view(values):
    # With NaN compared as "equal", V8 and CPython 3.11 (both TimSort) agree on these sizes;
    # the recordings in tests/fixtures/list/sort-nan-* pin the reference itself.
    rows = _rows(values)
    ours = [r.key for r in v8_sort(list(rows), lst._compare)]
    assert sorted(ours) == sorted(r.key for r in rows)
    if len(rows) < 64:  # one binary-insertion run: the same steps as CPython's
        assert ours == [r.key for r in sorted(rows, key=functools.cmp_to_key(lst._compare))]


def test_listing_document_shape(tmp_path):
    ctx = lst.ListingContext(config({}, tmp_path))
    single = lstj.Listing([("main", "/s.json")], False, False, [], 0, 100, None)
    assert json.loads(json.dumps(lstj.listing_document(ctx, single))) == {
        "path": "/s.json", "count": 0, "totalCount": 0, "limitApplied": 100, "hasMore": False,
        "activeMinutes": None, "sessions": []}
    many = lstj.listing_document(ctx, lstj.Listing([("main", "/a"), ("work", "/b")], True, True, [], 0, None, 5))
    assert list(many) == ["path", "stores", "allAgents", "count", "totalCount", "limitApplied", "hasMore",
                          "activeMinutes", "sessions"]
    assert many["stores"] == [{"agentId": "main", "path": "/a"}, {"agentId": "work", "path": "/b"}]
