"""Both openclaw.toml and openclaw.json in a state dir: the TOML file is used and
a note on stderr says so, once per process (issue 13 item 6), instead of
shadowing the JSON file silently."""

from __future__ import annotations

import json


def test_both_configs_a_note_names_the_one_used(tmp_path, run_openclaw):
    state = tmp_path / "state"
    state.mkdir()
    (state / "openclaw.toml").write_text('[[agents.list]]\nid = "from-toml"\n')
    (state / "openclaw.json").write_text(json.dumps({"agents": {"list": [{"id": "from-json"}]}}))
    result = run_openclaw("agents", "list", "--json", env={"OPENCLAW_STATE_DIR": str(state)})
    assert result.exit_code == 0, result
    assert [a["id"] for a in json.loads(result.stdout)] == ["from-toml"]
    assert result.stderr.splitlines() == [
        f"openclaw: note: both {state / 'openclaw.toml'} and {state / 'openclaw.json'} exist; "
        "using openclaw.toml (openclaw.json is ignored)"]
    # Named explicitly: no note.
    named = run_openclaw("agents", "list", "--json",
                         env={"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(state / "openclaw.json")})
    assert named.exit_code == 0 and named.stderr == "" and "from-json" in named.stdout
    # One file only: no note.
    (state / "openclaw.json").unlink()
    alone = run_openclaw("agents", "list", "--json", env={"OPENCLAW_STATE_DIR": str(state)})
    assert alone.exit_code == 0 and alone.stderr == ""


def test_the_note_comes_once_per_process(tmp_path, capsys):
    from oc import load_config

    (tmp_path / "openclaw.toml").write_text("")
    (tmp_path / "openclaw.json").write_text("{}")
    env = {"OPENCLAW_STATE_DIR": str(tmp_path), "HOME": str(tmp_path)}
    for _ in range(3):
        assert load_config(env).path == tmp_path / "openclaw.toml"
    assert capsys.readouterr().err.count("openclaw: note: both") == 1
