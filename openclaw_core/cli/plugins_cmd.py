"""``openclaw plugins list``: what is loaded, from where, and which hooks it implements."""

from __future__ import annotations

import json

import click


@click.group()
def plugins() -> None:
    """Inspect plugins (set OPENCLAW_DISABLE_PLUGINS=name,... or =third-party to turn them off)."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_plugins(as_json: bool) -> None:
    """Loaded plugins, their distribution and version, and the hooks each implements."""
    from openclaw_core.maintenance import collect_policies
    from openclaw_core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    policies: dict[str, list[dict[str, object]]] = {}
    for plugin_name, policy in collect_policies(pm):
        policies.setdefault(plugin_name, []).append({"name": policy.name, "order": policy.order})
    rows = []
    for info in pm.plugin_infos():
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
        click.echo(json.dumps({"plugins": rows}, indent=2))
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
