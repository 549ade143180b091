"""One JS trim (``jsvalues.js_trim``) wherever the reference trims, and the JSON5
surrogate-pair rule (issue 13, item 7).

``String.prototype.trim`` strips ECMAScript WhiteSpace + LineTerminator; Python's
``str.strip()`` also strips U+001C-U+001F and U+0085 and misses U+FEFF. The set
below is what Node 26 (the reference's runtime) trims, found by trimming every
BMP code unit: ``(ch + "x").trim() === "x"``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from openclaw_core.js import values as jsvalues

from openclaw_core.base import keys
from openclaw_core.base.units import UnitError, parse_bytes, parse_duration_ms

REPO = Path(__file__).resolve().parent.parent

NODE_TRIMS = frozenset(map(chr, (
    0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
    0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF,
)))


def test_js_trim_strips_exactly_what_node_trims():
    trimmed = {chr(c) for c in range(0x10000) if jsvalues.js_trim(chr(c) + "x" + chr(c)) == "x"}
    assert trimmed == NODE_TRIMS
    assert set(jsvalues.JS_WHITESPACE) == NODE_TRIMS


def test_what_python_strip_gets_wrong_is_kept_or_removed_as_in_js():
    assert jsvalues.js_trim("~/ws-work\x1f") == "~/ws-work\x1f"
    assert jsvalues.js_trim("\x1c\x1d\x1e\x85a\x85") == "\x1c\x1d\x1e\x85a\x85"
    assert jsvalues.js_trim("\ufeff a \u3000") == "a"
    assert jsvalues.js_trim("") == "" and jsvalues.js_trim(" \t\n") == ""


def test_there_is_one_trim_and_it_lives_in_jsvalues():
    assert keys.js_trim is jsvalues.js_trim
    # No other module spells out a whitespace set of its own.
    spelled = []
    for path in [*(REPO / "openclaw_core").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\u2028" in node.value \
                    and "\u3000" in node.value:
                spelled.append(str(path.relative_to(REPO)))
    assert spelled == ["openclaw_core/js/values.py"]


# Audited: every bare .strip() left is on our own text, never on a value the reference
# trims (those use js_trim) nor on a path (never trimmed). A new one needs a decision.
OWN_TEXT_STRIPS = {
    "openclaw_core/adapters/gateway/ops_state.py": 1,          # the platform's own name in presence
    "openclaw_core/base/errors.py": 1,                  # an exception's text (first_line)
    "openclaw_core/adapters/cli/output.py": 1,                  # FORCE_COLOR: a terminal convention, not the reference's config
    "openclaw_core/clidoc.py": 1,
    "openclaw_core/config/schema.py": 1,               # our own key: session.backend
    "openclaw_core/engine/wire/identity.py": 1,            # base64 of a key; anything else fails to decode anyway
    "openclaw_core/contract/manager.py": 3,                     # OPENCLAW_DISABLE_PLUGINS (ours): plugin names
    "openclaw_core/contract/entrypoints.py": 9,                 # packaging metadata, read as importlib.metadata strips it
    "openclaw_core/engine/store/state.py": 1,                 # "empty file" vs "not JSON": both refuse the store
    "plugins/openclaw_gateway_rpc/client.py": 1,       # a close reason for our own error text
    "plugins/openclaw_store_postgres/settings.py": 4,  # the PostgreSQL DSN (ours): session.postgres.dsn
}


def test_bare_strip_is_left_only_on_our_own_text():
    found: dict[str, int] = {}
    for path in [*(REPO / "openclaw_core").rglob("*.py"), *(REPO / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("strip", "lstrip", "rstrip") and not node.args:
                rel = str(path.relative_to(REPO))
                found[rel] = found.get(rel, 0) + 1
    assert found == OWN_TEXT_STRIPS


# --- sites the audit changed ------------------------------------------------------------------------

def test_model_refs_trim_as_js_does_in_both_splits():
    from openclaw_core.config.models import parse_model_ref as _parse_model_ref
    from openclaw_core.config.models import split_gateway_ref as _split_model_ref

    for parse in (lambda raw: _parse_model_ref(raw, "anthropic"), _split_model_ref):
        assert parse("\ufeffanthropic/claude") == ("anthropic", "claude")
        assert parse("openai\u00a0/ gpt-5\u2028") == ("openai", "gpt-5")
    # U+001F is not whitespace: the model keeps it, as the reference shows it.
    assert _parse_model_ref("openai/gpt-4o\x1f", "anthropic") == ("openai", "gpt-4o\x1f")
    assert _split_model_ref("openai/gpt-4o\x1f") == ("openai", "gpt-4o\x1f")


def test_durations_and_sizes_trim_as_js_does():
    assert parse_duration_ms("\ufeff30d\u00a0") == 30 * 86_400_000
    assert parse_bytes("\u30002kb\u3000") == 2048
    for bad in ("30d\x1f", "\x8530d"):
        with pytest.raises(UnitError):
            parse_duration_ms(bad)
    with pytest.raises(UnitError):
        parse_bytes("2kb\x1e")


def test_identity_lines_use_js_whitespace(tmp_path):
    from openclaw_core.services.agents import read_identity_file

    (tmp_path / "IDENTITY.md").write_text("\ufeff- \ufeffName:\u00a0Fox\n\x1f- Emoji: x\n", encoding="utf-8")
    # JS trims U+FEFF/NBSP around "- Name: Fox"; "\x1f- Emoji" is no list item there.
    assert read_identity_file(tmp_path) == {"name": "Fox"}


def test_first_transcript_line_splits_on_newlines_only(tmp_path):
    from openclaw_maintenance.transcripts import _starts_with_session_event

    head = '{"traceSchema": "openclaw-trajectory", "schemaVersion": 1, "source": "runtime", "sessionId": "s"}'
    good, odd = tmp_path / "good.jsonl", tmp_path / "odd.jsonl"
    good.write_text("\ufeff\n" + head + "\u2028\n")
    # Python's splitlines would cut at U+001E and read the second half as the first line.
    odd.write_text("x\x1e" + head + "\n")
    assert _starts_with_session_event(str(good), "s")
    assert not _starts_with_session_event(str(odd), "s")


# --- JSON5 as JavaScript decodes it ---------------------------------------------------------------------

def test_escaped_surrogate_pairs_become_one_code_point_keys_and_values_too():
    data = jsvalues.join_surrogate_pairs(
        {"k\ud83d\ude00": ["\ud83d\ude00", {"n": "a\ud83db\ude00c\ude00\ud83d"}], "n": 1, "t": True})
    assert data == {"k\U0001F600": ["\U0001F600", {"n": "a\ud83db\ude00c\ude00\ud83d"}], "n": 1, "t": True}
    assert jsvalues.has_lone_surrogate("a\ud83d") and not jsvalues.has_lone_surrogate("a\U0001F600")


def test_openclaw_json_decodes_a_pair_as_one_character(tmp_path):
    from openclaw_core.config.model import parse_config_text

    text = '{agents: {list: [{id: "work", workspace: "~/ws-\\ud83d\\ude00", "n\\uD83D\\uDE00": "\\ud83d"}]}}'
    agent = parse_config_text(text, "json", tmp_path / "openclaw.json")["agents"]["list"][0]
    assert agent == {"id": "work", "workspace": "~/ws-\U0001F600", "n\U0001F600": "\ud83d"}
