"""Built-in plugin: session stores in PostgreSQL (``session.backend = "postgres"``).

One row per session entry, a version counter per store, every commit one
transaction under the store's advisory lock, LISTEN/NOTIFY to tell every
process's writer about commits made elsewhere. For operators who run several
Gateways on several hosts against one database; see docs/scaling-out.md.

psycopg is imported when a store is opened, not when the CLI starts.
"""

from __future__ import annotations

from openclaw_core import hookimpl

BACKEND_NAME = "postgres"
SETTINGS_KEYS = ("dsn", "schema")


@hookimpl
def openclaw_config_sections():
    from openclaw_core.config.schema import ConfigSection

    return {"session.postgres": ConfigSection(SETTINGS_KEYS, _validate_section)}


def _validate_section(section, prefix):
    # Every command declares the sections; the settings module is read only
    # when a config has a [session.postgres] table to check.
    from openclaw_store_postgres.settings import validate_section

    return validate_section(section, prefix)


@hookimpl(trylast=True)
def openclaw_store_backend(name, store_path, config, hooks):
    if name != BACKEND_NAME:
        return None
    from openclaw_store_postgres.backend import PostgresStoreBackend

    return PostgresStoreBackend(store_path, config, hooks)
