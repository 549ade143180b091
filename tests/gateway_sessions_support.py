"""The session read calls and the sessions.changed scenario recorded from the
real OpenClaw 2026.5.4 Gateway (tests/fixtures/gateway-sessions/), shared by the
recorder (tests/interop/gateway_sessions_run.py) and the tests: the state, the
calls, the mutations, and the normalisation of what a Gateway answered."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "gateway-sessions"
CASE = FIXTURES / "case.json"
REFERENCE = HERE.parent.parent / "shared" / "reference"
TOKEN = "oracle-test-token-0123456789"
QUIET_ENV = {"OPENCLAW_SKIP_CHANNELS": "1", "OPENCLAW_DISABLE_BONJOUR": "1", "OPENCLAW_SKIP_CRON": "1",
             "OPENCLAW_SKIP_GMAIL_WATCHER": "1", "OPENCLAW_NO_AUTO_UPDATE": "1", "OPENCLAW_SKIP_CANVAS_HOST": "1",
             "NO_COLOR": "1", "FORCE_COLOR": "0"}

# (name, method, params): read-only, so every call sees the state as built.
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("agents-list", "agents.list", {}),
    ("list-all", "sessions.list", {}),
    ("list-titles", "sessions.list", {"includeDerivedTitles": True, "includeLastMessage": True}),
    ("list-global-limit-201", "sessions.list", {"includeGlobal": True, "limit": 201}),
    ("list-limit-3", "sessions.list", {"limit": 3}),
    ("list-work", "sessions.list", {"agentId": "work"}),
    ("list-unknown-agent", "sessions.list", {"agentId": "nope"}),
    ("list-search-family", "sessions.list", {"search": "family"}),
    ("list-search-group-name", "sessions.list", {"search": "g-family"}),
    ("list-search-trimmed", "sessions.list", {"search": "  ALICE "}),
    ("preview", "sessions.preview", {"keys": ["main", "agent:main:direct:bob", "agent:main:telegram:group:12345",
                                              "agent:main:nope", "agent:main:direct:nosid", "  ",
                                              "agent:work:main", "global"], "limit": 3, "maxChars": 30}),
    ("preview-defaults", "sessions.preview", {"keys": ["agent:main:main", "agent:main:subagent:child1"]}),
    ("preview-no-keys", "sessions.preview", {"keys": []}),
    ("preview-extra", "sessions.preview", {"keys": ["main"], "extra": 1}),
    ("describe-alice", "sessions.describe", {"key": "agent:main:direct:alice"}),
    ("describe-main-titles", "sessions.describe", {"key": "main", "includeDerivedTitles": True,
                                                   "includeLastMessage": True}),
    ("describe-group", "sessions.describe", {"key": "agent:main:telegram:group:12345", "includeDerivedTitles": True}),
    ("describe-missing", "sessions.describe", {"key": "agent:main:nope"}),
    ("describe-blank", "sessions.describe", {"key": "  "}),
    ("compaction-alice", "sessions.compaction.list", {"key": "agent:main:direct:alice"}),
    ("compaction-none", "sessions.compaction.list", {"key": "main"}),
    ("compaction-missing", "sessions.compaction.list", {"key": "agent:work:nope"}),
]

# (name, method, params), in order, on one connection while another is subscribed.
MUTATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("patch-alice", "sessions.patch", {"key": "agent:main:direct:alice", "label": "alice-2"}),
    ("patch-new", "sessions.patch", {"key": "agent:main:direct:dave", "thinkingLevel": "high"}),
    ("reset-bob", "sessions.reset", {"key": "agent:main:direct:bob"}),
    ("delete-carol", "sessions.delete", {"key": "agent:main:direct:carol"}),
    ("cleanup-work", "sessions.cleanup", {"agent": "work", "enforce": True}),
    ("agents-delete-storeless", "agents.delete", {"agentId": "ops1"}),
    ("agents-delete-beta", "agents.delete", {"agentId": "beta"}),
]


def build_state(home: Path) -> int:
    """HOME/.openclaw from the case; returns its "now" (epoch ms)."""
    (home / ".openclaw").mkdir(parents=True)
    out = subprocess.run([sys.executable, str(REFERENCE / "tools" / "build_case.py"), str(CASE),
                          str(home / ".openclaw"), "--home", str(home)], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def _drain(ws: Any, quiet: float) -> list[dict[str, Any]]:
    events = []
    while True:
        try:
            frame = json.loads(ws.recv(timeout=quiet))
        except TimeoutError:
            return events
        if frame.get("type") == "event" and frame.get("event") == "sessions.changed":
            events.append(frame.get("payload"))


def run_mutations(port: int, token: str, quiet: float = 1.0, settle: float = 3.0) -> dict[str, Any]:
    """Each mutation's answer, and under "events" every sessions.changed event a
    subscriber saw, in order (one list: when an event arrives varies from run to run)."""
    from gateway_support import handshake, request

    sub, hello = handshake(port, token=token, scopes=["operator.read"])
    actor, _ = handshake(port, token=token, scopes=["operator.admin"])
    try:
        assert hello["ok"], hello
        subscribed = request(sub, "sessions.subscribe", {})
        _drain(sub, quiet)
        out: dict[str, Any] = {"subscribe": subscribed.get("payload")}
        events: list[dict[str, Any]] = []
        for name, method, params in MUTATIONS:
            reply = request(actor, method, params, timeout=60)
            out[name] = {"ok": reply.get("ok"), "payload": reply.get("payload"), "error": reply.get("error")}
            events += _drain(sub, quiet)
        out["events"] = events + _drain(sub, settle)
        return out
    finally:
        sub.close()
        actor.close()


def _size_without_cwd(path: str, size: int) -> int:
    """A transcript the run's Gateway created names its working directory (this
    process's) in its header: its size counted with that directory written as
    ``"<cwd>"``, so runs from any checkout compare equal. (The recorded
    reference ran in a checkout named /work/wt-gw-sessions.)"""
    if not path.endswith(".jsonl"):
        return size
    with open(path, "rb") as fh:
        first = fh.readline()
    try:
        cwd = json.loads(first).get("cwd")
    except (ValueError, AttributeError):
        return size
    if cwd != os.getcwd():
        return size  # not written by this run's Gateway (a case's own transcript)
    return size - len(json.dumps(cwd).encode()) + len(b'"<cwd>"')


def agents_tree(state_dir: Path) -> list[str]:
    """agents/ as sorted lines: `path/` for a dir, `path<TAB>size<TAB>mode` for a file (locks left out)."""
    root = state_dir / "agents"
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, state_dir)
        lines.append(rel + "/")
        for name in filenames:
            if name.endswith((".lock", ".tmp")):
                continue
            st = os.stat(os.path.join(dirpath, name))
            # a store's size depends on the length of the paths in it: compared elsewhere
            size = "-" if name == "sessions.json" else _size_without_cwd(os.path.join(dirpath, name), st.st_size)
            lines.append(f"{rel}/{name}\t{size}\t{oct(st.st_mode & 0o777)}")
    return sorted(lines)


# --- normalisation ----------------------------------------------------------------------------------

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_DATE = re.compile(r"\(\d{4}-\d\d-\d\d\)")
_ARCHIVE = re.compile(r"\.(deleted|reset|bak)\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z")
_TIME_FIELDS = {"ts", "updatedAt", "sessionStartedAt", "lastInteractionAt", "issuedAtMs", "startedAt"}


def _relative(value: int, now: int) -> str:
    ago = now - value
    if ago > 0 and ago % 60_000 == 0:
        return f"now-{ago // 60_000}m"
    return "<time>"


def normalise(value: Any, home: Path, now: int, known_ids: set[str]) -> Any:
    """Ids the case did not set, times, paths and archive stamps replaced by names."""
    def walk(v: Any, key: str | None = None) -> Any:
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if key in _TIME_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool):
            return _relative(int(v), now)
        if isinstance(v, str):
            v = v.replace(str(home), "$HOME")
            v = _UUID.sub(lambda m: m.group(0) if m.group(0) in known_ids else "<uuid>", v)
            v = _ARCHIVE.sub(r".\1.<RUN-TS>", v)
            return _DATE.sub("(<date>)", v)
        return v
    return walk(value)


def case_session_ids() -> set[str]:
    case = json.loads(CASE.read_text())
    return {e["sessionId"] for store in case["stores"].values() for e in store.values() if "sessionId" in e}


def cli_answer(call: dict[str, Any]) -> Any:
    """A CLI `gateway call --json` run as {rc, payload} (stdout parsed) or {rc, error} (last stderr line)."""
    text = call["stdout"].strip()
    if call["rc"] == 0:
        start = text.find("{")
        return {"rc": 0, "payload": json.loads(text[start:])}
    lines = [line for line in call["stderr"].strip().splitlines() if line.strip()]
    return {"rc": call["rc"], "error": lines[-1] if lines else ""}


