"""A real PostgreSQL server for tests and benchmarks: initdb in a temp dir,
``postgres`` on a free 127.0.0.1 port, stopped and removed at the end.

The server binaries come from ``OPENCLAW_PG_BINDIR``, else ``pg_config
--bindir``, else the newest ``/usr/lib/postgresql/*/bin`` (Debian's layout),
else ``PATH``; ``.ci/ensure-postgres.sh`` installs Debian's package when none
is found. PostgreSQL refuses to run as root, so as root the server runs as
the ``postgres`` user (created by the package), or ``nobody``.

Fixtures (imported by conftest.py):

``pg_server``
    the session's server (started on first use); tests skip with the reason
    when no server can be started.
``pg_store_config``
    a fresh schema on that server for one test: ``{"dsn": ..., "schema": ...}``,
    dropped afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SUPERUSER = "openclaw"
DATABASE = "openclaw"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (the message says why)."""


def find_bindir() -> Path:
    explicit = os.environ.get("OPENCLAW_PG_BINDIR")
    candidates: list[Path] = [Path(explicit)] if explicit else []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
            if out:
                candidates.append(Path(out))
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
                    if Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates += [Path(p) for p in debian]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(os.path.realpath(initdb)).parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; "
                              "run .ci/ensure-postgres.sh or set OPENCLAW_PG_BINDIR")


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailable("running as root and neither a 'postgres' nor a 'nobody' account exists")


def free_port() -> int:
    from ports import free_port as worker_port  # no collisions between xdist workers

    return worker_port()


class PostgresServer:
    """One throw-away cluster. ``start()`` / ``stop()``; ``dsn()`` to connect."""

    def __init__(self, *, fsync: bool = False, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.fsync = fsync
        self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="openclaw-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.started = False

    # -- running the server's tools as the right user ---------------------------------------

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        options: dict[str, Any] = {}
        if self.user is not None:
            options = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        env = {"PATH": f"{self.bindir}:/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC"}
        proc = subprocess.run([str(self.bindir / args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root, env=env, stdin=subprocess.DEVNULL, **options)
        return proc

    def start(self) -> PostgresServer:
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        proc = self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                         "--no-locale", "--no-sync")
        if proc.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
        settings = [
            "listen_addresses=127.0.0.1", f"unix_socket_directories={self.root}",
            f"fsync={'on' if self.fsync else 'off'}", "max_connections=200", "shared_buffers=128MB",
            "log_min_messages=warning", "max_wal_size=2GB",
        ]
        for attempt in range(5):
            self.port = free_port()
            options = " ".join(f"-c {s}" for s in settings + [f"port={self.port}"])
            proc = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                             "start")
            if proc.returncode == 0:
                self.started = True
                break
            if "could not bind" not in self._log_tail() or attempt == 4:  # a port race: try another
                raise PostgresUnavailable(f"postgres did not start: {self._log_tail() or proc.stderr.strip()}")
        self._createdb()
        return self

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace").strip()[-500:]
        return ""

    def _createdb(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def dsn(self, dbname: str = DATABASE) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={dbname} connect_timeout=10"

    def socket_dsn(self, dbname: str = DATABASE) -> str:
        """Through the Unix socket: reachable from a private network namespace too."""
        return f"host={self.root} port={self.port} user={SUPERUSER} dbname={dbname} connect_timeout=10"

    def stop(self) -> None:
        if self.started:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def new_schema_name() -> str:
    return "t_" + uuid.uuid4().hex[:16]


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error), psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# --- pytest fixtures -------------------------------------------------------------------------

_failure: str | None = None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    global _failure
    if _failure is not None:
        pytest.skip(_failure)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _failure = 'psycopg is not installed (pip install -e ".[test]")'
        pytest.skip(_failure)
    server = None
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        if server is not None:
            server.stop()
        _failure = f"no PostgreSQL server could be started: {exc}"
        pytest.skip(_failure)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_store_config(pg_server: PostgresServer) -> Iterator[dict[str, str]]:
    """A fresh schema for one test: ``{"dsn": ..., "schema": ...}``."""
    schema = new_schema_name()
    yield {"dsn": pg_server.dsn(), "schema": schema}
    from openclaw_core.engine.store.writer import close_writers

    close_writers()  # connections first, then the schema
    _close_listeners()
    started = time.monotonic()
    drop_schema(pg_server.dsn(), schema)
    assert time.monotonic() - started < 60


def _close_listeners() -> None:
    with contextlib.suppress(ImportError):
        from openclaw_store_postgres.listener import stop_all_listeners

        stop_all_listeners()
