#!/usr/bin/env python3
"""The framework floor: bench/floors.py's naive cleanup and the orjson listing
floor, run as a click command with a pluggy hook asked for every entry, as the
design card's tool must run them. What this costs over the naive floor is what
click, pluggy and a per-entry plugin decision cost; what ours costs over this is
ours alone (bench/bench_file_floor.py measures all three in one run).

    python bench/floor_framework.py sessions cleanup --enforce --store PATH --json
        Parse the whole store, drop the entries not updated for 30 days and keep
        the 500 newest (session.maintenance.maxEntries of the state dir's
        openclaw.json), except those the hook protects (two implementations: a
        plugin's label rule, then the built-in rule's key and chatType tests),
        which take their slots; write it back atomically; print the counts.

    python bench/floor_framework.py sessions --store PATH
        Parse the whole store and print its keys, newest first.

No validation, no normalisation, no exact text, no archiving: a floor.
"""

from __future__ import annotations

import json
import time

import click
import pluggy

from floors import DAY_MS, atomic_write, configured_max_entries

spec = pluggy.HookspecMarker("floor")
impl = pluggy.HookimplMarker("floor")
PROTECTED_CHAT_TYPES = frozenset({"group", "channel", "thread"})


class Specs:
    @spec(firstresult=True)
    def entry_protected(self, key, entry):
        """True to keep an entry however old; None: no opinion."""


class BuiltinRule:
    @impl(trylast=True)
    def entry_protected(self, key, entry):
        if ":group:" in key or ":channel:" in key or ":thread:" in key:
            return True
        chat_type = entry.get("chatType")
        if chat_type is None and isinstance(entry.get("origin"), dict):
            chat_type = entry["origin"].get("chatType")
        return chat_type in PROTECTED_CHAT_TYPES


class PinsPlugin:
    @impl
    def entry_protected(self, key, entry):
        label = entry.get("label")
        return True if isinstance(label, str) and label.startswith("pin:") else None


def plugins() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("floor")
    pm.add_hookspecs(Specs)
    pm.register(BuiltinRule())
    pm.register(PinsPlugin())
    return pm


def load(store: str) -> dict:
    import orjson

    with open(store, "rb") as f:
        return orjson.loads(f.read())


@click.group(invoke_without_command=True)
@click.option("--store", type=click.Path(dir_okay=False))
@click.pass_context
def sessions(ctx: click.Context, store: str | None) -> None:
    if ctx.invoked_subcommand is None:
        if store is None:
            raise click.UsageError("the listing needs --store PATH")
        data = load(store)
        click.echo("\n".join(sorted(data, key=lambda k: -(data[k].get("updatedAt") or 0))))


@sessions.command()
@click.option("--enforce", is_flag=True)
@click.option("--store", type=click.Path(dir_okay=False), required=True)
@click.option("--json", "as_json", is_flag=True)
def cleanup(enforce: bool, store: str, as_json: bool) -> None:
    import orjson

    protected = plugins().hook.entry_protected
    max_entries = configured_max_entries()
    data = load(store)
    before = len(data)
    cutoff = int(time.time() * 1000) - 30 * DAY_MS
    kept = {k for k, v in data.items() if protected(key=k, entry=v)}
    fresh = [k for k, v in data.items() if k not in kept and (v.get("updatedAt") or 0) >= cutoff]
    fresh.sort(key=lambda k: data[k].get("updatedAt") or 0, reverse=True)
    kept.update(fresh[:max(0, max_entries - len(kept))])
    atomic_write(store, orjson.dumps({k: v for k, v in data.items() if k in kept}, option=orjson.OPT_INDENT_2))
    click.echo(json.dumps({"beforeCount": before, "afterCount": len(kept)}))


@click.group()
def cli() -> None:
    pass


cli.add_command(sessions)

if __name__ == "__main__":
    cli()
