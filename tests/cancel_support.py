"""Helpers for the cancellation tests: a big store built quickly, a snapshot of
a whole directory tree, and a third-party plugin (a real distribution on
PYTHONPATH, loaded through the ``openclaw`` entry points) that holds a
commit at a chosen stage until the test releases it."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

from conftest import DAY_MS, now_ms, write_store

GATE_SOURCE = '''
import os, time
from pathlib import Path
from openclaw_core import hookimpl

GATE = Path(os.environ["OC_GATE_DIR"])
AT = os.environ.get("OC_GATE_AT", "policy")


def hold(stage):
    (GATE / "reached.tmp").write_text(stage)
    os.rename(GATE / "reached.tmp", GATE / "reached")  # whole, or not there
    deadline = time.monotonic() + 60
    while not (GATE / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)


class Gate:
    """Runs after the archiving policies planned their renames (OC_GATE_ORDER: elsewhere)."""
    name = "test-gate"
    order = int(os.environ.get("OC_GATE_ORDER", "450"))

    def apply(self, ctx):
        if AT == "dry-run" and ctx.dry_run:
            hold("dry-run")
        if ctx.dry_run:
            return
        if AT == "policy":
            hold("policy")
        elif AT == "raise":
            raise RuntimeError("the gate refuses")


@hookimpl
def openclaw_maintenance_policies():
    return [Gate()]


@hookimpl
def openclaw_store_committed(store_path, changed_keys, removed_keys):
    if AT == "committed":
        hold("committed")
'''


def install_gate(root: Path) -> Path:
    """The gate plugin as an installed distribution under ``root`` (put it on PYTHONPATH)."""
    site = root / "site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "oc_test_gate.py").write_text(textwrap.dedent(GATE_SOURCE))
    info = site / "oc_test_gate-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: oc-test-gate\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[openclaw]\ntest-gate = oc_test_gate\n")
    (root / "gate").mkdir(exist_ok=True)
    return site


def gate_env(root: Path, at: str = "policy") -> dict[str, str]:
    from conftest import enable_only  # third-party plugins are off in tests unless named

    return {"PYTHONPATH": str(root / "site"), "OC_GATE_DIR": str(root / "gate"), "OC_GATE_AT": at,
            "OPENCLAW_DISABLE_PLUGINS": enable_only("test-gate")}


def wait_reached(root: Path, proc, timeout: float = 120) -> str:
    marker = root / "gate" / "reached"
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before the gate: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError("the gate was never reached")
        time.sleep(0.01)
    return marker.read_text()


def release(root: Path) -> None:
    (root / "gate" / "release").write_text("go")


def big_store(sessions_dir: Path, count: int = 30_000, *, transcripts: int = 40) -> bytes:
    """``count`` entries, four in five stale; the first ``transcripts`` stale ones
    have a transcript and a trajectory sidecar; plus an old ``.deleted`` archive
    that an enforce run purges. Returns the store's bytes."""
    now = now_ms()
    entries = {}
    for i in range(count):
        stale = i % 5 != 0
        entries[f"agent:main:telegram:direct:{i}"] = {
            "sessionId": f"s{i}", "updatedAt": now - (40 if stale else 1) * DAY_MS - i,
            "model": "gpt-5.5", "inputTokens": i}
    data = write_store(sessions_dir / "sessions.json", entries)
    made = 0
    for i in range(count):
        if made == transcripts:
            break
        if i % 5 != 0:
            (sessions_dir / f"s{i}.jsonl").write_text(f'{{"type":"session","id":"s{i}"}}\n')
            (sessions_dir / f"s{i}.trajectory.jsonl").write_text("{}\n")
            made += 1
    (sessions_dir / "old.jsonl.deleted.2020-01-01T00-00-00.000Z").write_text("old\n")
    return data


def tree(root: Path) -> dict[str, bytes | str]:
    """Every path under ``root`` with its bytes (a directory as "dir", a link as its target)."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            out[os.path.relpath(os.path.join(dirpath, name), root)] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            out[rel] = ("link:" + os.readlink(path)) if os.path.islink(path) else Path(path).read_bytes()
    return out
