"""Config edits keep the user's file (issue 13 item 5): ``agents add`` and
``agents delete`` change an ``openclaw.toml`` in place, its comments, table
style, key order and file mode kept; only the agent added or removed changes.
An ``openclaw.json`` keeps OpenClaw's rewrite (JSON, ``.bak`` ring, 0600)."""

from __future__ import annotations

import json
import os
import tomllib

from conftest import now_ms, write_store

CONFIG = """\
# My agents. Keep this file tidy!

[session]
store = "~/stores/{agentId}.json"   # one store per agent

[session.maintenance]
mode = "warn"        # never prune on a plain run
pruneAfter = "30d"

# --- agents ---------------------------------------------------------------

[[agents.list]]
id = "main"          # the default one
default = true

[[agents.list]]
id = "y"
name = "Why"         # to be deleted

[[agents.list]]
id = "ops"
workspace = "~/ws-ops"

[gateway]
port = 18789  # loopback only
"""


def test_agents_add_and_delete_keep_comments_tables_order_and_mode(state_dir, cli, tmp_path):
    config = state_dir / "openclaw.toml"
    config.write_text(CONFIG)
    os.chmod(config, 0o640)
    write_store(tmp_path / "home" / "stores" / "y.json", {"agent:y:main": {"sessionId": "s", "updatedAt": now_ms()}})

    added = cli("agents", "add", "x", "--json")
    assert added.exit_code == 0, added
    text = config.read_text()
    # Everything the user wrote is still there, byte for byte, in its place; the new agent is
    # one more [[agents.list]] table (not an inline table) at the end of the list.
    new_table = text[text.index('[[agents.list]]\nid = "x"'):text.index("[gateway]")]
    assert new_table.startswith('[[agents.list]]\nid = "x"\nname = "x"\nworkspace = ') and new_table.endswith('"\n\n')
    assert text.replace(new_table, "") == CONFIG
    assert "{" not in text.replace("{agentId}", "")
    assert [a["id"] for a in tomllib.loads(text)["agents"]["list"]] == ["main", "y", "ops", "x"]
    assert oct(os.stat(config).st_mode & 0o777) == "0o640"

    deleted = cli("agents", "delete", "y", "--force", "--json")
    assert deleted.exit_code == 0, deleted
    text = config.read_text()
    assert '[[agents.list]]\nid = "y"\nname = "Why"         # to be deleted\n\n' not in text
    assert text.replace(new_table, "") == \
        CONFIG.replace('[[agents.list]]\nid = "y"\nname = "Why"         # to be deleted\n\n', "")
    assert "# My agents. Keep this file tidy!" in text and "# one store per agent" in text
    assert "# the default one" in text and "port = 18789  # loopback only" in text
    assert [a["id"] for a in tomllib.loads(text)["agents"]["list"]] == ["main", "ops", "x"]
    assert oct(os.stat(config).st_mode & 0o777) == "0o640"
    # The file as it was before the edit is kept, as for JSON.
    assert "id = \"y\"" in (state_dir / "openclaw.toml.bak").read_text()


def test_agents_add_default_changes_only_the_default_flags(state_dir, cli):
    config = state_dir / "openclaw.toml"
    config.write_text(CONFIG)
    assert cli("agents", "add", "lab", "--default").exit_code == 0
    text = config.read_text()
    data = tomllib.loads(text)
    assert [(a["id"], a.get("default")) for a in data["agents"]["list"]] == \
        [("main", None), ("y", None), ("ops", None), ("lab", True)]
    assert 'id = "main"          # the default one\n\n[[agents.list]]\nid = "y"' in text
    assert 'mode = "warn"        # never prune on a plain run' in text


def test_a_config_with_no_agents_gets_its_list_table(state_dir, cli):
    config = state_dir / "openclaw.toml"
    config.write_text('# just maintenance\n[session.maintenance]\nmode = "warn"  # careful\n')
    assert cli("agents", "add", "x").exit_code == 0
    text = config.read_text()
    assert text.startswith('# just maintenance\n[session.maintenance]\nmode = "warn"  # careful\n')
    assert [a["id"] for a in tomllib.loads(text)["agents"]["list"]] == ["main", "x"]
    assert "[[agents.list]]" in text


def test_a_new_toml_config_is_written_whole_as_before(state_dir, cli):
    """No file yet: agents add writes a fresh openclaw.toml (tomli-w), mode 0600."""
    assert cli("agents", "add", "x").exit_code == 0
    config = state_dir / "openclaw.toml"
    assert [a["id"] for a in tomllib.loads(config.read_text())["agents"]["list"]] == ["main", "x"]
    assert oct(os.stat(config).st_mode & 0o777) == "0o600"


def test_openclaw_json_keeps_the_reference_rewrite(state_dir, cli):
    config = state_dir / "openclaw.json"
    config.write_text('// mine\n{agents: {list: [{id: "main"}, {id: "y"}]},}\n')
    os.chmod(config, 0o644)
    assert cli("agents", "delete", "y", "--force").exit_code == 0
    text = config.read_text()
    data = json.loads(text)  # JSON5 rewritten as JSON, 2-space indent, a meta block
    assert [a["id"] for a in data["agents"]["list"]] == ["main"]
    assert text.startswith('{\n  "agents"') and data["meta"]["lastTouchedVersion"] == "2026.5.4"
    assert oct(os.stat(config).st_mode & 0o777) == "0o600"
    assert (state_dir / "openclaw.json.bak").read_text().startswith("// mine")


def test_the_in_place_edit_reads_back_as_the_new_config():
    from openclaw_core.config.toml_edit import edit

    text = ('a = 1  # one\n[t]\nx = { k = 1 }  # inline\nflag = true\n\n'
            '[[l]]\nid = "p"  # p\n\n[[l]]\nid = "q"\nv = 1\n')
    new = {"a": 1, "t": {"x": {"k": 2}, "flag": 1, "n": None},
           "l": [{"id": "q", "v": 2}, {"id": "p"}, {"id": "r", "z": None}]}
    out, dropped = edit(text, new)
    assert tomllib.loads(out) == {"a": 1, "t": {"x": {"k": 2}, "flag": 1},
                                  "l": [{"id": "q", "v": 2}, {"id": "p"}, {"id": "r"}]}
    assert dropped == ["t.n", "l.2.z"]
    assert type(tomllib.loads(out)["t"]["flag"]) is int  # true -> 1 is a change, not "equal"
    assert "a = 1  # one" in out and 'id = "p"  # p' in out and "x = { k = 2 }" in out
