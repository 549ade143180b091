"""Helpers shared by the fault suites (crash, races, fuzz): a state dir with a
1,000-entry store whose maintenance removes nothing, strict store checks, temp
file listing and the RSS of a process."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

STORE_ENTRIES = 1000
TEMP_NAME = re.compile(r"sessions\.json\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp")
# Maintenance that keeps every entry: the fault suites check what writers did,
# not what retention removed (the race suite turns pruning on for its cleanup).
KEEP_ALL = {"mode": "enforce", "maxEntries": 100_000, "pruneAfter": "3650d"}


def base_key(i: int) -> str:
    return f"agent:main:telegram:direct:{i:04d}"


def make_state(root: Path, *, entries: int = STORE_ENTRIES, maintenance: dict[str, Any] | None = None) -> Path:
    """``root/state`` with ``openclaw.json`` and a store of ``entries`` fresh entries
    (~1.6 KB each, the reference's exact format); returns the store path."""
    from openclaw_core.js.json import stringify

    state = root / "state"
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    store.parent.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(json.dumps({"session": {"maintenance": maintenance or KEEP_ALL}}))
    now = int(time.time() * 1000)
    data = {}
    for i in range(entries):
        data[base_key(i)] = {
            "sessionId": f"{i:08x}-0000-4000-8000-000000000000",
            "updatedAt": now - i,
            "chatType": "direct",
            "channel": "telegram",
            "lastTo": str(10_000_000 + i),
            "model": "gpt-5.5",
            "modelProvider": "openai",
            "skillsSnapshot": {"prompt": "x" * 1200, "skills": [f"skill-{n}" for n in range(6)]},
        }
    store.write_bytes(stringify(data).encode())
    return store


def strict_load(store: Path) -> dict[str, Any]:
    """The store's entries; fails unless it parses with the core's strict loader
    and is byte for byte a text the writer produces (never a mix of two)."""
    from openclaw_core.engine.store.state import StoreState

    raw = store.read_bytes()
    state = StoreState.parse(raw, source=str(store))
    assert state.text() == raw, f"{store} is not a complete text of the writer ({len(raw)} bytes)"
    return state.snapshot()


def temp_files(store: Path) -> set[str]:
    return {name for name in os.listdir(store.parent) if TEMP_NAME.fullmatch(name)}


def rss_bytes(pid: int) -> int:
    """Resident set size of a live process (Linux /proc)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def free_port() -> int:
    from ports import free_port as worker_port  # no collisions between xdist workers

    return worker_port()
