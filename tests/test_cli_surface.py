"""The CLI's surface: bare commands, usage errors, examples in help, -q/-v.

The expected texts are what the real OpenClaw 2026.5.4 printed for the same
command lines (run by hand with a state dir holding two agents): usage errors
are commander's one line on stderr with exit 1.
"""

from __future__ import annotations

import json

import pytest

TWO_AGENTS = {"agents": {"list": [{"id": "main", "default": True}, {"id": "work", "name": "Work"}]}}


@pytest.fixture
def two_agents(state_dir):
    (state_dir / "openclaw.json").write_text(json.dumps(TWO_AGENTS))
    return state_dir


# --- bare commands -------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["gateway"], ["plugins"], ["store"], ["config"]],
                         ids=lambda a: " ".join(a) or "openclaw")
def test_bare_groups_print_their_help_on_stdout_and_exit_0(run_openclaw, state_dir, args):
    result = run_openclaw(*args)
    assert result.exit_code == 0, result
    assert result.stderr == ""
    assert result.stdout.startswith(f"Usage: {' '.join(['openclaw', *args])} [OPTIONS] COMMAND [ARGS]...\n")
    assert "\nCommands:\n" in result.stdout
    # the same page as --help (not squashed onto one line)
    assert result.stdout == run_openclaw(*args, "--help").stdout


def test_bare_sessions_is_still_the_listing(cli, state_dir):
    result = cli("sessions")
    assert result.exit_code == 0
    assert result.stdout.startswith("Session store: ")


def test_bare_agents_lists_agents_like_the_reference(cli, two_agents):
    text = cli("agents")
    assert text.exit_code == 0 and text.stderr == ""
    lines = text.stdout.splitlines()
    assert lines[0] == "Agents:"
    assert lines[1:6] == ["- main (default)", "  Workspace: ~/.openclaw/workspace",
                          f"  Agent dir: {two_agents}/agents/main/agent", "  Routing rules: 0",
                          "  Routing: default (no explicit rules)"]
    assert lines[6:10] == ["- work (Work)", f"  Workspace: {two_agents}/workspace-work",
                           f"  Agent dir: {two_agents}/agents/work/agent", "  Routing rules: 0"]
    assert text.stdout == cli("agents", "list").stdout
    as_json = cli("agents", "--json")
    assert as_json.exit_code == 0
    assert as_json.json() == cli("agents", "list", "--json").json()
    assert [row["id"] for row in as_json.json()] == ["main", "work"]
    assert as_json.json()[1] == {"id": "work", "name": "Work", "workspace": f"{two_agents}/workspace-work",
                                 "agentDir": f"{two_agents}/agents/work/agent", "bindings": 0, "isDefault": False}


# --- usage errors --------------------------------------------------------------------------------

USAGE_ERRORS = [
    # (args, stderr) -- every one exits 1 with nothing on stdout
    (["sessions", "cleanup", "--bogus"], "error: unknown option '--bogus'"),
    (["agents", "delete", "--bogus"], "error: unknown option '--bogus'"),
    (["agents", "delete", "--forc", "x"], "error: unknown option '--forc'\n(Did you mean --force?)"),
    (["sessions", "cleanup", "--stor", "x"], "error: unknown option '--stor'\n(Did you mean --store?)"),
    (["sessions", "cleanup", "--dry-rn"], "error: unknown option '--dry-rn'\n(Did you mean --dry-run?)"),
    (["sessions", "--bogus"], "error: unknown option '--bogus'"),  # not "Did you mean '--verbose'"
    (["sessions", "--verbos"], "error: unknown option '--verbos'\n(Did you mean --verbose?)"),
    (["agents", "delete"], "error: missing required argument 'id'"),
    (["agents", "delete", "a", "b"], "error: too many arguments for 'delete'. Expected 1 argument but got 2."),
    (["sessions", "cleanup", "x", "y"], "error: too many arguments for 'cleanup'. Expected 0 arguments but got 2."),
    (["sessions", "--limit"], "error: option '--limit <count>' argument missing"),
    (["sessions", "cleanup", "--active-key"], "error: option '--active-key <key>' argument missing"),
    (["sessions", "--limit", "abc"], '--limit must be a positive integer or "all"'),
    (["plugins", "--bogus"], "error: unknown option '--bogus'"),
    # where the reference has no equivalent: the same style
    (["agents", "lst"], "error: unknown command 'lst'\n(Did you mean list?)"),
    (["nosuch"], "error: unknown command 'nosuch'"),
    (["store", "migrate"], "error: required option '--to <backend>' not specified"),
    (["gateway", "run", "--port", "abc"],
     "error: option '--port <n>' argument 'abc' is invalid. 'abc' is not a valid integer."),
]


@pytest.mark.parametrize(("args", "says"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_are_one_commander_line_and_exit_1(cli, state_dir, args, says):
    result = cli(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", says + "\n")


def test_a_real_process_gets_the_same_error(run_openclaw, state_dir):
    result = run_openclaw("agents", "delete", "--forc", "x")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "", "error: unknown option '--forc'\n(Did you mean --force?)\n")


def test_suggestions_only_when_close():
    from openclaw_core.adapters.cli.usage import did_you_mean

    options = ["--store", "--agent", "--all-agents", "--json", "--verbose", "--limit", "--active"]
    assert did_you_mean("--bogus", options) == ""
    assert did_you_mean("--agnet", options) == "\n(Did you mean --agent?)"
    assert did_you_mean("--jsn", options) == "\n(Did you mean --json?)"
    assert did_you_mean("--x", options) == ""


def test_a_plugin_s_plain_click_command_gets_the_same_format(cli, state_dir, monkeypatch):
    """The entry point formats errors, so a command that is not ours is covered too."""
    import click

    from openclaw_core.adapters import cli as cli_module

    @click.command("plain")
    @click.option("--name", metavar="NAME")
    def plain(name):
        click.echo(name)

    original = cli_module.build_cli

    def with_plain(hooks=None):
        root = original(hooks)
        root.add_command(plain)
        return root

    monkeypatch.setattr(cli_module, "build_cli", with_plain)
    assert cli("plain", "--nam", "x").stderr == "error: unknown option '--nam'\n(Did you mean --name?)\n"
    # (click gives no context with this one, so no metavar: still the same style and status)
    assert cli("plain", "--name").stderr == "error: option '--name' argument missing\n"
    assert cli("plain", "--name").exit_code == 1
# --- examples in help ----------------------------------------------------------------------------

def _commands():
    from openclaw_core.clidoc import help_texts

    return help_texts()


def test_every_command_s_help_has_examples(state_dir):
    missing = [path for path, text in _commands() if "\nExamples:\n  openclaw" not in text]
    assert missing == []


def test_examples_name_real_commands(state_dir):
    """Each example line is a command line this CLI parses (with --help appended)."""
    import shlex

    for path, text in _commands():
        section = text.split("\nExamples:\n", 1)[1]
        for line in section.splitlines():
            if line.startswith("  openclaw"):
                assert _help_exit(shlex.split(line.strip())[1:]) == 0, (path, line)


def _help_exit(words):
    import click

    from openclaw_core.adapters.cli import build_cli
    from openclaw_core.app import hooks

    # The command path is valid and every option exists: --help at the end parses cleanly.
    try:
        build_cli(hooks).main([*words, "--help"], prog_name="openclaw", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError:
        return 1
    return 0
