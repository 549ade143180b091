"""Maintenance is made of plugins: the built-in policies come through the same
hooks a third-party plugin uses, in an order ``openclaw plugins list`` shows,
and a plugin of our own changes what cleanup and ordinary writes do."""

from __future__ import annotations

import json
import types
from pathlib import Path

from openclaw_core.app import hooks
from openclaw_core import hookimpl

from openclaw_core.base import keys
from openclaw_core.engine.maintenance import MaintenanceContext, collect_policies
from openclaw_core.app import get_plugin_manager
from openclaw_core.app import load_session_store, update_session_store
from conftest import DAY_MS, now_ms, write_store

DOCS = Path(__file__).resolve().parent.parent / "docs"

BUILTIN_ORDER = [
    (100, "fix-missing"), (150, "warn-active-session"), (200, "stale-prune"), (300, "entry-cap"),
    (400, "archive-transcripts"), (500, "remove-trajectory-sidecars"), (600, "purge-archives"),
    (700, "disk-budget"),
]


# --- the two plugins of the docs' worked example -----------------------------------------------------

class PruneCronRuns:
    """Drop finished cron runs after a day (the built-in stale prune waits 30)."""

    name = "prune-cron-runs"
    order = 250  # after the stale prune, before the cap

    def apply(self, ctx: MaintenanceContext) -> None:
        if not ctx.enforce:
            return
        cutoff = ctx.now_ms - DAY_MS
        gone = 0
        for key, entry in ctx.items():
            updated = entry.get("updatedAt")
            if keys.is_cron_run_key(key) and isinstance(updated, (int, float)) and updated < cutoff \
                    and not ctx.is_preserved(key, entry):
                ctx.remove(key, "prune-cron-run")  # its transcript is archived like a stale one's
                gone += 1
        ctx.report.extra[self.name] = gone


class CronRunsPlugin:
    @hookimpl
    def openclaw_maintenance_policies(self):
        return [PruneCronRuns()]


class PinnedPlugin:
    """Entries labelled "pin:..." are kept whatever their age or the cap."""

    @hookimpl
    def openclaw_entry_protected(self, key, entry):
        label = entry.get("label")
        if isinstance(label, str) and label.startswith("pin:"):
            return True
        return None


class UnprotectGroupsPlugin:
    @hookimpl
    def openclaw_entry_protected(self, key):
        return False if ":group:" in key else None


def _store(state_dir: Path, maintenance: dict) -> Path:
    (state_dir / "openclaw.json").write_text(json.dumps({"session": {"maintenance": maintenance}}))
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    now = now_ms()
    write_store(path, {
        "agent:main:main": {"sessionId": "s-main", "updatedAt": now - DAY_MS},
        "agent:main:cron:nightly:run:1": {"sessionId": "s-run1", "updatedAt": now - 2 * DAY_MS},
        "agent:main:cron:nightly:run:2": {"sessionId": "s-run2", "updatedAt": now - 3_600_000},
        "agent:main:telegram:direct:pinned": {"sessionId": "s-pin", "updatedAt": now - 90 * DAY_MS,
                                              "label": "pin:keep"},
        "agent:main:telegram:direct:old": {"sessionId": "s-old", "updatedAt": now - 90 * DAY_MS},
        "agent:main:telegram:group:1": {"sessionId": "s-grp", "updatedAt": now - 90 * DAY_MS},
    })
    for sid in ("s-main", "s-run1", "s-run2", "s-pin", "s-old", "s-grp"):
        (path.parent / f"{sid}.jsonl").write_text("{}\n")
    return path


def test_hook_maintenance_policies_builtins_in_order():
    policies = [(p.order, p.name) for plugin, p in collect_policies(hooks()) if plugin == "maintenance"]
    assert policies == BUILTIN_ORDER


def test_hook_maintenance_policies_third_party_policy_changes_the_outcome(cli, state_dir, register_openclaw_plugin):
    path = _store(state_dir, {})
    before = cli("sessions", "cleanup", "--store", path, "--dry-run", "--json").json()
    assert before["afterCount"] == 4  # the two 90-day direct chats are stale; the group is protected
    register_openclaw_plugin(CronRunsPlugin(), "cron-runs")
    dry = cli("sessions", "cleanup", "--store", path, "--dry-run").stdout
    assert "prune-cron-run agent:main:cron:...:run:1" in dry
    result = cli("sessions", "cleanup", "--store", path, "--enforce", "--json").json()
    after = json.loads(path.read_text())
    assert "agent:main:cron:nightly:run:1" not in after and "agent:main:cron:nightly:run:2" in after
    assert result["afterCount"] == before["afterCount"] - 1 and result["wouldMutate"] is True
    assert any(p.name.startswith("s-run1.jsonl.deleted.") for p in path.parent.iterdir())


def test_hook_maintenance_policies_run_on_ordinary_writes(state_dir, register_openclaw_plugin):
    path = _store(state_dir, {"mode": "enforce"})
    register_openclaw_plugin(CronRunsPlugin(), "cron-runs")
    update_session_store(path, lambda store: store["agent:main:main"].update({"label": "touched"}))
    assert "agent:main:cron:nightly:run:1" not in load_session_store(path)


def test_hook_entry_protected_pins_an_entry(cli, state_dir, register_openclaw_plugin):
    path = _store(state_dir, {})
    plain = cli("sessions", "cleanup", "--store", path, "--dry-run", "--json").json()
    register_openclaw_plugin(PinnedPlugin(), "pinned")
    pinned = cli("sessions", "cleanup", "--store", path, "--dry-run", "--json").json()
    assert pinned["pruned"] == plain["pruned"] - 1
    cli("sessions", "cleanup", "--store", path, "--enforce", "--json")
    assert "agent:main:telegram:direct:pinned" in json.loads(path.read_text())


def test_hook_entry_protected_pinned_entries_survive_the_cap_and_the_disk_budget(cli, state_dir,
                                                                                register_openclaw_plugin):
    path = _store(state_dir, {"pruneAfter": "1000d", "maxEntries": 1, "maxDiskBytes": 10})
    register_openclaw_plugin(PinnedPlugin(), "pinned")
    cli("sessions", "cleanup", "--store", path, "--enforce", "--json")
    assert set(json.loads(path.read_text())) == {"agent:main:telegram:direct:pinned", "agent:main:telegram:group:1"}


def test_hook_entry_protected_can_unprotect(cli, state_dir, register_openclaw_plugin):
    path = _store(state_dir, {})
    register_openclaw_plugin(UnprotectGroupsPlugin(), "no-groups")
    cli("sessions", "cleanup", "--store", path, "--enforce", "--json")
    assert "agent:main:telegram:group:1" not in json.loads(path.read_text())


def test_plugins_list_shows_every_policy_in_order(cli, register_openclaw_plugin):
    register_openclaw_plugin(CronRunsPlugin(), "cron-runs")
    text = cli("plugins", "list").stdout
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("policy")]
    assert lines[:3] == ["policy  100  fix-missing", "policy  150  warn-active-session", "policy  200  stale-prune"]
    listing = cli("plugins", "list", "--json").json()
    assert [(p["order"], p["name"]) for p in listing["maintenancePolicies"]] == \
        [*BUILTIN_ORDER[:3], (250, "prune-cron-runs"), *BUILTIN_ORDER[3:]]
    rows = {row["name"]: row for row in listing["plugins"]}
    assert [(p["order"], p["name"]) for p in rows["maintenance"]["maintenancePolicies"]] == BUILTIN_ORDER
    assert rows["cron-runs"]["maintenancePolicies"] == [{"name": "prune-cron-runs", "order": 250}]
    assert "openclaw_entry_protected" in rows["maintenance"]["hooks"]


def test_a_failing_policy_fails_the_commit_and_changes_nothing(cli, state_dir, register_openclaw_plugin):
    path = _store(state_dir, {})
    before = path.read_bytes()

    class Broken:
        name, order = "broken", 350

        def apply(self, ctx):
            raise RuntimeError("boom")

    class BrokenPlugin:
        @hookimpl
        def openclaw_maintenance_policies(self):
            return [Broken()]

    register_openclaw_plugin(BrokenPlugin(), "broken-plugin")
    result = cli("sessions", "cleanup", "--store", path, "--enforce", "--json")
    assert result.exit_code == 1
    assert 'maintenance policy "broken" of plugin "broken-plugin" failed: RuntimeError: boom' in result.stderr
    assert path.read_bytes() == before


def test_a_plugin_returning_something_else_is_ignored_with_a_warning(capsys, register_openclaw_plugin):
    class Odd:
        @hookimpl
        def openclaw_maintenance_policies(self):
            return ["not a policy"]

    register_openclaw_plugin(Odd(), "odd")
    names = [p.name for _, p in collect_policies(hooks())]
    assert "fix-missing" in names and len(names) == len(BUILTIN_ORDER)
    assert 'plugin "odd" returned' in capsys.readouterr().err


def _docs_example() -> types.ModuleType:
    """The worked example of docs/maintenance.md, as a plugin module."""
    text = (DOCS / "maintenance.md").read_text()
    section = text[text.index("## Writing a policy"):]
    start = section.index("```python") + len("```python")
    module = types.ModuleType("docs_cron_runs")
    exec(compile(section[start:section.index("```", start)], "docs/maintenance.md", "exec"), module.__dict__)
    return module


def test_hook_maintenance_policies_docs_worked_example(cli, state_dir, register_openclaw_plugin):
    path = _store(state_dir, {})
    register_openclaw_plugin(_docs_example(), "docs-example")
    listed = cli("plugins", "list").stdout
    run_order = listed[listed.index("maintenance policies, in run order:"):]
    assert run_order.index(" 200  stale-prune") < run_order.index(" 250  prune-cron-runs ") \
        < run_order.index(" 300  entry-cap")
    assert "(docs-example)" in run_order
    cli("sessions", "cleanup", "--store", path, "--enforce", "--json")
    after = json.loads(path.read_text())
    assert "agent:main:cron:nightly:run:1" not in after and "agent:main:cron:nightly:run:2" in after
    assert "agent:main:telegram:direct:pinned" in after and "agent:main:telegram:direct:old" not in after
