"""``openclaw agents``: list, add and delete agents (spec section 11).

``agents delete`` asks a running Gateway first (``agents.delete``) and runs
the same service itself (:mod:`openclaw_core.services.agents`) only when no Gateway
could be reached; the wording, exit codes and JSON are the reference's.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from openclaw_core.adapters.cli import complete
from openclaw_core.adapters.cli.usage import OpenClawGroup
from openclaw_core.adapters.cli.context import hooks_of


def _echo_json(value: Any) -> None:
    from openclaw_core.js.json import stringify

    click.echo(stringify(value))


def _short(path: Any) -> str:
    """The reference's display form of a path: the home as ``~`` (or ``$OPENCLAW_HOME``)."""
    import os

    from openclaw_core.js.values import js_trim
    from openclaw_core.config.paths import resolve_home

    text = str(path)
    home = str(resolve_home())
    prefix = "$OPENCLAW_HOME" if js_trim(os.environ.get("OPENCLAW_HOME") or "") else "~"
    if text == home:
        return prefix
    if text.startswith(home + os.sep):
        return prefix + text[len(home):]
    return text


def _notice_normalized(raw: str, agent_id: str) -> None:
    from openclaw_core.js.values import js_trim

    if agent_id != js_trim(raw):
        from openclaw_core.adapters.cli.output import info

        info(f'Normalized agent id to "{agent_id}".')


@click.group(cls=OpenClawGroup, invoke_without_command=True, examples=[
    ("openclaw agents", "List the configured agents."),
    ("openclaw agents --json", "The same, as JSON."),
    ("openclaw agents add work", "Add an agent named work."),
    ("openclaw agents delete work --force", "Delete it without asking."),
])
@click.option("--json", "as_json", is_flag=True, help="Print JSON (bare `agents` is `agents list`).")
@click.pass_context
def agents(ctx: click.Context, as_json: bool) -> None:
    """Agents: their workspaces, agent dirs and session stores."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command, as_json=as_json)


@agents.command("list", examples=[
    ("openclaw agents list", "Each agent's workspace, agent dir and routing rules."),
    ("openclaw agents list --json", "The same, as JSON."),
])
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """List the configured agents (the same as bare `openclaw agents`)."""
    from openclaw_core.services.agents import list_agents
    from openclaw_core.adapters.cli.context import load_config

    rows = list_agents(load_config())
    if as_json:
        _echo_json(rows)
        return
    lines = ["Agents:"]
    for row in rows:
        header = row["id"] + (" (default)" if row["isDefault"] else "")
        if row.get("name") and row["name"] != row["id"]:
            header += f" ({row['name']})"
        lines.append(f"- {header}")
        identity = " ".join(v for v in (row.get("identityEmoji"), row.get("identityName")) if v)
        if identity:
            source = {"identity": "IDENTITY.md", "config": "config"}.get(row.get("identitySource") or "")
            lines.append(f"  Identity: {identity}" + (f" ({source})" if source else ""))
        lines.append(f"  Workspace: {_short(row['workspace'])}")
        lines.append(f"  Agent dir: {_short(row['agentDir'])}")
        if row.get("model"):
            lines.append(f"  Model: {row['model']}")
        lines.append(f"  Routing rules: {row['bindings']}")
        if row["isDefault"] and not row["bindings"]:
            lines.append("  Routing: default (no explicit rules)")
    lines.append("Routing rules map channel/account/peer to an agent.")
    click.echo("\n".join(lines))


@agents.command("add", examples=[
    ("openclaw agents add work", "Workspace in <stateDir>/workspace-work."),
    ("openclaw agents add ops --workspace ~/ops --default", "A workspace of your own, and the new default."),
])
@click.argument("agent_id", metavar="ID")
@click.option("--workspace", metavar="DIR", help="The agent's workspace (default: <stateDir>/workspace-<id>).")
@click.option("--default", "make_default", is_flag=True, help="Make it the default agent.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def add_command(agent_id: str, workspace: str | None, make_default: bool, as_json: bool) -> None:
    """Add an agent to the config and create its workspace and sessions dir."""
    from openclaw_core.services.agents import add_agent
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.js.values import js_trim
    from openclaw_core.base.keys import normalize_agent_id

    config = load_config()
    if js_trim(agent_id) and normalize_agent_id(agent_id) != "main":
        _notice_normalized(agent_id, normalize_agent_id(agent_id))
    result = add_agent(config, agent_id, workspace=workspace, make_default=make_default)
    if as_json:
        _echo_json(result.to_json())
        return
    click.echo(f"Updated {_short(result.config_path)}")
    click.echo(f"Workspace OK: {_short(result.workspace)}")
    click.echo(f"Sessions OK: {_short(result.sessions_dir)}")
    click.echo(f"Agent: {result.agent_id}" + (" (default)" if result.is_default else ""))
    click.echo(f"Workspace: {_short(result.workspace)}")
    click.echo(f"Agent dir: {_short(result.agent_dir)}")


@agents.command("delete", examples=[
    ("openclaw agents delete work", "Asks first (needs a terminal)."),
    ("openclaw agents delete work --force --json", "No question; the result as JSON."),
])
@click.argument("agent_id", metavar="ID", shell_complete=complete.deletable_agent_ids)
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def delete_command(agent_id: str, force: bool, as_json: bool) -> None:
    """Delete an agent: prune the config, purge its sessions, move its dirs to the trash."""
    from openclaw_core.services.agent_delete import delete_agent, normalize_requested_id, plan_delete, plan_json
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.base.errors import UsageError
    from openclaw_core.engine.transport import TransportRequest, dispatch

    config = load_config()
    agent = normalize_requested_id(agent_id)
    _notice_normalized(agent_id, agent)
    plan = plan_delete(config, agent)  # "main" and unknown ids are refused here
    if not force:
        if not sys.stdin.isatty():
            raise UsageError("Non-interactive session. Re-run with --force.")
        if not click.confirm(f'Delete agent "{agent}" and prune workspace/state?', default=False):
            click.echo("Cancelled.")
            return
    from openclaw_core.base.cancel import (
        FINISHING_MESSAGE,
        CancelToken,
        cancel_on_signals,
        interrupt_while_waiting_for_gateway,
    )

    with interrupt_while_waiting_for_gateway():
        response = dispatch(TransportRequest("agents.delete", {"agentId": agent, "deleteFiles": True}, config), hooks_of())
    if response is not None:
        payload = response.payload if isinstance(response.payload, dict) else {}
        # Our Gateway adds these when it could not trash or purge something.
        extra = {k: payload[k] for k in ("trashFailed", "purgeFailed") if k in payload}
        if as_json:
            _echo_json(plan_json(plan, removed_bindings=payload.get("removedBindings"), extra=extra,
                                 transport=response.transport))
        else:
            from openclaw_core.adapters.cli.cleanup import via_gateway_line

            _print_problems(extra)
            click.echo(f"Deleted agent: {agent}")
            click.echo(via_gateway_line(response))
        if extra:
            raise click.exceptions.Exit(1)
        return
    # Ctrl-C / SIGTERM cancel it until the config is rewritten; after that the purge
    # and the trash complete (a half-deleted agent is worse than either).
    token = CancelToken()
    with cancel_on_signals(token, on_late=lambda: click.echo(FINISHING_MESSAGE, err=True)):
        result = delete_agent(config, agent, hooks=hooks_of(), cancel=token)
    if as_json:
        _echo_json(result.to_json())
    else:
        click.echo(f"Updated {_short(result.config_path)}")
        if result.plan.workspace_shared_with:
            shared = ", ".join(result.plan.workspace_shared_with)
            click.echo(f"Skipped workspace removal (shared with other agents: {shared}): {result.plan.workspace}")
        for step in result.trashed:
            outcome = step.result
            if outcome.moved:
                click.echo(f"Moved to Trash: {_short(outcome.path)}")
            elif outcome.failed:
                click.echo(f"Failed to move to Trash (manual delete): {_short(outcome.path)} ({outcome.reason})")
        if result.purge is not None and result.purge.error:
            click.echo(f"Failed to purge the agent's sessions from {_short(result.purge.store_path)}: "
                       f"{result.purge.error}", err=True)
        click.echo(f"Deleted agent: {agent}")
    if not result.ok:
        raise click.exceptions.Exit(1)


def _print_problems(extra: dict[str, Any]) -> None:
    for failure in extra.get("trashFailed") or []:
        if isinstance(failure, dict):
            click.echo(f"Failed to move to Trash (manual delete): {_short(failure.get('path'))} "
                       f"({failure.get('reason')})")
    if extra.get("purgeFailed"):
        click.echo(f"Failed to purge the agent's sessions: {extra['purgeFailed']}", err=True)
