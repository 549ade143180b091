"""The plugin in-process, with the fixtures openclaw-core ships for plugin authors
(``openclaw_state_dir``, ``register_openclaw_plugin``): real stores in a temp
state dir, the real CLI, the real maintenance and trash."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import openclaw_retention_pins
from openclaw_core.app import run_cli as openclaw
from openclaw_core.js.json import stringify

DAY_MS = 86_400_000


@pytest.fixture
def pins(register_openclaw_plugin):
    """The plugin, active for this test (a no-op when the installed copy is already loaded)."""
    return register_openclaw_plugin(openclaw_retention_pins, "retention_pins")


def now_ms() -> int:
    return int(time.time() * 1000)


def write_store(state: Path, entries: dict, agent: str = "main") -> Path:
    path = state / "agents" / agent / "sessions" / "sessions.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stringify(entries))
    return path


def write_config(state: Path, text: str) -> None:
    (state / "openclaw.toml").write_text(text)


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = openclaw(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def old(days: float) -> int:
    return now_ms() - int(days * DAY_MS)


STORE = {
    "agent:main:telegram:direct:pinned": {"sessionId": "s-pinned", "updatedAt": old(90), "label": "pin:onboarding"},
    "agent:main:telegram:direct:stale": {"sessionId": "s-stale", "updatedAt": old(90), "label": "pinned? no"},
    "agent:main:cron:nightly:run:1": {"sessionId": "s-run1", "updatedAt": old(10)},
    "agent:main:cron:nightly:run:2": {"sessionId": "s-run2", "updatedAt": old(1)},
    "agent:main:cron:nightly:run:3": {"sessionId": "s-run3", "updatedAt": old(10), "label": "pin:keep-this-run"},
    "agent:main:cron:nightly": {"sessionId": "s-job", "updatedAt": old(10)},
}


def test_a_pinned_entry_survives_the_stale_prune(openclaw_state_dir, pins, capsys):
    path = write_store(openclaw_state_dir, STORE)
    code, out, err = run(capsys, "sessions", "cleanup", "--store", str(path), "--enforce", "--json")
    assert code == 0, err
    kept = json.loads(path.read_text())
    assert "agent:main:telegram:direct:pinned" in kept  # 90 days old, pinned
    assert "agent:main:telegram:direct:stale" not in kept  # 90 days old, a label that is not a pin
    assert json.loads(out)["pruned"] == 1


def test_without_its_table_cron_runs_keep_the_default_age(openclaw_state_dir, pins, capsys):
    path = write_store(openclaw_state_dir, STORE)
    code, _, err = run(capsys, "sessions", "cleanup", "--store", str(path), "--enforce", "--json")
    assert code == 0, err
    assert {"agent:main:cron:nightly:run:1", "agent:main:cron:nightly:run:2"} <= set(json.loads(path.read_text()))


def test_cron_runs_older_than_the_configured_age_are_pruned(openclaw_state_dir, pins, capsys):
    write_config(openclaw_state_dir, '[plugins.retentionPins]\ncronRunMaxAge = "7d"\n')
    path = write_store(openclaw_state_dir, STORE)
    transcript = path.parent / "s-run1.jsonl"
    transcript.write_text('{"type":"session"}\n')
    code, out, err = run(capsys, "sessions", "cleanup", "--store", str(path), "--enforce", "--json")
    assert code == 0, err
    kept = set(json.loads(path.read_text()))
    assert "agent:main:cron:nightly:run:1" not in kept              # 10 days > 7d
    assert "agent:main:cron:nightly:run:2" in kept                  # 1 day
    assert "agent:main:cron:nightly:run:3" in kept                  # pinned run
    assert "agent:main:cron:nightly" in kept                        # the job itself is not a run
    assert json.loads(out)["afterCount"] == 4                       # the stale, unpinned direct went too
    # Its transcript is archived like any removed session's.
    assert not transcript.exists()
    assert [p.name.split(".deleted.")[0] for p in path.parent.glob("s-run1.jsonl.deleted.*")] == ["s-run1.jsonl"]


def test_a_bare_number_is_days_and_warn_mode_prunes_nothing(openclaw_state_dir, pins, capsys):
    write_config(openclaw_state_dir, '[plugins.retentionPins]\ncronRunMaxAge = 0.5\n'
                                     '[session.maintenance]\nmode = "warn"\n')
    path = write_store(openclaw_state_dir, STORE)
    code, _, err = run(capsys, "sessions", "cleanup", "--store", str(path), "--json")
    assert code == 0, err
    assert len(json.loads(path.read_text())) == len(STORE)           # warn: nothing removed
    code, _, err = run(capsys, "sessions", "cleanup", "--store", str(path), "--enforce", "--json")
    assert code == 0, err
    kept = set(json.loads(path.read_text()))
    assert "agent:main:cron:nightly:run:2" not in kept               # 1 day > 12 hours


def test_the_dry_run_table_names_the_policy(openclaw_state_dir, pins, capsys):
    write_config(openclaw_state_dir, '[plugins.retentionPins]\ncronRunMaxAge = "7d"\n')
    path = write_store(openclaw_state_dir, STORE)
    before = path.read_bytes()
    code, out, err = run(capsys, "sessions", "cleanup", "--store", str(path), "--dry-run")
    assert code == 0, err
    # The table's rows: the action first, the session id last (keys are shortened).
    rows = {line.split()[-1]: line.split()[0] for line in out.splitlines() if " id:" in line}
    assert rows["id:s-run1"] == "prune-cron-run"
    assert rows["id:s-run3"] == "keep"          # pinned
    assert rows["id:s-run2"] == "keep"          # 1 day old
    assert rows["id:s-stale"] == "prune-stale"  # the built-in policy, as before
    assert path.read_bytes() == before


@pytest.mark.parametrize(("table", "message"), [
    ('cronRunMaxAge = "soon"', "plugins.retentionPins.cronRunMaxAge: 'soon' is not a duration"),
    ("cronRunMaxAge = 0", "plugins.retentionPins.cronRunMaxAge: 0 must be longer than 0"),
    ('archiveDir = "../outside"', "plugins.retentionPins.archiveDir: '../outside' must be a folder inside"),
    ('archiveDir = "/srv/archive"', "plugins.retentionPins.archiveDir: '/srv/archive' must be a folder inside"),
])
def test_a_bad_setting_is_one_clear_line_and_nothing_is_written(openclaw_state_dir, pins, capsys, table, message):
    write_config(openclaw_state_dir, f"[plugins.retentionPins]\n{table}\n")
    path = write_store(openclaw_state_dir, STORE)
    before = path.read_bytes()
    code, out, err = run(capsys, "sessions", "cleanup", "--store", str(path), "--enforce")
    assert code == 1
    assert "Entries:" not in out and "applied" not in out  # no summary: nothing was done
    assert err.startswith(message) and err.count("\n") == 1, err
    assert str(openclaw_state_dir / "openclaw.toml") in err
    assert path.read_bytes() == before


def test_an_unknown_key_in_its_table_is_refused_by_the_core(openclaw_state_dir, pins, capsys):
    """The plugin declares its table's keys (openclaw_config_sections): a typo is refused at load."""
    write_config(openclaw_state_dir, "[plugins.retentionPins]\ncronRunMaxAges = 7\n")
    path = write_store(openclaw_state_dir, STORE)
    before = path.read_bytes()
    code, out, err = run(capsys, "sessions", "cleanup", "--store", str(path), "--enforce")
    assert (code, out) == (1, "")
    assert '  - plugins.retentionPins: Unrecognized key: "cronRunMaxAges"' in err.splitlines()
    assert 'Hint: plugins.retentionPins.cronRunMaxAges: did you mean "cronRunMaxAge"?' in err.splitlines()
    assert path.read_bytes() == before


def test_agents_delete_archives_into_the_state_dir(openclaw_state_dir, pins, capsys):
    write_config(openclaw_state_dir, '[[agents.list]]\nid = "main"\ndefault = true\n'
                                     '[[agents.list]]\nid = "ops"\n'
                                     '[plugins.retentionPins]\narchiveDir = "deleted-agents"\n')
    write_store(openclaw_state_dir, {"agent:ops:main": {"sessionId": "s-ops", "updatedAt": now_ms()}}, agent="ops")
    workspace = openclaw_state_dir / "workspace-ops"
    (workspace / "notes").mkdir(parents=True)
    (workspace / "notes" / "todo.md").write_text("ship it\n")
    code, out, err = run(capsys, "agents", "delete", "ops", "--force", "--json")
    assert code == 0, err
    assert "trashFailed" not in json.loads(out)
    archive = openclaw_state_dir / "deleted-agents"
    moved = sorted(p.relative_to(archive).as_posix().split("-ops-", 1)[1] for p in archive.glob("*/*"))
    assert moved == ["sessionsDir/sessions", "workspace/workspace-ops"]
    assert (next(archive.glob("*-ops-workspace")) / "workspace-ops" / "notes" / "todo.md").read_text() == "ship it\n"
    assert not workspace.exists()
    # Nothing went to the system trash.
    assert not (Path.home() / ".local" / "share" / "Trash").exists()


def test_without_its_table_the_system_trash_is_used(openclaw_state_dir, pins, capsys):
    write_config(openclaw_state_dir, '[[agents.list]]\nid = "main"\ndefault = true\n[[agents.list]]\nid = "ops"\n')
    (openclaw_state_dir / "workspace-ops").mkdir()
    code, _, err = run(capsys, "agents", "delete", "ops", "--force", "--json")
    assert code == 0, err
    assert (Path.home() / ".local" / "share" / "Trash" / "files" / "workspace-ops").is_dir()
    assert not (openclaw_state_dir / "archive").exists()
