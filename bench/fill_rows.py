#!/usr/bin/env python3
"""Fill a row backend (SQLite or PostgreSQL) from a generated file store without
``store migrate``: at 500,000 entries a migration holds three forms of the store
(~10 GB here) and takes many minutes. The rows are written through the backend's
own ``write`` in batches of new keys, as group commits of new sessions would
(the same rows and text a migration writes), then the file is retired as a
migration retires it. For benchmarks only: no read-back comparison.

    OPENCLAW_STATE_DIR=... python bench/fill_rows.py STORE.json

The state dir's config must already select the backend (``session.backend``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

BATCH = 25_000


def fill(store: Path) -> int:
    from openclaw_core.app import hooks, load_config
    from openclaw_core.engine.store.backend import open_backend
    from openclaw_core.engine.store.state import ChangeSet
    from openclaw_store_file.backend import FileStoreBackend

    config = load_config()
    if config.get("session.backend") in (None, "file"):
        raise SystemExit("fill_rows: the config selects the file store; set session.backend first")
    state = FileStoreBackend(store, config, hooks()).load_lazy()
    target = open_backend(str(store), config, hooks())
    keys = list(state.entries)
    try:
        version = target.version()
        with target.exclusive(600.0):
            for start in range(0, len(keys), BATCH):
                batch = keys[start:start + BATCH]
                changes = ChangeSet(upserted={k: state.chunks[k] for k in batch}, appended=dict.fromkeys(batch))
                version = target.write(state, changes, version)
    finally:
        target.close()
    os.replace(store, store.with_name(store.name + ".migrated"))
    return len(keys)


if __name__ == "__main__":
    print(f"filled {fill(Path(sys.argv[1]))} entries", flush=True)
