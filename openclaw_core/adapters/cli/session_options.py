"""The options ``openclaw sessions`` and its subcommands share (given on the
group, they are inherited: ``openclaw sessions --json cleanup``)."""

from __future__ import annotations

from typing import Any

import click

from openclaw_core.adapters.cli import complete


def target_options(func: Any) -> Any:
    """The store-selection options shared by the group and its subcommands."""
    func = click.option("--json", "as_json", is_flag=True, default=None, help="Print JSON.")(func)
    func = click.option("--all-agents", is_flag=True, default=None, help="Every configured agent's store.")(func)
    func = click.option("--agent", metavar="ID", help="One configured agent's store.",
                        shell_complete=complete.agent_ids)(func)
    func = click.option("--store", metavar="PATH", help="A store file ({agentId} and ~ expanded).",
                        shell_complete=complete.store_paths)(func)
    return func


def list_options(func: Any) -> Any:
    func = click.option("--verbose", is_flag=True, default=None, help="Verbose logging: the same as `openclaw -v` (which store was read, how long it took).")(func)
    func = click.option("--limit", metavar="COUNT", help="Rows to show (default 100; all: every row).")(func)
    func = click.option("--active", metavar="MINUTES", help="Only sessions updated in the last MINUTES.")(func)
    return func


def inherited(ctx: click.Context, **given: Any) -> dict[str, Any]:
    """Options given here, else on the parent ``sessions`` group."""
    parent = (ctx.parent.obj or {}) if ctx.parent is not None else {}
    return {name: value if value is not None else parent.get(name) for name, value in given.items()}
