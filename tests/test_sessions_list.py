"""``openclaw sessions`` (and ``sessions list``): replayed against the
reference's recordings, plus the edges and our intentional differences.

The recordings (tests/fixtures/list/, see vendor.py there) hold the exact
files the reference listed, its output, and its clock: the build time and
when the run started and ended. A replay puts the same files in tmp_path,
pins our clock to the run's end and compares everything: stdout byte for
byte except ``ageMs``, which must equal what the reference's clock could
have given (ours is computed at the run's end, the reference's at some
instant of the run), rows and keys in the same order, exit code, stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DAY_MS, OPENCLAW, now_ms, write_store

FIXTURES = Path(__file__).parent / "fixtures" / "list"

# Recordings where we deliberately differ from the reference (docs/differences.md);
# their inputs are replayed by the tests further down instead.
DIFFERENT = {
    "err-list-alias": "we have a `sessions list` alias",
    "err-list-alias-json": "we have a `sessions list` alias",
    "err-unknown-option": "an unknown option is a usage error, not ignored",
    "list-store-dir": "a directory is not an empty store",
    "list-fields-json-verbose": "--verbose adds detail lines on stderr (the reference's prints none here)",
    "list-fields-verbose": "--verbose adds detail lines on stderr (the reference's prints none here)",
}
CORRUPT = sorted(p.name for p in FIXTURES.glob("corrupt-*") if "whitespace" not in p.name)
REPLAYED = sorted(p.name for p in FIXTURES.iterdir()
                  if p.is_dir() and p.name not in DIFFERENT and p.name not in CORRUPT)

_AGE = re.compile(rb'("ageMs": )(-?[0-9][0-9.e+-]*)')


def _load_case(name: str) -> dict:
    return json.loads((FIXTURES / name / "case.json").read_text())


def _materialise(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The recording's files under tmp_path, its env and cwd, our clock at its end."""
    case = _load_case(name)
    state, home = tmp_path / "state", tmp_path / "home"
    for part, dest in (("state", state), ("home", home)):
        src = FIXTURES / name / part
        if src.exists():
            shutil.copytree(src, dest)
        dest.mkdir(exist_ok=True)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    monkeypatch.setenv("HOME", str(home))
    for key, value in case["env"].items():
        monkeypatch.setenv(key, value)
    cwd = case["cwd"].replace("$STATE", str(state)).replace("$HOME", str(home))
    os.makedirs(cwd, exist_ok=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr("openclaw_core.services.listing.now_ms", lambda: case["runEndMs"])
    return case


def _args(case: dict, tmp_path: Path) -> list[str]:
    state, home = str(tmp_path / "state"), str(tmp_path / "home")
    return [a.replace("$STATE", state).replace("$HOME", home) for a in case["args"]]


def _expected(name: str, case: dict, tmp_path: Path, item: str) -> bytes:
    return (FIXTURES / name / item).read_bytes().replace(case["work"].encode(), str(tmp_path).encode())


def _check_ages(expected: dict, ours: dict, case: dict) -> None:
    # ours = runEnd - updatedAt; the reference's = t - updatedAt for a t in the run
    window = case["runEndMs"] - case["runStartMs"]
    for theirs, mine in zip(expected["sessions"], ours["sessions"]):
        if theirs["ageMs"] is None:
            assert mine["ageMs"] is None, mine["key"]
        elif abs(theirs["ageMs"]) > 2 ** 53:  # beyond exact doubles: compare loosely
            assert mine["ageMs"] == pytest.approx(theirs["ageMs"], rel=1e-12), mine["key"]
        else:
            assert 0 <= mine["ageMs"] - theirs["ageMs"] <= window, (mine["key"], mine["ageMs"], theirs["ageMs"])


@pytest.mark.parametrize("name", REPLAYED)
def test_replay_reference_recording(name, cli, tmp_path, monkeypatch):
    case = _materialise(name, tmp_path, monkeypatch)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = cli(*_args(case, tmp_path))
    expected_out = _expected(name, case, tmp_path, "stdout.txt")
    expected_err = _expected(name, case, tmp_path, "stderr.txt")
    assert result.exit_code == case["rc"], result
    assert result.stderr.strip() == expected_err.decode().strip()
    ours = result.stdout.encode("utf-8", "surrogateescape")
    if expected_out.startswith(b"{"):
        _check_ages(json.loads(expected_out), json.loads(ours), case)
        assert _AGE.sub(rb"\1AGE", ours) == _AGE.sub(rb"\1AGE", expected_out)
    else:
        assert ours == expected_out
    # Listing never writes: every file as it was, nothing added.
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("name", ["list-fields-verbose", "list-fields-json-verbose"])
def test_verbose_recording_replays_with_a_detail_line(name, cli, tmp_path, monkeypatch):
    """`sessions [--json] --verbose`: the reference's stdout exactly, and on stderr
    only our verbose detail line (which store was read)."""
    import re

    case = _materialise(name, tmp_path, monkeypatch)
    result = cli(*_args(case, tmp_path))
    expected_out = _expected(name, case, tmp_path, "stdout.txt")
    assert result.exit_code == case["rc"] == 0, result
    assert _expected(name, case, tmp_path, "stderr.txt").strip() == b""
    assert re.fullmatch(r"read \S+/sessions\.json \(agent main\): \d+ sessions, \d+ ms\n", result.stderr), result
    ours = result.stdout.encode("utf-8", "surrogateescape")
    if expected_out.startswith(b"{"):
        _check_ages(json.loads(expected_out), json.loads(ours), case)
        assert _AGE.sub(rb"\1AGE", ours) == _AGE.sub(rb"\1AGE", expected_out)
    else:
        assert ours == expected_out


def test_the_replay_compares_ages_and_fields(cli, tmp_path, monkeypatch):
    """The replay is not blind: a clock an hour off, or a changed field, is caught."""
    name = "list-fields-json"
    case = _materialise(name, tmp_path, monkeypatch)
    monkeypatch.setattr("openclaw_core.services.listing.now_ms", lambda: case["runEndMs"] + 3_600_000)
    expected = json.loads(_expected(name, case, tmp_path, "stdout.txt"))
    ours = cli(*_args(case, tmp_path)).json()
    with pytest.raises(AssertionError):
        _check_ages(expected, ours, case)
    assert ours["sessions"][0]["model"] == expected["sessions"][0]["model"] == "claude-opus-4-6"


def test_sort_recordings_need_v8_order_not_insertion():
    """The sort-nan recordings pin an order only V8's TimSort gives (not the
    insertion pick the reference uses up to 200 rows), so they test jssort."""
    from openclaw_core.services import listing as lst

    store = json.loads((FIXTURES / "sort-nan-1000-all" / "state/agents/main/sessions/sessions.json").read_text())
    expected = [r["key"] for r in json.loads((FIXTURES / "sort-nan-1000-all" / "stdout.txt").read_text())["sessions"]]
    rows = [lst.build_row(k, e, "main", 0) for k, e in store.items()]
    assert [r.key for r in lst.select_newest(rows, None)] == expected
    from openclaw_core.js.sort import insertion_select

    assert [r.key for r in insertion_select(rows, lst._compare, len(rows))] != expected


# --- intentional differences -----------------------------------------------------------------

@pytest.mark.parametrize("name", CORRUPT)
def test_corrupt_store_is_an_error_not_an_empty_list(name, cli, tmp_path, monkeypatch):
    case = _materialise(name, tmp_path, monkeypatch)
    store = tmp_path / "state" / "agents" / "main" / "sessions" / "sessions.json"
    before, mode = store.read_bytes(), store.stat().st_mode
    result = cli(*_args(case, tmp_path))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and str(store) in lines[0] and "unreadable" in lines[0], result.stderr
    assert store.read_bytes() == before and store.stat().st_mode == mode


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "the file is empty"), (b"  \n", "the file is empty"), (b"{not json", "not valid JSON"),
    (b"[]", "top level is an array"), (b"null", "top level is null"), (b'{"a": 5}', 'entry "a" is a number'),
    (b"\xef\xbb\xbf{}", "not valid JSON"), (b'{"a": {}} x', "not valid JSON"),
])
def test_corrupt_store_messages(cli, store_path, content, problem):
    store_path.write_bytes(content)
    result = cli("sessions", "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"session store {store_path} is unreadable: {problem}")
    assert result.stderr.count("\n") == 1 and result.stderr.rstrip().endswith("refusing to touch it")
    assert store_path.read_bytes() == content


def test_one_corrupt_store_stops_an_all_agents_listing(cli, state_dir):
    (state_dir / "openclaw.json").write_text(json.dumps({"agents": {"list": [{"id": "main"}, {"id": "work"}]}}))
    write_store(state_dir / "agents/main/sessions/sessions.json", {"agent:main:main": {"updatedAt": now_ms()}})
    bad = state_dir / "agents/work/sessions/sessions.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{")
    result = cli("sessions", "--all-agents")
    assert (result.exit_code, result.stdout) == (1, "")
    assert str(bad) in result.stderr and result.stderr.count("\n") == 1


def test_a_directory_given_as_store_is_an_error(cli, state_dir, tmp_path):
    result = cli("sessions", "--json", "--store", str(state_dir))
    assert result.exit_code == 1 and result.stdout == ""
    assert f"session store {state_dir} is unreadable" in result.stderr


def test_list_alias_prints_the_same_as_the_group(cli, tmp_path, monkeypatch):
    _materialise("err-list-alias-json", tmp_path, monkeypatch)
    group = cli("sessions", "--json")
    alias = cli("sessions", "list", "--json")
    inherited = cli("sessions", "--json", "list", "--limit", "1")
    assert group.exit_code == alias.exit_code == inherited.exit_code == 0
    assert alias.stdout == group.stdout and group.json()["count"] == 3
    assert inherited.json()["count"] == 1 and inherited.json()["totalCount"] == 3
    text = cli("sessions", "list", "--agent", "work")
    assert text.exit_code == 0 and text.stdout.startswith(f"Session store: {tmp_path}/state/agents/work/")
    assert cli("sessions", "list", "--limit", "0").stderr.strip() == '--limit must be a positive integer or "all"'


def test_unknown_option_and_missing_value_are_usage_errors(cli, state_dir):
    unknown = cli("sessions", "--bogus")
    assert unknown.exit_code == 1 and unknown.stdout == "" and unknown.stderr == "error: unknown option '--bogus'\n"
    missing = cli("sessions", "--active")
    assert missing.exit_code == 1 and missing.stderr == "error: option '--active <minutes>' argument missing\n"


# --- edges -------------------------------------------------------------------------------------

def _store(state_dir: Path, entries: dict, agent: str = "main") -> Path:
    path = state_dir / "agents" / agent / "sessions" / "sessions.json"
    write_store(path, entries)
    return path


@pytest.mark.parametrize(("active", "kept"), [
    ("60", ["a", "future"]), (" 60", ["a", "future"]), ("60.9", ["a", "future"]), ("+60", ["a", "future"]),
    ("61abc", ["a", "b", "future"]), ("120", ["a", "b", "future"]), ("1", ["future"]),
])
def test_active_keeps_numeric_times_within_the_window(cli, state_dir, monkeypatch, active, kept):
    now = 1_800_000_000_000
    monkeypatch.setattr("openclaw_core.services.listing.now_ms", lambda: now)
    _store(state_dir, {"a": {"updatedAt": now - 60 * 60_000}, "b": {"updatedAt": now - 60 * 60_000 - 1},
                       "string": {"updatedAt": str(now)}, "none": {}, "future": {"updatedAt": now + 5}})
    doc = cli("sessions", "--json", "--active", active).json()
    assert sorted(r["key"] for r in doc["sessions"]) == kept
    assert doc["activeMinutes"] == int(float(active.strip().rstrip("abc"))) and doc["totalCount"] == len(kept)


@pytest.mark.parametrize("active", ["0", "-1", "abc", "", " ", "-0", "0x10", ".5"])
def test_active_errors(cli, state_dir, active):
    result = cli("sessions", "--active", active)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == "--active must be a positive integer (minutes)\n"


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "", "+3", "3.0", "1e2", "٣", "0x3", "all3"])
def test_limit_errors(cli, state_dir, limit):
    result = cli("sessions", "--limit", limit)
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == '--limit must be a positive integer or "all"\n'


@pytest.mark.parametrize(("limit", "applied", "count"), [
    (None, 100, 5), ("3", 3, 3), (" 3 ", 3, 3), ("007", 7, 5), ("5", 5, 5), ("all", None, 5), ("All", None, 5),
    ("99999999999999999999999", 99999999999999999999999, 5),
])
def test_limit_values(cli, state_dir, limit, applied, count):
    now = now_ms()
    _store(state_dir, {f"k{i}": {"updatedAt": now - i} for i in range(5)})
    doc = cli("sessions", "--json", *(["--limit", limit] if limit is not None else [])).json()
    assert (doc["limitApplied"], doc["count"], doc["totalCount"]) == (
        applied if applied is None or applied < 2 ** 53 else float(applied), count, 5)
    assert doc["hasMore"] is (count < 5)
    text = cli("sessions", *(["--limit", limit] if limit is not None else [])).stdout.splitlines()
    assert text[1] == (f"Sessions listed: {count} of 5 (limit {applied})" if count < 5 else f"Sessions listed: {count}")


def test_order_is_newest_first_with_ties_in_store_order(cli, state_dir, monkeypatch):
    now = 1_800_000_000_000
    monkeypatch.setattr("openclaw_core.services.listing.now_ms", lambda: now)
    entries = {"old": {"updatedAt": now - 5000}, "tie-1": {"updatedAt": now - 10}, "none": {},
               "negative": {"updatedAt": -1000}, "tie-2": {"updatedAt": now - 10}, "zero": {"updatedAt": 0},
               "null": {"updatedAt": None}, "10": {"updatedAt": now - 10}, "new": {"updatedAt": now}}
    _store(state_dir, entries)
    # "10" is an array-index key: JS lists it first among equals, like the file does.
    expected = ["new", "10", "tie-1", "tie-2", "old", "none", "zero", "null", "negative"]
    for limit in ("all", "100", "201"):
        assert [r["key"] for r in cli("sessions", "--json", "--limit", limit).json()["sessions"]] == expected
    assert [r["key"] for r in cli("sessions", "--json", "--limit", "4").json()["sessions"]] == expected[:4]


def test_multi_agent_listing(cli, state_dir, monkeypatch):
    now = 1_800_000_000_000
    monkeypatch.setattr("openclaw_core.services.listing.now_ms", lambda: now)
    (state_dir / "openclaw.json").write_text(json.dumps({"agents": {
        "defaults": {"agentRuntime": {"id": " Auto "}},
        "list": [{"id": "work", "default": True, "model": "google/gemini-3-pro",
                  "agentRuntime": {"id": "codex-app-server"}},
                 {"id": "Main"}, {"id": "ops"}]}}))
    _store(state_dir, {"agent:main:main": {"sessionId": "m1", "updatedAt": now - 60_000},
                       "agent:work:stray": {"updatedAt": now - 1}}, "main")
    _store(state_dir, {"agent:work:main": {"sessionId": "w1", "updatedAt": now - 120_000}, "bare": {"updatedAt": now}},
           "work")
    doc = cli("sessions", "--json", "--all-agents").json()
    assert doc["path"] is None and doc["allAgents"] is True
    assert [s["agentId"] for s in doc["stores"]] == ["work", "main", "ops"]
    rows = [(r["key"], r["agentId"], r["agentRuntime"], r["model"]) for r in doc["sessions"]]
    assert rows == [
        ("bare", "work", {"id": "codex", "source": "agent"}, "gpt-5.5"),
        ("agent:work:stray", "work", {"id": "codex", "source": "agent"}, "gemini-3-pro"),
        ("agent:main:main", "main", {"id": "auto", "source": "defaults"}, "gpt-5.5"),
        ("agent:work:main", "work", {"id": "codex", "source": "agent"}, "gemini-3-pro"),
    ]
    text = cli("sessions", "--all-agents").stdout.splitlines()
    assert text[0] == "Session stores: 3 (work, main, ops)"
    assert text[2].startswith("Agent      Kind   Key ")
    assert text[3] == "work       direct bare                       just now  gpt-5.5        unknown/200k (?%)"
    # Without --all-agents: the default agent's store only, no Agent column.
    single = cli("sessions").stdout.splitlines()
    assert single[0].startswith("Session store: ") and single[0].endswith("agents/work/sessions/sessions.json")
    assert single[2].startswith("Kind   Key")
    work = cli("sessions", "--json", "--agent", " WORK ").json()
    assert work["path"].endswith("agents/work/sessions/sessions.json") and "stores" not in work


def test_listing_creates_nothing_and_writes_nothing(cli, state_dir, tmp_path):
    missing = tmp_path / "nowhere" / "deeper" / "sessions.json"
    result = cli("sessions", "--json", "--store", str(missing))
    assert result.exit_code == 0 and result.json()["count"] == 0
    assert not (tmp_path / "nowhere").exists()
    # A store the writer would rewrite (legacy field, 4-space indent) stays as it is.
    store = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    store.parent.mkdir(parents=True)
    store.write_text(json.dumps({"k": {"provider": "telegram", "updatedAt": now_ms()}}, indent=4))
    before = (store.read_bytes(), store.stat().st_mtime_ns)
    assert cli("sessions", "--json").json()["count"] == 1
    assert (store.read_bytes(), store.stat().st_mtime_ns) == before
    assert sorted(p.name for p in store.parent.iterdir()) == ["sessions.json"]


def test_real_clock_age(cli, store_path):
    updated = now_ms() - DAY_MS
    write_store(store_path, {"agent:main:main": {"updatedAt": updated}})
    before = now_ms()
    age = cli("sessions", "--json").json()["sessions"][0]["ageMs"]
    assert before - updated <= age <= now_ms() - updated


def test_text_output_in_a_subprocess_is_utf8_with_replacement_for_cut_pairs(store_path):
    write_store(store_path, {"agent:main:\U0001f389\U0001f389\U0001f389\U0001f389\U0001f389\U0001f389"
                             "\U0001f389\U0001f389\U0001f389\U0001f389": {"sessionId": "é", "updatedAt": now_ms()}})
    result = subprocess.run([OPENCLAW, "sessions"], capture_output=True, env={**os.environ, "LC_ALL": "C"},
                            stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 0, result.stderr
    line = result.stdout.split(b"\n")[3]
    # 16 UTF-16 units: "agent:main:" + two emoji + half of the third (printed as U+FFFD)
    assert line.startswith("direct agent:main:\U0001f389\U0001f389\ufffd...\U0001f389\U0001f389\U0001f389  ".encode())
    assert line.endswith("id:é".encode())


def test_sessions_json_imports_nothing_heavy(tmp_path, store_path):
    write_store(store_path, {"agent:main:main": {"updatedAt": now_ms()}})
    code = ("import sys; from openclaw_core.app import run_cli as main; rc = main(['sessions', '--json']); "
            "print(rc, ' '.join(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HOME": str(tmp_path)})
    rc, modules = proc.stderr.strip().split(" ", 1)
    assert rc == "0" and json.loads(proc.stdout)["count"] == 1
    # (maintenance, concurrent.futures with logging, and ctypes for renameat2 are a writer's)
    for heavy in ("watchdog", "websockets", "send2trash", "psycopg", "cryptography", "filelock",
                  "openclaw_core.adapters.gateway", "openclaw_core.js.sort", "openclaw_core.engine.maintenance",
                  "concurrent.futures", "logging", "ctypes", "openclaw_store_postgres.settings"):
        assert heavy not in modules.split(), heavy
