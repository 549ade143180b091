"""Where the database is: ``session.postgres`` in the config, or the environment.

``OPENCLAW_POSTGRES_DSN`` wins over ``session.postgres.dsn`` (keep passwords
out of the config file; libpq's own ``PGPASSWORD``/``~/.pgpass`` work too).
``session.postgres.schema`` (default ``openclaw``) holds the tables: one
schema per deployment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core.base.errors import ConfigError

if TYPE_CHECKING:
    from openclaw_core.config.model import Config

DSN_ENV = "OPENCLAW_POSTGRES_DSN"
DEFAULT_SCHEMA = "openclaw"
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class PostgresSettings:
    dsn: str
    schema: str

    @property
    def fingerprint(self) -> str:
        """Short stable id of the database (no secret in it) for registry keys."""
        import hashlib  # not at start-up: every command imports this module for its config section

        return hashlib.blake2b(f"{self.dsn}\0{self.schema}".encode(), digest_size=6).hexdigest()

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel of this schema's commits."""
        return f"{self.schema}_store_changes"


def validate_section(section: Mapping[str, Any], prefix: str) -> Iterator[str]:
    """Problems of ``session.postgres`` at load time (``dsn`` may also come from the environment)."""
    dsn = section.get("dsn")
    if dsn is not None and (not isinstance(dsn, str) or not dsn.strip()):
        yield f"{prefix}.dsn: expected a connection string such as \"postgresql://host/db\""
    schema = section.get("schema")
    if schema is not None and (not isinstance(schema, str) or not SCHEMA_NAME.fullmatch(schema)):
        yield f"{prefix}.schema: expected a lower-case SQL name (letters, digits, _; at most 40)"


def resolve_settings(config: Config) -> PostgresSettings:
    env_dsn = (config.env.get(DSN_ENV) or "").strip()
    dsn = env_dsn or config.get("session.postgres.dsn")
    if not isinstance(dsn, str) or not dsn.strip():
        raise ConfigError(f'session.backend "postgres" needs a database: set session.postgres.dsn or {DSN_ENV}')
    schema = config.get("session.postgres.schema", DEFAULT_SCHEMA)
    if not isinstance(schema, str) or not SCHEMA_NAME.fullmatch(schema):
        raise ConfigError("session.postgres.schema: expected a lower-case SQL name (letters, digits, _; at most 40)")
    return PostgresSettings(dsn.strip(), schema)


def store_name(store_path: str | os.PathLike[str], state_dir: Path) -> str:
    """The store's name in the database: its path relative to the state dir when
    it lies inside it (hosts may mount the state dir in different places), else
    the absolute path."""
    path = Path(os.path.abspath(store_path))
    try:
        return path.relative_to(os.path.abspath(state_dir)).as_posix()
    except ValueError:
        return path.as_posix()


# libpq settings unless the DSN says otherwise: never hang on a dead host
CONNECT_DEFAULTS = {"connect_timeout": "10", "keepalives": "1", "keepalives_idle": "30",
                    "keepalives_interval": "10", "keepalives_count": "3"}


def connect_options(dsn: str) -> dict[str, str]:
    """:data:`CONNECT_DEFAULTS` minus what the DSN sets itself."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        given = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - connect() reports a malformed DSN
        given = {}
    return {k: v for k, v in CONNECT_DEFAULTS.items() if k not in given}
