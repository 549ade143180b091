#!/usr/bin/env python3
"""``openclaw sessions cleanup`` with the stores on PostgreSQL, for the reference
case runner (``run_cases.py --check --cli "<python> tests/pg_cleanup_cli.py"``).

The runner builds a state dir with ``sessions.json`` files and compares the
files afterwards, so around the real command this wrapper:

1. writes the case's config plus ``session.backend = "postgres"`` (a schema of
   its own) outside the state dir and points ``OPENCLAW_CONFIG_PATH`` at it;
2. moves every store file (``agents/*/sessions/sessions.json``, each configured
   agent's ``session.store``, the ``--store`` given) into PostgreSQL as
   ``openclaw store migrate --to postgres`` does;
3. runs ``openclaw sessions cleanup ARGS`` against PostgreSQL, as a real
   subprocess (its output and exit status are the result);
4. puts each store back where the runner looks: the original file when the
   database holds the same bytes or the run was a dry run (the file store
   would not have written), else what ``openclaw store migrate --to file``
   writes (what the file store would have written);
5. drops the schema.

Steps 2 and 4 run the migrate command's own code (``migrate_store``) in this
process: the parity tests run hundreds of cases, and a Python start per store
and step doubled their time (``store migrate`` itself has its own tests).

Needs ``OPENCLAW_POSTGRES_DSN`` (a Unix-socket DSN works inside the runner's
network namespace). Any other command is passed to ``openclaw`` unchanged.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

OPENCLAW = str(Path(sys.executable).parent / "openclaw")
RETIRED = ".migrated"


def openclaw(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([OPENCLAW, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise SystemExit(f"pg_cleanup_cli: openclaw {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc


def migrate(path: Path, origin: str, target: str, env: dict[str, str], *, force: bool = False) -> None:
    """``openclaw store migrate --from ORIGIN --to TARGET --store PATH [--force]`` in
    this process: the command's config (validated), backends and ``migrate_store``."""
    from openclaw_core.adapters.cli.store_cmd import config_for_backend, migrate_store
    from oc import load_config
    from openclaw_core.base.errors import OpenClawError
    from oc import open_backend
    from openclaw_core.config.targets import resolve_targets

    told = io.StringIO()  # what the command would print on its stderr: shown only on failure
    try:
        with contextlib.redirect_stderr(told):
            config = load_config(env)
            [where] = resolve_targets(config, store=str(path))
            source = open_backend(where.path, config_for_backend(config, origin))
            try:
                destination = open_backend(where.path, config_for_backend(config, target))
                try:
                    migrate_store(where.path, source, destination, force=force)
                finally:
                    destination.close()
            finally:
                source.close()
    except OpenClawError as exc:
        raise SystemExit(f"pg_cleanup_cli: store migrate --from {origin} --to {target} --store {path} failed: "
                         f"{told.getvalue()}{exc}".strip()) from None


def export(path: Path, env: dict[str, str]) -> bytes | None:
    """The store's bytes on the configured backend (None: no store there)."""
    from oc import load_config
    from oc import open_backend

    backend = open_backend(path, load_config(env, validate=False))
    try:
        state = backend.load()
    finally:
        backend.close()
    return state.text() if state.exists else None


def main(argv: list[str]) -> int:
    if argv[:2] != ["sessions", "cleanup"]:
        os.execv(OPENCLAW, [OPENCLAW, *argv])
    from oc import load_config

    state = Path(os.environ["OPENCLAW_STATE_DIR"])
    if not os.environ.get("OPENCLAW_POSTGRES_DSN"):
        raise SystemExit("pg_cleanup_cli: set OPENCLAW_POSTGRES_DSN")
    schema = "rc_" + uuid.uuid4().hex[:12]
    config = load_config(validate=False)
    candidates = store_paths(config, state, argv)
    data = config.data
    session = dict(data.get("session") or {})
    session.update({"backend": "postgres", "postgres": {"schema": schema}})
    data = {**data, "session": session}
    with tempfile.TemporaryDirectory(prefix="pg-cleanup-cli.") as tmp:
        config_path = Path(tmp) / "openclaw.json"
        config_path.write_text(json.dumps(data))
        env = dict(os.environ, OPENCLAW_CONFIG_PATH=str(config_path))
        stores = sorted(path for path in candidates if path.is_file())
        originals = {store: store.read_bytes() for store in stores}
        for store in stores:
            migrate(store, "file", "postgres", env)
        try:
            result = openclaw("sessions", "cleanup", *argv[2:], env=env, check=False)
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
            dry_run = "--dry-run" in argv
            for path in sorted({*candidates, *(d / "sessions.json" for d in state.glob("agents/*/sessions/"))}):
                _restore(path, originals.get(path), dry_run, env)
        finally:
            _drop_schema(os.environ["OPENCLAW_POSTGRES_DSN"], schema)
    return result.returncode


def store_paths(config, state: Path, argv: list[str]) -> set[Path]:
    """Every store the command may touch."""
    from openclaw_core.config import paths

    found = set(state.glob("agents/*/sessions/sessions.json"))
    found |= {Path(config.store_path(agent)) for agent in config.agent_ids()}
    found.add(Path(config.store_path()))
    if "--store" in argv[:-1]:
        given = argv[argv.index("--store") + 1]
        found.add(Path(paths.resolve_store_path(given, config.default_agent_id(), config.state_dir, config.env)))
    return found


def _restore(path: Path, original: bytes | None, dry_run: bool, env: dict[str, str]) -> None:
    exported = export(path, env)
    backup = path.with_name(path.name + RETIRED)
    if original is not None and (dry_run or exported == original):
        os.replace(backup, path)  # unchanged: the file store would not have written it
    elif exported is not None:
        migrate(path, "postgres", "file", env, force=True)
        backup.unlink(missing_ok=True)


def _drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
