"""A misspelt config key is refused, as OpenClaw 2026.5.4 refuses it (issue 13
item 3): the reference's ``Config invalid`` block, exit 1, nothing touched,
plus a ``Hint:`` line of ours. Plugins declare their sections
(``openclaw_config_sections``), so an installed plugin's table is accepted
and anyone else's refused. A ``session.mainKey`` of the wrong type is refused
at load; one other than "main" gets the reference's notice (item 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from conftest import now_ms, write_store
from openclaw_core import hookimpl
from openclaw_core.config.schema import ConfigSection, check_config


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def demo_state(tmp_path) -> Path:
    """The demo's state dir (two agents, a warn-only maintenance config, stale sessions)."""
    target = tmp_path / "demo"
    subprocess.run([sys.executable, "-m", "openclaw_core.adapters.demo", str(target)], check=True,
                   capture_output=True, text=True)
    return target


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("  - ")]


# --- through the CLI: a typo in TOML and in JSON ------------------------------------------------------------

def test_a_misspelt_toml_table_is_refused_and_the_demo_store_untouched(demo_state, run_openclaw):
    config = demo_state / "openclaw.toml"
    config.write_text(config.read_text().replace("[session.maintenance]", "[session.maintenence]"))
    before = snapshot(demo_state)
    result = run_openclaw("sessions", "cleanup", "--enforce", "--all-agents",
                          env={"OPENCLAW_STATE_DIR": str(demo_state)})
    assert result.exit_code == 1, result
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Config invalid", f"File: {config}", "Problem:",
        '  - session: Unrecognized key: "maintenence"',
        'Hint: session.maintenence: did you mean "maintenance"?']
    assert snapshot(demo_state) == before  # 63 stale entries of the demo are still there


def test_the_same_config_spelt_right_runs(demo_state, run_openclaw):
    """The demo's own config passes (no key of it is unknown)."""
    result = run_openclaw("sessions", "cleanup", "--dry-run", "--all-agents", "--json",
                          env={"OPENCLAW_STATE_DIR": str(demo_state)})
    assert result.exit_code == 0, result
    assert json.loads(result.stdout)["mode"] == "warn"


def test_a_misspelt_top_level_json_key_is_refused(state_dir, store_path, run_openclaw):
    write_store(store_path, {"agent:main:telegram:direct:1": {"sessionId": "a", "updatedAt": now_ms() - 90 * 86_400_000}})
    (state_dir / "openclaw.json").write_text('{\n  // warn only\n  sesion: {maintenance: {mode: "warn"}},\n}\n')
    before = snapshot(state_dir)
    result = run_openclaw("sessions", "cleanup", "--enforce", "--store", str(store_path), "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert problem_lines(result.stderr) == ['  - <root>: Unrecognized key: "sesion"']
    assert result.stderr.splitlines()[-1] == 'Hint: sesion: did you mean "session"?'
    assert snapshot(state_dir) == before


def test_several_problems_come_in_the_reference_order(state_dir, cli):
    (state_dir / "openclaw.json").write_text(json.dumps({
        "sesion": 1, "gateway": {"prot": 1, "auth": {"tokn": "x"}},
        "session": {"maintenence": {}, "foo": 1, "mainKey": 3, "maintenance": {"mode": "x", "bar": 1}},
        "agents": {"list": [{"id": "a", "wrkspace": "x"}], "defualts": {}}}))
    result = cli("sessions", "--json")
    assert result.exit_code == 1
    # Recorded from the reference: objects in schema order (agents, session, gateway), an
    # object's field problems before its unknown keys, the root's unknown keys last.
    assert problem_lines(result.stderr) == [
        '  - agents.list.0: Unrecognized key: "wrkspace"',
        '  - agents: Unrecognized key: "defualts"',
        "  - session.mainKey: Invalid input: expected string, received number",
        '  - session.maintenance.mode: Invalid option: expected one of "enforce"|"warn"',
        '  - session.maintenance: Unrecognized key: "bar"',
        '  - session: Unrecognized keys: "maintenence", "foo"',
        '  - gateway.auth: Unrecognized key: "tokn"',
        '  - gateway: Unrecognized key: "prot"',
        '  - <root>: Unrecognized key: "sesion"',
    ]


def test_keys_openclaw_knows_but_we_do_not_read_are_accepted(state_dir, store_path, cli):
    """A real OpenClaw config (models, channels, tools, auth ...) must keep loading."""
    write_store(store_path, {})
    (state_dir / "openclaw.json").write_text(json.dumps({
        "meta": {"lastTouchedVersion": "2026.5.4"}, "models": {"providers": {}}, "channels": {"telegram": {}},
        "tools": {"profile": "coding"}, "auth": {"profiles": {}}, "bindings": [], "skills": {},
        "agents": {"defaults": {"model": {"primary": "anthropic/claude"}, "workspace": "~/ws"},
                   "list": [{"id": "main", "identity": {"name": "M"}, "tools": {}}]},
        "session": {"dmScope": "main", "reset": {"mode": "daily"}, "maintenance": {"mode": "warn"}},
        "gateway": {"mode": "local", "bind": "loopback", "controlUi": {}, "auth": {"mode": "token"},
                    "remote": {"url": "ws://127.0.0.1:1"}},
        "plugins": {"enabled": True, "entries": {}}}))
    result = cli("sessions", "cleanup", "--dry-run", "--store", str(store_path), "--json")
    assert result.exit_code == 0, result


@pytest.mark.parametrize(("data", "problem"), [
    ({"session": {"mainKey": 3}}, "session.mainKey: Invalid input: expected string, received number"),
    ({"session": {"mainKey": None}}, "session.mainKey: Invalid input: expected string, received null"),
    ({"session": {"scope": "all"}}, 'session.scope: Invalid input (allowed: "per-sender", "global")'),
    ({"agents": {"list": [{"id": "a", "default": "yes"}]}},
     "agents.list.0.default: Invalid input: expected boolean, received string (allowed: true, false)"),
    ({"agents": {"list": [{"id": "a", "name": 3}]}}, "agents.list.0.name: Invalid input: expected string, received number"),
    ({"gateway": {"mode": "x"}}, 'gateway.mode: Invalid input (allowed: "local", "remote")'),
    ({"gateway": {"bind": 3}}, 'gateway.bind: Invalid input (allowed: "auto", "lan", "loopback", "custom", "tailnet")'),
    ({"gateway": {"customBindHost": 3}}, "gateway.customBindHost: Invalid input: expected string, received number"),
    ({"gateway": {"remote": {"url": 3}}}, "gateway.remote.url: Invalid input: expected string, received number"),
])
def test_a_read_key_of_the_wrong_type_is_refused_with_the_reference_message(data, problem):
    assert check_config(data, sections={})[0] == [problem]


def test_a_numeric_main_key_is_refused_before_the_gateway_starts(state_dir, run_openclaw, free_port):
    """It used to pass validation, then the Gateway dropped every connection."""
    (state_dir / "openclaw.toml").write_text("[session]\nmainKey = 3\n")
    result = run_openclaw("gateway", "run", "--port", str(free_port), timeout=30)
    assert result.exit_code == 1
    assert problem_lines(result.stderr) == ["  - session.mainKey: Invalid input: expected string, received number"]


@pytest.mark.parametrize("main_key", ["work", " Main "])
def test_a_main_key_other_than_main_gets_the_reference_notice(state_dir, store_path, run_openclaw, main_key):
    write_store(store_path, {})
    (state_dir / "openclaw.json").write_text(json.dumps({"session": {"mainKey": main_key}}))
    result = run_openclaw("sessions", "cleanup", "--dry-run", "--store", str(store_path), "--json")
    assert result.exit_code == 0, result
    json.loads(result.stdout)  # the notice is not on stdout
    assert result.stderr.splitlines() == ['session.mainKey is ignored; main session is always "main".']


@pytest.mark.parametrize("main_key", ["main", "  ", ""])
def test_main_key_main_or_blank_says_nothing(state_dir, store_path, run_openclaw, main_key):
    write_store(store_path, {})
    (state_dir / "openclaw.json").write_text(json.dumps({"session": {"mainKey": main_key}}))
    result = run_openclaw("sessions", "--store", str(store_path), "--json")
    assert result.exit_code == 0, result
    assert result.stderr == ""


# --- plugin sections ------------------------------------------------------------------------------------------

def quota_plugin() -> types.ModuleType:
    plugin = types.ModuleType("quota_plugin")

    def check(table, path):
        if not isinstance(table.get("maxPerAgent", 1), int):
            yield f"{path}.maxPerAgent: expected an integer"

    @hookimpl
    def openclaw_config_sections():
        return {"plugins.quota": ConfigSection(("maxPerAgent", "notify"), check), "plugins.quotaAudit": ["logFile"]}

    plugin.openclaw_config_sections = openclaw_config_sections
    return plugin


@pytest.fixture
def no_kill_switch(monkeypatch):
    """No plugin disabled (a disabled plugin's table is let through; see below)."""
    monkeypatch.setenv("OPENCLAW_DISABLE_PLUGINS", "")


def test_hook_config_sections_declares_a_plugin_table(state_dir, store_path, cli, no_kill_switch,
                                                      register_openclaw_plugin):
    write_store(store_path, {})
    config = state_dir / "openclaw.toml"
    config.write_text("[plugins.quota]\nmaxPerAgent = 3\n[plugins.quotaAudit]\nlogFile = 'q.log'\n")
    args = ("sessions", "cleanup", "--dry-run", "--store", str(store_path), "--json")
    refused = cli(*args)  # not installed yet: nobody reads [plugins.quota]
    assert refused.exit_code == 1
    assert problem_lines(refused.stderr) == ['  - plugins: Unrecognized keys: "quota", "quotaAudit"']
    register_openclaw_plugin(quota_plugin(), "quota")
    assert cli(*args).exit_code == 0
    config.write_text("[plugins.quota]\nmaxPerAgnet = 3\nnotify = 'x'\n[plugins.qouta]\nx = 1\n")
    result = cli(*args)
    assert result.exit_code == 1
    assert problem_lines(result.stderr) == ['  - plugins.quota: Unrecognized key: "maxPerAgnet"',
                                            '  - plugins: Unrecognized key: "qouta"']
    assert result.stderr.splitlines()[-2:] == ['Hint: plugins.quota.maxPerAgnet: did you mean "maxPerAgent"?',
                                               'Hint: plugins.qouta: did you mean "quota"?']
    config.write_text("[plugins.quota]\nmaxPerAgent = 'many'\n")
    assert problem_lines(cli(*args).stderr) == ["  - plugins.quota.maxPerAgent: expected an integer"]


def test_a_broken_declaration_is_a_warning_not_a_crash(state_dir, store_path, cli, register_openclaw_plugin):
    plugin = types.ModuleType("broken_sections")
    plugin.openclaw_config_sections = hookimpl(lambda: ["plugins.x"])
    register_openclaw_plugin(plugin, "broken-sections")
    write_store(store_path, {})
    (state_dir / "openclaw.toml").write_text("[session]\n")
    result = cli("sessions", "--store", str(store_path), "--json")
    assert result.exit_code == 0
    assert 'plugin "broken-sections" returned list from openclaw_config_sections' in result.stderr


def test_the_postgres_plugin_declares_its_section(state_dir, store_path, run_openclaw):
    write_store(store_path, {})
    (state_dir / "openclaw.toml").write_text('[session]\nbackend = "file"\n[session.postgres]\nschema = "oc"\n')
    args = ("sessions", "--store", str(store_path), "--json")
    assert run_openclaw(*args).exit_code == 0
    disabled = run_openclaw(*args, env={"OPENCLAW_DISABLE_PLUGINS": "store_postgres"})
    assert disabled.exit_code == 1
    assert problem_lines(disabled.stderr) == ['  - session: Unrecognized key: "postgres"']


def test_an_installed_plugin_table_is_accepted_and_others_refused(state_dir, store_path, run_openclaw):
    """The example plugin (installed in the test venv) declares [plugins.retentionPins]."""
    write_store(store_path, {})
    (state_dir / "openclaw.toml").write_text('[plugins.retentionPins]\ncronRunMaxAge = "3d"\n')
    args = ("sessions", "--store", str(store_path), "--json")
    enabled = {"OPENCLAW_DISABLE_PLUGINS": ""}
    listed = run_openclaw("plugins", "list", env=enabled)
    if "retention" not in listed.stdout:
        pytest.skip("the example plugin is not installed in this venv")
    assert run_openclaw(*args, env=enabled).exit_code == 0
    # Disabled by the kill switch (as this suite does): its table is let through, said so.
    disabled = run_openclaw(*args)
    assert disabled.exit_code == 0, disabled
    assert "plugins.retentionPins not checked: no enabled plugin declares it" in disabled.stderr
    (state_dir / "openclaw.toml").write_text('[plugins.retentionPin]\ncronRunMaxAge = "3d"\n')
    refused = run_openclaw(*args, env=enabled)
    assert refused.exit_code == 1
    assert problem_lines(refused.stderr) == ['  - plugins: Unrecognized key: "retentionPin"']
    (state_dir / "openclaw.toml").write_text('[plugins.retentionPins]\ncronRunMaxAges = "3d"\n')
    typo = run_openclaw(*args, env=enabled)
    assert problem_lines(typo.stderr) == ['  - plugins.retentionPins: Unrecognized key: "cronRunMaxAges"']


def test_config_edits_refuse_an_unknown_key_too(state_dir, cli):
    (state_dir / "openclaw.toml").write_text('[[agents.list]]\nid = "main"\n[sesion]\nstore = "x"\n')
    before = (state_dir / "openclaw.toml").read_bytes()
    result = cli("agents", "add", "work")
    assert result.exit_code == 1
    assert '<root>: Unrecognized key: "sesion"' in result.stderr
    assert (state_dir / "openclaw.toml").read_bytes() == before
    assert not (state_dir / "workspace-work").exists() and not os.path.exists(state_dir / "agents" / "work")
