"""The store backend and store lock hooks, with third-party implementations."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
from conftest import now_ms, write_store

from openclaw_core import hookimpl, load_session_store, update_session_store, update_session_store_entry
from openclaw_core.base.errors import ConfigError, StoreConflict, StoreLockTimeout
from openclaw_core.engine.store.backend import StoreBackend
from openclaw_core.engine.store.state import StoreState


class MemoryBackend(StoreBackend):
    """A third-party backend keeping stores in a dict (shared by path)."""

    name = "memory"
    stores: dict[str, tuple[int, bytes]] = {}

    def load(self):
        version, raw = self.stores.get(self.path, (0, None))
        if raw is None:
            return StoreState.missing(version=0)
        return StoreState.parse(raw, source=self.path, version=version)

    def version(self):
        return self.stores.get(self.path, (0, None))[0]

    def write(self, state, changes, expected_version):
        if self.version() != expected_version:
            raise StoreConflict("moved")
        self.stores[self.path] = (expected_version + 1, state.text())
        return expected_version + 1


class MemoryPlugin:
    @hookimpl
    def openclaw_store_backend(self, name, store_path, config):
        return MemoryBackend(store_path, config) if name == "memory" else None


def test_hook_store_backend_selects_a_third_party_backend(state_dir, register_openclaw_plugin):
    (state_dir / "openclaw.toml").write_text('[session]\nbackend = "memory"\n')
    register_openclaw_plugin(MemoryPlugin(), "memory-store")
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    update_session_store(path, lambda s: s.__setitem__("agent:main:a", {"sessionId": "a", "updatedAt": now_ms()}))
    update_session_store_entry(path, "agent:main:a", lambda e: {"label": "x"})
    assert not path.exists()  # nothing went to the file store
    version, raw = MemoryBackend.stores[str(path)]
    assert version == 2 and json.loads(raw)["agent:main:a"]["label"] == "x"
    assert load_session_store(path)["agent:main:a"]["label"] == "x"


def test_unknown_backend_is_a_clear_error(state_dir):
    (state_dir / "openclaw.toml").write_text('[session]\nbackend = "nosuch"\n')
    with pytest.raises(ConfigError, match='session.backend "nosuch": no installed plugin provides'):
        load_session_store(state_dir / "sessions.json")


class RecordingLock:
    def __init__(self) -> None:
        self.events: list[str] = []

    @hookimpl
    def openclaw_store_lock(self, lock_path, store_path, timeout):
        @contextmanager
        def held():
            self.events.append(f"acquire {lock_path.rsplit('/', 1)[-1]}")
            yield
            self.events.append("release")
        return held()


def test_hook_store_lock_is_held_around_every_commit(store_path, register_openclaw_plugin):
    write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    lock = register_openclaw_plugin(RecordingLock(), "recording-lock")
    seen_inside = []

    def mutate(store):
        seen_inside.append(list(lock.events))
        store["agent:main:a"]["n"] = 1

    update_session_store(store_path, mutate)
    assert seen_inside == [["acquire sessions.json.lock"]]
    assert lock.events == ["acquire sessions.json.lock", "release"]


def test_offline_lock_serialises_two_processes(store_path):
    """A second process cannot commit while the first holds the store's lock."""
    write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys,time,filelock; l=filelock.FileLock(sys.argv[1]); l.acquire(); print('held', flush=True);"
        "time.sleep(1.5); l.release()"), str(store_path) + ".lock"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    update_session_store_entry(store_path, "agent:main:a", lambda e: {"label": "after"})
    waited = time.monotonic() - started
    holder.wait(10)
    assert waited >= 1.0
    assert json.loads(store_path.read_text())["agent:main:a"]["label"] == "after"


def test_lock_timeout_is_a_clear_error(store_path, monkeypatch):
    from openclaw_core.engine.store import writer

    write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    monkeypatch.setattr(writer, "LOCK_TIMEOUT", 0.3)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys,time,filelock; l=filelock.FileLock(sys.argv[1]); l.acquire(); print('held', flush=True);"
        "time.sleep(5)"), str(store_path) + ".lock"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLockTimeout, match="timed out after 0.3s waiting for the lock"):
            update_session_store_entry(store_path, "agent:main:a", lambda e: {"label": "x"})
    finally:
        holder.kill()
        holder.wait()
