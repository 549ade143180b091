"""``openclaw sessions`` / ``openclaw sessions list``: list the stored sessions,
newest first, as text or JSON (spec section 9).

Stores are read through their writer (a read of the cached store, never a
write). Unlike the reference, a store that does not parse is an error naming
the file, not an empty listing (docs/differences.md).
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import click

from openclaw_core.adapters.cli.session_options import inherited, list_options, target_options
from openclaw_core.adapters.cli.usage import OpenClawCommand
from openclaw_core.base.errors import UsageError
from openclaw_core.adapters.cli.context import hooks_of


def parse_active(value: str | None) -> int | float | None:
    """``--active``: ``parseInt`` semantics (``"1.9"`` is 1, ``" 60"`` is 60), must be > 0."""
    if value is None:
        return None
    from openclaw_core.js.values import parse_int

    parsed = parse_int(value)
    if parsed != parsed or parsed <= 0:
        raise UsageError("--active must be a positive integer (minutes)")
    return int(parsed) if math.isfinite(parsed) else parsed


def parse_limit(value: str | None) -> int | None:
    """``--limit``: digits only (``007`` is 7) and > 0, or ``all`` (None); default 100."""
    from openclaw_core.js.values import js_trim
    from openclaw_core.services.listing import DEFAULT_LIMIT

    if value is None:
        return DEFAULT_LIMIT
    text = js_trim(value)
    if text.lower() == "all":
        return None
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise UsageError('--limit must be a positive integer or "all"')
    return int(text)


def run_list(*, store: str | None = None, agent: str | None = None, all_agents: bool | None = None,
             as_json: bool | None = None, active: str | None = None, limit: str | None = None,
             verbose: bool | None = None) -> None:
    """List sessions; validation errors are :class:`UsageError` (exit 1), in the
    reference's order: store targets, then ``--active``, then ``--limit``."""
    from openclaw_core.adapters.cli import output
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.config.targets import resolve_targets

    if verbose:
        output.set_verbose()  # the reference's --verbose: verbose logging, i.e. our -v
    config = load_config()
    all_agents = all_agents is True
    targets = resolve_targets(config, store=store, agent=agent, all_agents=all_agents)
    active_minutes = parse_active(active)
    limit_value = parse_limit(limit)

    from openclaw_core.engine.store.chunks import gc_paused

    with gc_paused():  # rows and the document hold no cycles; a big store's would be walked again and again
        _print_listing(config, targets, all_agents, active_minutes, limit_value, as_json)


def _print_listing(config: Any, targets: list[Any], all_agents: bool, active_minutes: int | float | None,
                   limit_value: int | None, as_json: bool | None) -> None:
    from openclaw_core.services import listing as lst
    from openclaw_core.services import listing_json as lstj
    from openclaw_core.adapters.cli import output
    from openclaw_core.adapters.cli import progress

    show_progress = progress.enabled(as_json=bool(as_json))
    ctx = lst.ListingContext(config)
    json_ctx = ctx if as_json else None
    rows: list[lst.SessionRow] = []
    total = 0
    indexed = False
    for target in targets:
        started = time.perf_counter()
        with progress.reading(str(target.path), show=show_progress):
            newest = _read_newest(str(target.path), config, target.agent_id, active_minutes, limit_value)
            if newest is not None:
                indexed = True
                found, count = newest
            else:
                found = _read_rows(str(target.path), config, target.agent_id, active_minutes, json_ctx)
                count = len(found)
        output.detail(f"read {target.path} (agent {target.agent_id}): {count} sessions"
                      f"{' in the --active window' if active_minutes else ''}"
                      f"{f', the first {len(found)} from its index' if newest is not None else ''}, "
                      f"{(time.perf_counter() - started) * 1000:.0f} ms")
        rows.extend(found)
        total += count
    if indexed and any(math.isnan(row.sort_value) for row in rows):
        # NaN makes the reference's order depend on every row: read every store whole.
        rows = [row for t in targets for row in _read_rows(str(t.path), config, t.agent_id, active_minutes, json_ctx)]
    now = lst.now_ms()
    result = lstj.Listing(
        targets=[(t.agent_id, str(t.path)) for t in targets],
        aggregate=all_agents or len(targets) > 1,
        all_agents=all_agents,
        rows=lst.select_newest(rows, limit_value),
        total_count=total,
        limit=limit_value,
        active_minutes=active_minutes,
    )
    if as_json:
        click.echo(lstj.listing_bytes(ctx, result) + b"\n", nl=False)
    else:
        from openclaw_core.js.values import replace_lone_surrogates
        from openclaw_core.adapters.cli.listing_text import listing_lines

        # Node writes a lone surrogate (a key cut inside a pair) as U+FFFD.
        lines = [replace_lone_surrogates(line) for line in listing_lines(ctx, result, now)]
        if output.color_enabled(sys.stdout):
            lines = _painted(lines, has_table=bool(result.rows))
        text = "".join(line + "\n" for line in lines)
        click.echo(text.encode("utf-8"), nl=False)


HEADER_LINES = ("Session store", "Sessions listed:", "Filtered to last ")


def _painted(lines: list[str], *, has_table: bool) -> list[str]:
    """On a terminal, as the reference: the header lines in the info colour, the
    table's heading bold (rows stay plain: they are the data)."""
    from openclaw_core.adapters.cli.output import paint

    count = 0
    while count < len(lines) and lines[count].startswith(HEADER_LINES):
        count += 1
    painted = [paint(line, "info", True) for line in lines[:count]]
    rest = lines[count:]
    if has_table and rest:
        rest = [paint(rest[0], "heading", True), *rest[1:]]
    return painted + rest


def _writer(path: str, config: Any) -> Any:
    from openclaw_core.engine.store.writer import configure_writers, get_writer

    previous = configure_writers(watch=False)
    try:
        return get_writer(path, config, hooks_of())
    finally:
        configure_writers(**previous)


def _read_newest(path: str, config: Any, agent_id: str, active_minutes: int | float | None,
                 limit: int | None) -> tuple[list[Any], int] | None:
    """With ``--limit``, the first rows of one store and its count from the
    backend's index, without loading the store; None when it has none (the
    file store) or the store is cached (see StoreWriter.newest)."""
    from openclaw_core.services import listing as lst

    if limit is None:
        return None
    now = lst.now_ms()
    newest = _writer(path, config).newest(limit, active_minutes, now)
    if newest is None:
        return None
    pairs, total = newest
    return lst.rows_of_store(pairs, agent_id, active_minutes, now), total


def _read_rows(path: str, config: Any, agent_id: str, active_minutes: int | float | None,
               json_ctx: Any = None) -> list[Any]:
    """The rows of one store, read through its writer: the cached store if it
    is current, else one load. A missing store has no rows; a corrupt one
    raises :class:`~openclaw_core.base.errors.StoreCorruptError`. Nothing is
    written, and no watcher is started (it would create a missing store's
    directory and is of no use to a one-shot command). With ``json_ctx`` (the
    listing's context, for ``--json``) each row is built in its JSON form."""
    from openclaw_core.services import listing as lst
    from openclaw_core.services import listing_json as lstj
    from openclaw_core.engine.store.writer import configure_writers, get_writer

    previous = configure_writers(watch=False)
    try:
        writer = get_writer(path, config, hooks_of())
    finally:
        configure_writers(**previous)
    # Rows copy what they need: nothing keeps a reference to the cached entries.
    if json_ctx is not None:
        return writer.read_once(lambda entries: lstj.json_rows_of_store(json_ctx, entries.items(), agent_id,
                                                                        active_minutes, lst.now_ms()),
                                lstj.as_parsed)
    return writer.read_once(lambda entries: lst.rows_of_store(entries.items(), agent_id, active_minutes, lst.now_ms()),
                            lst.normalize_listed_fields)


@click.command("list", cls=OpenClawCommand, examples=[
    ("openclaw sessions list --limit all", "Every session of the default agent."),
    ("openclaw sessions list --all-agents --json", "Every agent's, as JSON."),
])
@target_options
@list_options
@click.pass_context
def list_sessions(ctx: click.Context, **options: Any) -> None:
    """List sessions, newest first (the same as `openclaw sessions`)."""
    run_list(**inherited(ctx, **options))
