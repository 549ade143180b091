"""Build a demo state dir: two agents, a few hundred sessions of every kind,
transcripts, old archives and a config, so the commands have something real
to work on.

    python -m openclaw_core.adapters.demo DIR [--sessions 300] [--force]

The dir gets a marker file (``.openclaw-demo``): ``--force`` replaces only a
dir that carries it, never anything else (a real ``~/.openclaw`` included).
Its config names a Gateway port of its own (free when built), so the demo's
commands never reach a Gateway of the user's.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

DAY_MS = 86_400_000
MARKER = ".openclaw-demo"
MARKER_TEXT = "made by python -m openclaw_core.adapters.demo; --force may replace this dir\n"

CONFIG = """\
# openclaw-core demo config (same keys as OpenClaw's openclaw.json)
[[agents.list]]
id = "main"
default = true

[[agents.list]]
id = "work"

[session.maintenance]
mode = "warn"          # `sessions cleanup --enforce` applies; plain runs only report
pruneAfter = "30d"
maxEntries = 250
maxDiskBytes = "2mb"

[gateway]
port = {port}          # the demo's own port: its commands never reach another Gateway
"""


def _key(agent: str, i: int, rng: random.Random) -> tuple[str, dict]:
    kind = rng.choice(["direct", "direct", "direct", "group", "channel", "thread", "cron", "subagent", "hook"])
    extra: dict = {}
    if kind == "direct":
        key = f"agent:{agent}:telegram:direct:{1000 + i}"
    elif kind == "group":
        key = f"agent:{agent}:telegram:group:-100{i}"
        extra["chatType"] = "group"
    elif kind == "channel":
        key = f"agent:{agent}:discord:channel:{i}"
    elif kind == "thread":
        key = f"agent:{agent}:slack:direct:u{i}:thread:17000{i}.0001"
    elif kind == "cron":
        key = f"agent:{agent}:cron:nightly:run:{i}"
    elif kind == "subagent":
        key = f"agent:{agent}:subagent:{i:08x}"
    else:
        key = f"agent:{agent}:hook:{i:08x}"
    return key, extra


def _archive_ts(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H-%M-%S.") + f"{ms % 1000:03d}Z"


def build(root: Path, sessions: int = 300, seed: int = 2026) -> None:
    from openclaw_core.js.json import stringify

    rng = random.Random(seed)
    now = int(time.time() * 1000)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    (root / "openclaw.toml").write_text(CONFIG.replace("{port}", str(_free_port())), encoding="utf-8")
    for agent, count in (("main", sessions * 2 // 3), ("work", sessions - sessions * 2 // 3)):
        sessions_dir = root / "agents" / agent / "sessions"
        sessions_dir.mkdir(parents=True, exist_ok=True)
        store = {}
        for i in range(count):
            key, extra = _key(agent, i, rng)
            session_id = f"{agent[:1]}{i:07x}-0000-4000-8000-{rng.getrandbits(48):012x}"
            age = rng.randrange(0, 75 * DAY_MS)
            entry = {"sessionId": session_id, "updatedAt": now - age, **extra,
                     "model": rng.choice(["gpt-5.5", "claude-opus-4", "gemini-3"]),
                     "totalTokens": rng.randrange(1, 150_000)}
            store[key] = entry
            if rng.random() < 0.9:  # a few transcripts are missing (see --fix-missing)
                transcript = sessions_dir / f"{session_id}.jsonl"
                transcript.write_text('{"type":"session"}\n' + "x" * rng.randrange(200, 4000) + "\n")
                os.utime(transcript, ns=((now - age) * 1_000_000,) * 2)
        for n in range(6):  # archives from earlier cleanups, some past retention
            ms = now - rng.randrange(1, 60) * DAY_MS
            (sessions_dir / f"old{n}.jsonl.deleted.{_archive_ts(ms)}").write_text("archived\n" * 50)
        (sessions_dir / "sessions.json").write_text(stringify(store), encoding="utf-8")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def made_by_demo(path: Path) -> bool:
    """A real dir (not a symlink) holding the demo's marker file."""
    marker = path / MARKER
    return path.is_dir() and not path.is_symlink() and marker.is_file() and not marker.is_symlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openclaw_core.adapters.demo", description="Build a demo state dir.")
    parser.add_argument("dir", type=Path)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--force", action="store_true", help="replace DIR if the demo made it (never any other dir)")
    args = parser.parse_args(argv)
    if args.dir.exists() or args.dir.is_symlink():
        if not args.force:
            print(f"{args.dir} exists (use --force to rebuild it)", file=sys.stderr)
            return 1
        if not made_by_demo(args.dir):
            print(f"refusing to replace {args.dir}: the demo did not make it (no {MARKER} marker in it); "
                  "remove it yourself or pick another dir", file=sys.stderr)
            return 1
        shutil.rmtree(args.dir)
    build(args.dir, args.sessions)
    print(f"demo state dir: {args.dir.resolve()}  ({args.sessions} sessions, agents main and work)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
