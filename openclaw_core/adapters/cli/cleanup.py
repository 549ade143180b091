"""``openclaw sessions cleanup``: run session-store maintenance now.

Non-dry runs without ``--store`` go to a running Gateway first (method
``sessions.cleanup``, through :func:`openclaw_core.engine.transport.dispatch`) and
print what it answers; with no Gateway to reach, or with ``--store`` or
``--dry-run``, the stores are maintained here (:mod:`openclaw_core.services.cleanup`).
Output is the reference's: its JSON with ``--json``, else its summary lines
and, for a dry run, the table of planned actions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import click

from openclaw_core.adapters.cli import complete
from openclaw_core.adapters.cli.session_options import inherited, target_options
from openclaw_core.adapters.cli.usage import OpenClawCommand
from openclaw_core.js.values import js_trim, js_trim_end, to_string, truthy
from openclaw_core.adapters.cli.context import hooks_of
from openclaw_core.config.models import DEFAULT_MODEL, DEFAULT_PROVIDER, parse_model_ref, primary_ref

ACTION_PAD = 12
KEY_PAD = 26
AGE_PAD = 9
MODEL_PAD = 14


@click.command("cleanup", cls=OpenClawCommand, examples=[
    ("openclaw sessions cleanup --dry-run", "What would be pruned, capped or evicted, row by row."),
    ("openclaw sessions cleanup --enforce", "Maintain now, even in warn mode."),
    ("openclaw sessions cleanup --all-agents --dry-run --json", "Every agent's plan, as JSON."),
    ("openclaw sessions cleanup --fix-missing --enforce", "Also drop entries whose transcript is gone."),
    ("openclaw sessions cleanup --enforce --active-key agent:main:main", "Never evict this session."),
])
@target_options
@click.option("--dry-run", is_flag=True, help="Preview maintenance actions without writing.")
@click.option("--enforce", is_flag=True, help="Apply maintenance even when the configured mode is warn.")
@click.option("--fix-missing", is_flag=True,
              help="Remove entries whose transcript files are missing (bypasses age/count retention).")
@click.option("--active-key", metavar="KEY", help="Protect this session key from pruning, capping and eviction.",
              shell_complete=complete.session_keys)
@click.pass_context
def cleanup(ctx: click.Context, store: str | None, agent: str | None, all_agents: bool | None, as_json: bool | None,
            dry_run: bool, enforce: bool, fix_missing: bool, active_key: str | None) -> None:
    """Run session-store maintenance now (prune, cap, archive, disk budget)."""
    opts = inherited(ctx, store=store, agent=agent, all_agents=all_agents, as_json=as_json)
    store, agent = opts["store"], opts["agent"]
    all_agents, as_json = bool(opts["all_agents"]), bool(opts["as_json"])

    from openclaw_core.adapters.cli.context import load_config

    config = load_config()
    if not dry_run and not store:
        from openclaw_core.base.cancel import interrupt_while_waiting_for_gateway

        with interrupt_while_waiting_for_gateway():
            response = _via_gateway(config, agent=agent, all_agents=all_agents, enforce=enforce,
                                    active_key=active_key, fix_missing=fix_missing)
        if response is not None:
            payload = response.payload
            if as_json:
                _print_json(payload)
            else:
                stores = payload.get("stores") if isinstance(payload, Mapping) and "stores" in payload else [payload]
                _print_applied(stores if isinstance(stores, list) else [])
                click.echo(via_gateway_line(response))
            return

    from openclaw_core.base.cancel import FINISHING_MESSAGE, CancelToken, cancel_on_signals
    from openclaw_core.services.cleanup import cleanup_stores
    from openclaw_core.engine.maintenance import store_log_routing
    from openclaw_core.engine.store.writer import configure_writers

    from openclaw_core.adapters.cli.progress import ProgressLine, enabled

    progress = ProgressLine() if enabled(as_json=as_json) else None
    # A one-shot command needs no watcher: the writer checks the store's version anyway.
    previous = configure_writers(watch=False)
    # Ctrl-C / SIGTERM cancel the cleanup until its write starts, never in the middle of it.
    token = CancelToken()

    def finishing() -> None:
        if progress is not None:
            progress.clear()
        click.echo(FINISHING_MESSAGE, err=True)

    # Like the reference: maintenance info lines go to stdout unless the output is JSON.
    with store_log_routing(info_to_stdout=not as_json, before_emit=progress.clear if progress else None), \
            cancel_on_signals(token, on_late=finishing):
        try:
            result = cleanup_stores(config, store=store, agent=agent, all_agents=all_agents, enforce=enforce,
                                    dry_run=dry_run, active_key=active_key, fix_missing=fix_missing,
                                    progress=progress.update if progress else None,
                                    with_rows=dry_run and not as_json, hooks=hooks_of(), cancel=token)
        finally:
            configure_writers(watch=previous["watch"])
            if progress is not None:
                progress.close()
    if as_json:
        _print_json(result.to_json())
    elif dry_run:
        _print_plans(config, result)
    else:
        _print_applied([s.summary for s in result.stores])


def _via_gateway(config: Any, *, agent: str | None, all_agents: bool, enforce: bool, active_key: str | None,
                 fix_missing: bool) -> Any:
    """The Gateway's response, or None when no Gateway of this state dir could be reached."""
    from openclaw_core.engine.transport import TransportRequest, dispatch

    # The reference's params: booleans always, strings only when given.
    params: dict[str, Any] = {}
    if agent is not None:
        params["agent"] = agent
    params["allAgents"] = all_agents
    params["enforce"] = enforce
    if active_key is not None:
        params["activeKey"] = active_key
    params["fixMissing"] = fix_missing
    return dispatch(TransportRequest("sessions.cleanup", params, config), hooks_of())


def via_gateway_line(response: Any) -> str:
    """The text output's note that a Gateway did the work (the JSON shapes stay the reference's)."""
    return f"(via Gateway {response.url})" if response.url else "(via Gateway)"


def _print_json(value: Any) -> None:
    from openclaw_core.js.json import stringify

    click.echo(stringify(value))


def _print_applied(summaries: list[Any]) -> None:
    for i, summary in enumerate(summaries):
        if not isinstance(summary, Mapping):
            continue
        if i > 0:
            click.echo("")
        if len(summaries) > 1:
            click.echo(f"Agent: {to_string(summary.get('agentId'))}")
        click.echo(f"Session store: {to_string(summary.get('storePath'))}")
        click.echo(f"Applied maintenance. Current entries: {to_string(summary.get('appliedCount') or 0)}")
        _print_policy_counts(summary)


def _print_policy_counts(summary: Mapping[str, Any]) -> None:
    """One line per third-party policy that reported a number (none without such a plugin)."""
    from openclaw_core.services.cleanup import EXTENSION_KEY

    extension = summary.get(EXTENSION_KEY)
    policies = extension.get("policies") if isinstance(extension, Mapping) else None
    if not isinstance(policies, Mapping):
        return
    import json

    for name, value in policies.items():
        shown = to_string(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) \
            else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        click.echo(f"Plugin policy {name}: {shown}")


def _print_plans(config: Any, result: Any) -> None:
    many = len(result.stores) > 1
    for i, done in enumerate(result.stores):
        if i > 0:
            click.echo("")
        summary = done.summary
        if many:
            click.echo(f"Agent: {summary['agentId']}")
        click.echo(f"Session store: {summary['storePath']}")
        click.echo(f"Maintenance mode: {summary['mode']}")
        removed = summary["beforeCount"] - summary["afterCount"]
        click.echo(f"Entries: {summary['beforeCount']} -> {summary['afterCount']} (remove {removed})")
        click.echo(f"Would prune missing transcripts: {summary['missing']}")
        click.echo(f"Would prune stale: {summary['pruned']}")
        click.echo(f"Would cap overflow: {summary['capped']}")
        budget = summary["diskBudget"]
        if budget:
            click.echo(f"Would enforce disk budget: {budget['totalBytesBefore']} -> {budget['totalBytesAfter']} "
                       f"bytes (files {budget['removedFiles']}, entries {budget['removedEntries']})")
        _print_policy_counts(summary)
        rows = done.rows or []
        if not rows:
            continue
        click.echo("")
        click.echo("Planned session actions:")
        click.echo(" ".join([pad_end("Action", ACTION_PAD), pad_end("Key", KEY_PAD), pad_end("Age", AGE_PAD),
                             pad_end("Model", MODEL_PAD), "Flags"]))
        now = int(time.time() * 1000)
        actions = done.report.actions
        for row in rows:
            line = " ".join([
                pad_end(actions.get(row["key"], "keep"), ACTION_PAD),
                pad_end(truncate_key(row["key"]), KEY_PAD),
                pad_end(age_cell(row["updatedAt"], now), AGE_PAD),
                pad_end(display_model(config, row), MODEL_PAD),
                flags_cell(row),
            ])
            click.echo(js_trim_end(line))


# --- the reference's table cells ------------------------------------------------------------

def _js_round(x: float) -> int:
    return int(math.floor(x + 0.5))


def format_time_ago(duration_ms: float | None) -> str:
    """``formatTimeAgo``: just now, 5m ago, 3h ago (under 48 h), 2d ago; unknown otherwise."""
    if duration_ms is None or not math.isfinite(duration_ms) or duration_ms < 0:
        return "unknown"
    seconds = _js_round(duration_ms / 1000)
    minutes = _js_round(seconds / 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes}m ago"
    hours = _js_round(minutes / 60)
    if hours < 48:
        return f"{hours}h ago"
    return f"{_js_round(hours / 24)}d ago"


def age_cell(updated_at: Any, now_ms: int) -> str:
    from openclaw_core.js.values import to_number as js_to_number

    if not truthy(updated_at):
        return "unknown"
    return format_time_ago(now_ms - js_to_number(updated_at))


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


def pad_end(text: str, width: int) -> str:
    """``String.prototype.padEnd``: widths count UTF-16 code units, as in JavaScript."""
    return text + " " * max(0, width - len(_utf16(text)) // 2)


def truncate_key(key: str) -> str:
    """Keys longer than 26 UTF-16 units: the first 16 units, ``...``, the last 6 (a
    surrogate pair cut in half prints as U+FFFD, as the reference's output does)."""
    units = _utf16(key)
    if len(units) // 2 <= KEY_PAD:
        return key
    return units[:32].decode("utf-16-le", "replace") + "..." + units[-12:].decode("utf-16-le", "replace")


def flags_cell(row: Mapping[str, Any]) -> str:
    parts = []
    for field_name, label in (("thinkingLevel", "think"), ("verboseLevel", "verbose"), ("traceLevel", "trace"),
                              ("reasoningLevel", "reasoning"), ("elevatedLevel", "elev"),
                              ("responseUsage", "usage"), ("groupActivation", "activation")):
        if truthy(row.get(field_name)):
            parts.append(f"{label}:{to_string(row[field_name])}")
    if truthy(row.get("systemSent")):
        parts.append("system")
    if truthy(row.get("abortedLastRun")):
        parts.append("aborted")
    if truthy(row.get("sessionId")):
        parts.append(f"id:{to_string(row['sessionId'])}")
    return " ".join(parts)


def display_model(config: Any, row: Mapping[str, Any]) -> str:
    """The model column: the entry's override, else its model, else the agent's default."""
    key = row["key"]
    agent_id = key.split(":")[1] if key.startswith("agent:") else None
    primary = None
    if agent_id is not None:
        for agent in config.agents_list():
            if agent.get("id") == agent_id:
                primary = primary_ref(agent.get("model"))
                break
    primary = primary or primary_ref(config.get("agents.defaults.model")) or DEFAULT_MODEL
    default_provider, default_model = parse_model_ref(primary, DEFAULT_PROVIDER)
    provider_override = _stripped(row.get("providerOverride"))
    model_override = _stripped(row.get("modelOverride"))
    if provider_override and model_override:
        prefix = provider_override.lower() + "/"
        if model_override.lower().startswith(prefix):
            model_override = js_trim(model_override[len(provider_override) + 1:]) or model_override
    if model_override:
        return parse_model_ref(model_override, provider_override or default_provider)[1]
    model = row.get("model")
    if isinstance(model, str) and model:
        provider = row.get("modelProvider")
        return parse_model_ref(model, provider if isinstance(provider, str) else default_provider)[1]
    return default_model


def _stripped(value: Any) -> str | None:
    return js_trim(value) if isinstance(value, str) else None
