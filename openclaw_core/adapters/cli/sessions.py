"""``openclaw sessions``: list sessions (the group itself, or ``sessions list``)
and maintain stores (``sessions cleanup``).

``--store/--agent/--all-agents/--json`` given on the group are inherited by
its subcommands, as in ``openclaw sessions --json cleanup``.
"""

from __future__ import annotations

from typing import Any

import click

from openclaw_core.adapters.cli import LazyGroup
from openclaw_core.adapters.cli.session_options import inherited, list_options, target_options  # noqa: F401

SUBCOMMANDS = {
    "list": "openclaw_core.adapters.cli.sessions_list:list_sessions",
    "cleanup": "openclaw_core.adapters.cli.cleanup:cleanup",
}


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS, invoke_without_command=True, examples=[
    ("openclaw sessions", "The default agent's sessions, newest first."),
    ("openclaw sessions --all-agents --limit 20", "The newest 20 across every agent."),
    ("openclaw sessions --agent work --active 60", "One agent's sessions of the last hour."),
    ("openclaw sessions --store ./sessions.json --json", "A store file of your choice, as JSON."),
    ("openclaw sessions cleanup --dry-run", "Preview maintenance."),
])
@target_options
@list_options
@click.pass_context
def sessions(ctx: click.Context, **options: Any) -> None:
    """List sessions (newest first); `sessions cleanup` maintains the stores."""
    ctx.obj = options
    if ctx.invoked_subcommand is None:
        from openclaw_core.adapters.cli.sessions_list import run_list

        run_list(**options)
