#!/usr/bin/env python3
"""``openclaw sessions cleanup`` with the stores on SQLite, for the reference case
runner (``run_cases.py --check --cli "<python> tests/sqlite_cleanup_cli.py"``).

Like tests/pg_cleanup_cli.py: around the real command it

1. writes the case's config plus ``session.backend = "sqlite"`` outside the
   state dir and points ``OPENCLAW_CONFIG_PATH`` at it;
2. moves every store file into its SQLite database as ``openclaw store
   migrate --to sqlite`` does (in this process, as there);
3. runs ``openclaw sessions cleanup ARGS`` on SQLite, as a real subprocess
   (its output and exit status are the result);
4. puts each store back where the runner looks: the original file when the
   database holds the same bytes or the run was a dry run (the file store
   would not have written), else what ``openclaw store migrate --to file``
   writes (what the file store would have written); then removes the
   database files, so the state dir holds what the file store would have left.

Any other command is passed to ``openclaw`` unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg_cleanup_cli import OPENCLAW, RETIRED, export, migrate, openclaw, store_paths  # noqa: E402

SIDE_FILES = ("", "-wal", "-shm", "-journal")


def main(argv: list[str]) -> int:
    if argv[:2] != ["sessions", "cleanup"]:
        os.execv(OPENCLAW, [OPENCLAW, *argv])
    from oc import load_config

    state = Path(os.environ["OPENCLAW_STATE_DIR"])
    config = load_config(validate=False)
    candidates = store_paths(config, state, argv)
    data = config.data
    session = dict(data.get("session") or {})
    session["backend"] = "sqlite"
    data = {**data, "session": session}
    with tempfile.TemporaryDirectory(prefix="sqlite-cleanup-cli.") as tmp:
        config_path = Path(tmp) / "openclaw.json"
        config_path.write_text(json.dumps(data))
        env = dict(os.environ, OPENCLAW_CONFIG_PATH=str(config_path))
        stores = sorted(path for path in candidates if path.is_file())
        originals = {store: store.read_bytes() for store in stores}
        for store in stores:
            migrate(store, "file", "sqlite", env)
        result = openclaw("sessions", "cleanup", *argv[2:], env=env, check=False)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        dry_run = "--dry-run" in argv
        for path in sorted({*candidates, *(d / "sessions.json" for d in state.glob("agents/*/sessions/"))}):
            _restore(path, originals.get(path), dry_run, env)
    return result.returncode


def _database(path: Path) -> Path:
    return path.with_name(path.name[:-5] + ".sqlite") if path.name.endswith(".json") else Path(f"{path}.sqlite")


def _restore(path: Path, original: bytes | None, dry_run: bool, env: dict[str, str]) -> None:
    database = _database(path)
    if not database.exists():
        return
    exported = export(path, env)
    backup = path.with_name(path.name + RETIRED)
    if original is not None and (dry_run or exported == original):
        os.replace(backup, path)  # unchanged: the file store would not have written it
    elif exported is not None:
        migrate(path, "sqlite", "file", env, force=True)
        backup.unlink(missing_ok=True)
    for suffix in SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{database}{suffix}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
