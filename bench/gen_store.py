"""Deterministic synthetic stores for the benchmarks (~1.8 KB per entry:
a mix of direct chats, groups, cron runs and subagents, ages over 60 days)."""

from __future__ import annotations

import random
import time
from pathlib import Path

DAY_MS = 86_400_000


def make_entry(rng: random.Random, i: int, now: int, kind: str) -> dict:
    session_id = f"{i:08x}-{rng.getrandbits(16):04x}-4000-8000-{rng.getrandbits(48):012x}"
    entry = {
        "sessionId": session_id,
        "updatedAt": now - rng.randrange(0, 60 * DAY_MS),
        "sessionStartedAt": now - 61 * DAY_MS,
        "chatType": "group" if kind == "group" else "direct",
        "channel": "telegram",
        "lastChannel": "telegram",
        "lastTo": str(rng.randrange(10**9)),
        "deliveryContext": {"channel": "telegram", "to": "0"},
        "model": "gpt-5.5",
        "modelProvider": "openai",
        "inputTokens": rng.randrange(10**6),
        "outputTokens": rng.randrange(10**5),
        "totalTokens": rng.randrange(10**6),
        "contextTokens": 200000,
        "thinkingLevel": "low",
        "systemPromptReport": {"chars": rng.randrange(10**5), "sections": ["identity", "tools", "memory", "skills"]},
        "skillsSnapshot": {"prompt": "x" * 700, "skills": [{"name": f"skill-{n}", "primaryEnv": None} for n in range(6)]},
    }
    entry["deliveryContext"]["to"] = entry["lastTo"]
    return entry


def generate_store(path: Path, entries: int, *, seed: int = 1, now: int | None = None) -> list[str]:
    """Write a store of ``entries`` entries in the reference's format; return its keys."""
    from openclaw_core.js.json import stringify

    rng = random.Random(seed)
    now = int(time.time() * 1000) if now is None else now
    store = {}
    for i in range(entries):
        roll = i % 10
        if roll < 2:
            key, kind = f"agent:main:telegram:group:-100{i}", "group"
        elif roll == 2:
            key, kind = f"agent:main:cron:job{i % 7}:run:{i}", "cron"
        elif roll == 3:
            key, kind = f"agent:main:subagent:{i:08x}", "subagent"
        else:
            key, kind = f"agent:main:telegram:direct:{i}", "direct"
        store[key] = make_entry(rng, i, now, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stringify(store), encoding="utf-8")
    return list(store)
