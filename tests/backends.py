"""Test helpers shared by the store backend tests: one store under test, on
either backend, with ways to seed it, read what is stored, corrupt it and
change it from another process."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import tomli_w

from openclaw_core.js.json import stringify


def write_config(state_dir: Path, data: dict[str, Any]) -> Path:
    path = state_dir / "openclaw.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def postgres_config(pg: dict[str, str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    session: dict[str, Any] = {"backend": "postgres", "postgres": {"dsn": pg["dsn"], "schema": pg["schema"]}}
    session.update(extra or {})
    return {"session": session}


def sqlite_config(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"session": {"backend": "sqlite", **(extra or {})}}


class StoreUnderTest:
    def __init__(self, kind: str, state_dir: Path, pg: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.state_dir = state_dir
        self.pg = pg
        self.path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
        self.db_path = self.path.with_suffix(".sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if pg is not None:
            write_config(state_dir, postgres_config(pg))
        if kind == "sqlite":
            write_config(state_dir, sqlite_config())

    def backend(self):
        """A backend of its own (its own connection), not the writer's."""
        from oc import load_config
        from oc import open_backend

        return open_backend(self.path, load_config())

    def seed(self, entries: dict[str, Any]) -> bytes:
        data = stringify(entries).encode()
        if self.kind == "file":
            self.path.write_bytes(data)
        else:
            backend = self.backend()
            try:
                backend.import_bytes(data)
            finally:
                backend.close()
        return data

    def stored(self) -> bytes | None:
        """What the store holds now, as sessions.json bytes (None: no store)."""
        if self.kind == "file":
            return self.path.read_bytes() if self.path.exists() else None
        backend = self.backend()
        try:
            state = backend.load()
            return state.text() if state.exists else None
        finally:
            backend.close()

    def raw_rows(self) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            import sqlite3

            with contextlib.closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as conn:
                return conn.execute("SELECT session_key, position, entry, version FROM entries "
                                    "ORDER BY position").fetchall()
        import psycopg

        with psycopg.connect(self.pg["dsn"]) as conn:
            return conn.execute(f'SELECT session_key, position, entry::text, version FROM "{self.pg["schema"]}".entries '
                                f"ORDER BY position").fetchall()

    def sql(self, statement: str, params: list[Any] | None = None) -> None:
        """Change rows by hand, as an operator would, bumping the store's version."""
        if self.kind == "sqlite":
            import sqlite3

            with contextlib.closing(sqlite3.connect(self.db_path)) as conn, conn:
                conn.execute(statement.replace("{s}.", ""), params or [])
                conn.execute("UPDATE store SET version = version + 1")
            return
        import psycopg

        with psycopg.connect(self.pg["dsn"]) as conn:
            conn.execute(statement.replace("{s}", f'"{self.pg["schema"]}"'), params or [])
            conn.execute(f'UPDATE "{self.pg["schema"]}".stores SET version = version + 1')

    def fingerprint(self) -> Any:
        return self.path.read_bytes() if self.kind == "file" else self.raw_rows()

    def corrupt(self) -> None:
        """Make the stored store unreadable in this backend's own way."""
        if self.kind == "file":
            self.path.write_bytes(b'{"agent:main:main": [1, 2]}')
        elif self.kind == "sqlite":
            self.sql("UPDATE {s}.entries SET entry = CAST('[1, 2]' AS BLOB) WHERE session_key = ?",
                     [b"agent:main:main"])
        else:
            self.sql("UPDATE {s}.entries SET entry = '[1, 2]'::json WHERE session_key = 'agent:main:main'")

    def run_elsewhere(self, code: str, timeout: float = 120) -> str:
        """Run Python in another process against this store (same state dir and config)."""
        script = "import sys\nPATH = sys.argv[1]\n" + textwrap.dedent(code)
        proc = subprocess.run([sys.executable, "-c", script, str(self.path)], capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout
