"""Paths and names exactly as the user wrote them (issue 13, item 7).

``--store`` and ``session.store`` are never trimmed (a trailing space, U+001F or
U+0085 names another file, as in the reference); configured workspaces are
trimmed as JavaScript trims (U+001F is not whitespace there); an escaped
surrogate pair in openclaw.json is one character and a lone one never crashes.
Through the CLI, on real files in tmp, with the real XDG trash in tmp.
The reference's own results for the same states are pinned in
tests/reference_cases/80-84 and tests/reference_cases_ext/85.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import now_ms, write_store

DAY = 86_400_000


def home() -> Path:
    return Path(os.environ["HOME"])


def trash_files() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"


def write_config(state: Path, data: dict) -> Path:
    # json.dumps escapes non-ASCII: U+1F600 is written as the pair "\ud83d\ude00", as a
    # JS tool or a hand-edited file may hold it.
    path = state / "openclaw.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def write_raw_config(state: Path, text: str) -> Path:
    path = state / "openclaw.json"
    path.write_text(text)
    return path


def stale_store(path: Path) -> bytes:
    sid_old, sid_new = "00000090-0000-4000-8000-000000000001", "00000090-0000-4000-8000-000000000002"
    data = write_store(path, {
        "agent:main:main": {"sessionId": sid_new, "updatedAt": now_ms() - DAY},
        "agent:main:telegram:direct:9": {"sessionId": sid_old, "updatedAt": now_ms() - 40 * DAY},
    })
    (path.parent / f"{sid_new}.jsonl").write_text("{}\n")
    (path.parent / f"{sid_old}.jsonl").write_text("{}\n")
    return data


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --- --store and session.store: as written ------------------------------------------------------

@pytest.mark.parametrize("tail", ["  ", "\x1f", "\x85", "\u00a0"])
def test_store_flag_with_a_trailing_character_names_another_file(cli, state_dir, store_path, tail):
    write_config(state_dir, {"session": {"maintenance": {"mode": "warn", "pruneAfter": "30d"}}})
    before = stale_store(store_path)
    files_before = tree(store_path.parent)

    result = cli("sessions", "cleanup", "--store", f"{store_path}{tail}", "--enforce", "--json")

    assert result.exit_code == 0, result
    assert result.json()["storePath"] == f"{store_path}{tail}"
    assert result.json()["beforeCount"] == 0
    # The real store, its stale entry and its transcripts are untouched ...
    assert store_path.read_bytes() == before
    # ... and the file named was created as the reference creates a missing store.
    named = store_path.parent / f"sessions.json{tail}"
    assert named.read_text() == "{}"
    assert [f for f in tree(store_path.parent) if not f.endswith(".lock")] == sorted([*files_before, named.name])


def test_store_flag_dry_run_reads_the_named_file_and_creates_nothing(cli, state_dir, store_path):
    write_config(state_dir, {"session": {"maintenance": {"pruneAfter": "30d"}}})
    before = stale_store(store_path)
    files_before = tree(store_path.parent)

    result = cli("sessions", "cleanup", "--store", f"{store_path}  ", "--dry-run", "--json")

    assert result.exit_code == 0, result
    assert (result.json()["beforeCount"], result.json()["pruned"]) == (0, 0)
    assert store_path.read_bytes() == before
    assert tree(store_path.parent) == files_before


def test_session_store_with_a_trailing_unit_separator_is_the_store_agents_delete_purges(cli, state_dir):
    (home() / "ws-work").mkdir()
    real = home() / "stores" / "sessions.json"
    named = home() / "stores" / "sessions.json\x1f"
    write_config(state_dir, {
        "agents": {"list": [{"id": "main", "default": True}, {"id": "work", "workspace": "~/ws-work"}]},
        "session": {"store": "~/stores/sessions.json\u001f"},
    })
    keys = {"agent:main:main": {"sessionId": "m1", "updatedAt": now_ms()},
            "agent:work:main": {"sessionId": "w1", "updatedAt": now_ms()},
            "agent:work:telegram:direct:1": {"sessionId": "w2", "updatedAt": now_ms()}}
    real_bytes = write_store(real, keys)
    write_store(named, keys)

    result = cli("agents", "delete", "work", "--force", "--json")

    assert result.exit_code == 0, result
    assert real.read_bytes() == real_bytes  # the store the config never names
    assert list(json.loads(named.read_text())) == ["agent:main:main"]
    assert (trash_files() / "ws-work").is_dir() and not (home() / "ws-work").exists()


def test_sessions_cleanup_acts_on_the_session_store_as_written(cli, state_dir, store_path):
    write_config(state_dir, {"session": {"store": f"{store_path}\u0085",
                                         "maintenance": {"mode": "enforce", "pruneAfter": "30d"}}})
    before = stale_store(store_path)

    result = cli("sessions", "cleanup", "--enforce", "--json")

    assert result.exit_code == 0, result
    assert result.json()["storePath"] == f"{store_path}\x85"
    assert store_path.read_bytes() == before
    assert (store_path.parent / "sessions.json\x85").read_text() == "{}"


# --- workspaces: trimmed as JS trims ----------------------------------------------------------------

def test_a_workspace_ending_in_u001f_is_not_trashed_as_the_trimmed_dir(cli, state_dir):
    trimmed, named = home() / "ws-work", home() / "ws-work\x1f"
    for d in (trimmed, named):
        d.mkdir()
        (d / "AGENTS.md").write_text(d.name)
    write_config(state_dir, {"agents": {"list": [{"id": "main", "default": True},
                                                 {"id": "work", "workspace": "~/ws-work\u001f"}]}})

    result = cli("agents", "delete", "work", "--force", "--json")

    assert result.exit_code == 0, result
    assert result.json()["workspace"] == str(named)
    assert (trimmed / "AGENTS.md").read_text() == "ws-work"  # never named by the config: kept
    assert not named.exists()
    assert (trash_files() / "ws-work\x1f" / "AGENTS.md").read_text() == "ws-work\x1f"


def test_a_workspace_with_bom_and_nbsp_around_it_is_trimmed_as_js_does(cli, state_dir):
    (home() / "ws-lab").mkdir()
    write_config(state_dir, {"agents": {"list": [{"id": "main", "default": True},
                                                 {"id": "lab", "workspace": "\ufeff~/ws-lab\u00a0"}]}})

    result = cli("agents", "delete", "lab", "--force", "--json")

    assert result.exit_code == 0, result
    assert result.json()["workspace"] == str(home() / "ws-lab")
    assert (trash_files() / "ws-lab").is_dir()


# --- surrogates from openclaw.json ---------------------------------------------------------------------

def test_an_escaped_surrogate_pair_is_one_character(run_openclaw, state_dir):
    ws = home() / "ws-\U0001F600"
    ws.mkdir()
    write_raw_config(state_dir, '{"agents": {"list": [{"id": "main", "default": true},'
                                ' {"id": "work", "name": "Work \\ud83d\\ude00", "workspace": "~/ws-\\ud83d\\ude00"}]}}')

    listed = run_openclaw("agents", "list")
    as_json = run_openclaw("agents", "list", "--json")
    deleted = run_openclaw("agents", "delete", "work", "--force", "--json")

    assert listed.exit_code == 0, listed
    assert "- work (Work \U0001F600)" in listed.stdout and "Workspace: ~/ws-\U0001F600" in listed.stdout
    assert "\ufffd" not in listed.stdout
    work = [a for a in json.loads(as_json.stdout) if a["id"] == "work"][0]
    assert (work["name"], work["workspace"]) == ("Work \U0001F600", str(ws))
    assert deleted.exit_code == 0, deleted
    assert json.loads(deleted.stdout)["workspace"] == str(ws)
    assert (trash_files() / ws.name).is_dir() and not ws.exists()


def test_a_lone_surrogate_in_a_workspace_is_refused_in_one_line(run_openclaw, state_dir):
    # Node would write U+FFFD and trash "ws-\ufffd"; no file name holds a lone surrogate.
    decoy = home() / "ws-\ufffd"
    decoy.mkdir()
    config = write_raw_config(state_dir, '{"agents": {"list": [{"id": "main", "default": true},'
                                         ' {"id": "work", "workspace": "~/ws-\\ud83d"}]}}')
    before = config.read_bytes()

    result = run_openclaw("agents", "delete", "work", "--force")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        'workspace/agentDir "~/ws-\\ud83d" holds a lone UTF-16 surrogate and cannot name a file']
    assert config.read_bytes() == before and decoy.is_dir()
    assert not trash_files().exists()


def test_a_lone_surrogate_in_session_store_is_refused_and_nothing_is_touched(run_openclaw, state_dir, store_path):
    before = stale_store(store_path)
    write_raw_config(state_dir, '{"session": {"store": "~/st-\\udc80/sessions.json",'
                                ' "maintenance": {"mode": "enforce", "pruneAfter": "30d"}}}')

    result = run_openclaw("sessions", "cleanup", "--enforce")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        'session.store "~/st-\\udc80/sessions.json" holds a lone UTF-16 surrogate and cannot name a file']
    assert store_path.read_bytes() == before
    assert not [p for p in home().iterdir() if p.name.startswith("st-")]


def test_a_lone_surrogate_in_a_name_prints_as_node_does(run_openclaw, state_dir):
    write_raw_config(state_dir, '{"agents": {"list": [{"id": "main", "default": true},'
                                ' {"id": "work", "name": "W \\ud83d x"}]}}')

    listed = run_openclaw("agents", "list")
    as_json = run_openclaw("agents", "list", "--json")

    assert listed.exit_code == 0, listed
    assert "- work (W \ufffd x)" in listed.stdout and "Traceback" not in listed.stderr
    assert as_json.exit_code == 0, as_json
    assert '"name": "W \\ud83d x"' in as_json.stdout  # escaped as JSON.stringify escapes it


def test_xdg_data_home_is_used_as_written(cli, state_dir, tmp_path, monkeypatch):
    # Our trash (the reference shells out to `trash`): the basedir spec does not trim either.
    data_home = tmp_path / "xdg\x1f"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    (home() / "ws-work").mkdir()
    write_config(state_dir, {"agents": {"list": [{"id": "main", "default": True},
                                                 {"id": "work", "workspace": "~/ws-work"}]}})

    result = cli("agents", "delete", "work", "--force", "--json")

    assert result.exit_code == 0, result
    assert (data_home / "Trash" / "files" / "ws-work").is_dir()
    assert not (tmp_path / "xdg").exists()
