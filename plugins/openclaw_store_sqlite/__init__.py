"""Built-in plugin: session stores in an embedded SQLite database
(``session.backend = "sqlite"``).

One database per store, beside the store's transcripts: ``sessions.json``'s
store lives in ``sessions.sqlite`` (a store path ``X.json`` uses
``X.sqlite``), so copying a state dir copies its stores. One row per entry
holding its exact text and position, a version counter, every commit one
``BEGIN IMMEDIATE`` transaction in WAL mode with ``synchronous=FULL``. For a
big store on one host without a database server; see docs/scaling-out.md.
"""

from __future__ import annotations

from openclaw_core import hookimpl

BACKEND_NAME = "sqlite"


@hookimpl(trylast=True)
def openclaw_store_backend(name, store_path, config, hooks):
    if name != BACKEND_NAME:
        return None
    from openclaw_store_sqlite.backend import SqliteStoreBackend

    return SqliteStoreBackend(store_path, config, hooks)
