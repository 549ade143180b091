"""``openclaw plugins list``: what is loaded, from where, and which hooks it implements."""

from __future__ import annotations

import json

import click

from openclaw_core.adapters.cli.usage import OpenClawGroup
from openclaw_core.adapters.cli.context import hooks_of


@click.group(cls=OpenClawGroup, examples=[
    ("openclaw plugins list", "What is loaded and which hooks each implements."),
    ("OPENCLAW_DISABLE_PLUGINS=third-party openclaw plugins list", "Only the built-in plugins."),
])
def plugins() -> None:
    """Inspect plugins (set OPENCLAW_DISABLE_PLUGINS=name,... or =third-party to turn them off)."""


@plugins.command("list", examples=[
    ("openclaw plugins list", "Plugins, their hooks and maintenance policies."),
    ("openclaw plugins list --json", "The same, as JSON."),
])
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_plugins(ctx: click.Context, as_json: bool) -> None:
    """Loaded plugins, their distribution and version, and the hooks each implements."""
    from openclaw_core.adapters.cli import LazyGroup
    from openclaw_core.engine.maintenance import collect_policies

    hooks = hooks_of()
    # Adding commands is where some plugins fail: do it, so those failures are reported too.
    root = ctx.find_root().command
    if isinstance(root, LazyGroup):
        root.load_plugin_commands(None)
    policies: dict[str, list[dict[str, object]]] = {}
    run_order = []
    for plugin_name, policy in collect_policies(hooks):
        policies.setdefault(plugin_name, []).append({"name": policy.name, "order": policy.order})
        run_order.append({"order": policy.order, "name": policy.name, "plugin": plugin_name})
    rows = []
    for info in hooks.plugin_infos():
        row = {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "builtin": info.builtin,
            "module": info.module,
            "hooks": info.hooks,
        }
        if info.name in policies:
            row["maintenancePolicies"] = policies[info.name]
        if info.error:
            row["error"] = info.error
        rows.append(row)
    if as_json:
        click.echo(json.dumps({"plugins": rows, "maintenancePolicies": run_order}, indent=2))
        return
    for row in rows:
        origin = "built-in" if row["builtin"] else "third-party"
        dist = f'{row["distribution"]} {row["version"]}' if row["distribution"] else "(no distribution)"
        click.echo(f'{row["name"]}  [{origin}]  {dist}')
        if row.get("error"):
            click.echo(f'  disabled: {row["error"]}')
            continue
        click.echo(f'  hooks: {", ".join(row["hooks"]) or "(none)"}')
        for policy in row.get("maintenancePolicies", []):
            click.echo(f'  policy {policy["order"]:>4}  {policy["name"]}')
    if run_order:
        # Every plugin's policies together, as the writer runs them.
        click.echo("maintenance policies, in run order:")
        for policy in run_order:
            click.echo(f'  {policy["order"]:>4}  {policy["name"]:<28} ({policy["plugin"]})')
