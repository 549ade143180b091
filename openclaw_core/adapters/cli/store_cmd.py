"""``openclaw store migrate``: move stores from one backend to another.

Works for any pair of installed backends (``session.backend`` names): the
source's ``sessions.json`` bytes are exported under the source's lock,
imported into the destination in one commit, read back and compared byte
for byte, and only then is the source retired (the file store keeps its file
as ``sessions.json.migrated``; the SQLite and PostgreSQL stores delete their
rows). Big stores report each step on stderr when it is a terminal (not with
``--json`` or ``-q``: :mod:`openclaw_core.adapters.cli.progress`). Stop
every Gateway first, and point ``session.backend`` at the destination before
starting them again.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import click

from openclaw_core.adapters.cli import complete
from openclaw_core.adapters.cli.usage import OpenClawGroup

from openclaw_core.base.errors import OpenClawError, UsageError
from openclaw_core.adapters.cli.context import hooks_of


class MigrationError(OpenClawError):
    """A store could not be moved; the source was left in service."""


def config_for_backend(config: Any, name: str) -> Any:
    """The same config with ``session.backend`` set to ``name``."""
    data = copy.deepcopy(config.data)
    session = data.get("session") if isinstance(data.get("session"), dict) else {}
    data["session"] = {**session, "backend": name}
    return config.replace(data=data)


#: stores at least this big report each step on stderr (when it is a terminal)
PROGRESS_BYTES = 1 << 20


def migrate_store(path: Any, source: Any, destination: Any, *, force: bool,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Move one store; returns its summary row. Raises MigrationError and leaves
    the source in service when anything does not match. ``progress`` hears
    each step of a big store."""
    from openclaw_core.engine.store.state import StoreState

    def step(text: str) -> None:
        if progress is not None and len(data) >= PROGRESS_BYTES:
            progress(f"{path}: {text}")

    with source.exclusive(60.0):  # nobody commits to the source while it is copied
        current = source.load()
        if not current.exists:
            return {"status": "missing", "entries": 0, "bytes": 0, "kept": None}
        data = current.text()
        step(f"read {len(current.entries)} entries ({len(data)} bytes) from {source.name}; "
             f"writing them to {destination.name}")
        existing = destination.load()
        if existing.exists and existing.text() != data and existing.entries and not force:
            raise MigrationError(f"{path}: the {destination.name} store already holds {len(existing.entries)} "
                                 f"entries that differ; pass --force to replace them")
        destination.import_bytes(data)
        step(f"reading the {destination.name} copy back to compare")
        copied = destination.export_bytes()
        if copied != data:
            raise MigrationError(f"{path}: the copy on {destination.name} reads back differently "
                                 f"({len(copied)} bytes, expected {len(data)}); the {source.name} store is "
                                 f"still in service")
        step(f"identical; retiring the {source.name} copy")
        kept = source.retire()
    return {"status": "moved", "entries": len(StoreState.parse(data, source=str(path)).entries),
            "bytes": len(data), "kept": kept}


@click.group(cls=OpenClawGroup, examples=[
    ("openclaw store migrate --to postgres --all-agents", "Every agent's store into PostgreSQL."),
])
def store() -> None:
    """Where session stores live (session.backend): move them between backends."""


@store.command("migrate", examples=[
    ("openclaw store migrate --to postgres --all-agents", "Every agent's store into PostgreSQL."),
    ("openclaw store migrate --from postgres --to file --agent work", "One store back to its file."),
    ("openclaw store migrate --to sqlite --all-agents", "Every agent's store into its own SQLite database."),
])
@click.option("--to", "target", required=True, metavar="BACKEND", help='Destination backend ("file", "sqlite", "postgres").')
@click.option("--from", "origin", metavar="BACKEND", help="Source backend (default: the configured session.backend).")
@click.option("--store", "store_path", metavar="PATH", help="One store file path ({agentId} and ~ expanded).",
              shell_complete=complete.store_paths)
@click.option("--agent", metavar="ID", help="One configured agent's store.", shell_complete=complete.agent_ids)
@click.option("--all-agents", is_flag=True, help="Every configured agent's store.")
@click.option("--force", is_flag=True, help="Replace a different store already at the destination.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def migrate(target: str, origin: str | None, store_path: str | None, agent: str | None, all_agents: bool,
            force: bool, as_json: bool) -> None:
    """Move session stores to another backend, byte for byte.

    Stop every Gateway first. The source is retired only after the copy reads
    back identical; then set session.backend to the destination.
    """
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.engine.store.backend import open_backend
    from openclaw_core.config.targets import resolve_targets

    config = load_config()
    origin = origin or config.session_backend
    if origin == target:
        raise UsageError(f'--from and --to are both "{target}": nothing to move '
                         f'(session.backend is "{config.session_backend}"; give --from)')
    targets = resolve_targets(config, store=store_path, agent=agent, all_agents=all_agents)
    source_config = config_for_backend(config, origin)
    destination_config = config_for_backend(config, target)
    rows: list[dict[str, Any]] = []
    from openclaw_core.adapters.cli import progress as progress_rule

    progress = (lambda text: click.echo(text, err=True)) if progress_rule.enabled(as_json=as_json) else None
    for store_target in targets:
        source = open_backend(store_target.path, source_config, hooks_of())
        try:
            destination = open_backend(store_target.path, destination_config, hooks_of())
            try:
                row = migrate_store(store_target.path, source, destination, force=force, progress=progress)
            finally:
                destination.close()
        finally:
            source.close()
        rows.append({"agentId": store_target.agent_id, "storePath": str(store_target.path), **row})
    if as_json:
        click.echo(json.dumps({"from": origin, "to": target, "stores": rows}, indent=2))
        return
    for row in rows:
        if row["status"] == "missing":
            click.echo(f'{row["storePath"]}: no store on {origin}, nothing to move')
            continue
        kept = f'; the old copy is {row["kept"]}' if row["kept"] else ""
        click.echo(f'{row["storePath"]}: moved {row["entries"]} entries ({row["bytes"]} bytes) '
                   f'from {origin} to {target}{kept}')
    if config.session_backend != target:
        click.echo(f'Set session.backend = "{target}" in {config.path} before starting a Gateway.')
