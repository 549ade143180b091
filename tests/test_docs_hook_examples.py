"""Every example of docs/hooks.md works with today's APIs: each one is taken
from the page, loaded as a plugin module and exercised against the real core
(CLI in-process, real stores, a real HTTP server, a real Gateway)."""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import re
import threading
import types
from contextlib import contextmanager
from pathlib import Path

import pytest

from openclaw_core.app import hooks
from conftest import DAY_MS, now_ms, write_store

DOCS = Path(__file__).resolve().parent.parent / "docs"


def example(hook: str) -> types.ModuleType:
    """The first ```python block of the hook's section, as a module."""
    text = (DOCS / "hooks.md").read_text()
    section = text[text.index(f"### `{hook}`"):]
    following = re.search(r"^#{2,3} ", section[4:], re.MULTILINE)
    section = section[: following.start() + 4] if following else section
    code = section[section.index("```python") + len("```python"): ]
    code = code[: code.index("```")]
    module = types.ModuleType(f"docs_example_{hook}")
    exec(compile(code, f"docs/hooks.md ({hook})", "exec"), module.__dict__)
    return module


@pytest.fixture
def main_store(state_dir) -> Path:
    return state_dir / "agents" / "main" / "sessions" / "sessions.json"


# --- command line -------------------------------------------------------------------------------------------

@pytest.fixture
def sessions_group_restored():
    """The core groups are module-level click objects: take the plugin's command off again."""
    from openclaw_core.adapters.cli.sessions import sessions

    had = "count" in sessions.commands
    yield
    if not had:
        sessions.commands.pop("count", None)


def test_hook_register_commands_docs_example(cli, state_dir, main_store, register_openclaw_plugin,
                                             sessions_group_restored):
    write_store(main_store, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()},
                             "agent:main:b": {"sessionId": "b", "updatedAt": now_ms()}})
    register_openclaw_plugin(example("openclaw_register_commands"), "docs-count")
    result = cli("sessions", "count", "--store", str(main_store))
    assert (result.exit_code, result.stdout) == (0, "2\n"), result
    assert re.search(r"^  count +Print how many sessions a store holds\.$", cli("sessions", "--help").stdout, re.M)


# --- stores ----------------------------------------------------------------------------------------------------

def test_hook_store_backend_docs_example(cli, state_dir, main_store, register_openclaw_plugin):
    from openclaw_core import load_session_store, update_session_store

    (state_dir / "openclaw.toml").write_text('[session]\nbackend = "memory"\n')
    memory = register_openclaw_plugin(example("openclaw_store_backend"), "docs-memory")
    update_session_store(main_store, lambda store: store.__setitem__(
        "agent:main:main", {"sessionId": "s1", "updatedAt": now_ms()}))
    update_session_store(main_store, lambda store: store["agent:main:main"].__setitem__("label", "hello"))
    assert load_session_store(main_store)["agent:main:main"]["label"] == "hello"
    version, data = memory.STORES[str(main_store)]
    assert version == 2 and json.loads(data)["agent:main:main"]["label"] == "hello"
    assert not main_store.exists()  # nothing on disk: the plugin holds the store
    listed = cli("sessions", "--json")
    assert listed.exit_code == 0, listed
    assert [s["key"] for s in listed.json()["sessions"]] == ["agent:main:main"]


def test_hook_store_lock_docs_example(state_dir, main_store, register_openclaw_plugin):
    import fcntl
    import os

    from openclaw_core import update_session_store
    from openclaw_core.base.errors import StoreLockTimeout

    module = register_openclaw_plugin(example("openclaw_store_lock"), "docs-flock")
    calls = []
    real_flock = fcntl.flock
    module.fcntl = types.SimpleNamespace(LOCK_EX=fcntl.LOCK_EX, LOCK_NB=fcntl.LOCK_NB, LOCK_UN=fcntl.LOCK_UN,
                                         flock=lambda fd, op: (calls.append(op), real_flock(fd, op))[1])
    lock_path = str(main_store) + ".lock"

    def held_elsewhere() -> bool:
        fd = os.open(lock_path, os.O_RDWR)
        try:
            real_flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            real_flock(fd, fcntl.LOCK_UN)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    seen = update_session_store(main_store, lambda store: (store.__setitem__("agent:main:main", {
        "sessionId": "s1", "updatedAt": now_ms()}), held_elsewhere())[1])
    assert seen is True and not held_elsewhere()
    assert calls and calls[0] == fcntl.LOCK_EX | fcntl.LOCK_NB  # the plugin's lock, not the built-in
    # Held by someone else: a clear timeout.
    fd = os.open(lock_path, os.O_RDWR)
    try:
        real_flock(fd, fcntl.LOCK_EX)
        with pytest.raises(StoreLockTimeout, match="another writer holds"):
            with module.openclaw_store_lock(lock_path, str(main_store), 0.2):
                pass
    finally:
        os.close(fd)


def test_hook_store_commit_docs_example(state_dir, main_store, register_openclaw_plugin, caplog):
    from openclaw_core import update_session_store

    caplog.set_level(logging.INFO, logger="openclaw.audit")
    register_openclaw_plugin(example("openclaw_store_commit"), "docs-audit")
    update_session_store(main_store, lambda store: store.__setitem__(
        "agent:main:main", {"sessionId": "s1", "updatedAt": now_ms()}))
    before = main_store.read_bytes()
    with pytest.raises(PermissionError, match="read-only"):
        update_session_store(main_store, lambda store: store.__setitem__(
            "agent:frozen:main", {"sessionId": "s2", "updatedAt": now_ms()}))
    assert main_store.read_bytes() == before
    audit = [r.getMessage() for r in caplog.records if r.name == "openclaw.audit"]
    assert audit == [f"{main_store}: changed ['agent:main:main'], removed []"]


def test_hook_store_committed_docs_example(state_dir, main_store, register_openclaw_plugin):
    from openclaw_core import update_session_store

    module = register_openclaw_plugin(example("openclaw_store_committed"), "docs-metrics")
    update_session_store(main_store, lambda store: store.update({
        "agent:main:a": {"sessionId": "a", "updatedAt": now_ms()},
        "agent:main:b": {"sessionId": "b", "updatedAt": now_ms()}}))
    update_session_store(main_store, lambda store: store.pop("agent:main:a"))
    assert module.UPDATES == {str(main_store): 3}


# --- maintenance ---------------------------------------------------------------------------------------------------

def test_hook_maintenance_policies_docs_example(cli, state_dir, main_store, register_openclaw_plugin):
    write_store(main_store, {
        "agent:main:cron:nightly:run:1": {"sessionId": "r1", "updatedAt": now_ms() - 2 * DAY_MS},
        "agent:main:cron:nightly:run:2": {"sessionId": "r2", "updatedAt": now_ms() - 3600_000},
        "agent:main:cron:nightly": {"sessionId": "job", "updatedAt": now_ms() - 2 * DAY_MS},
    })
    register_openclaw_plugin(example("openclaw_maintenance_policies"), "docs-cron")
    assert "   250  prune-cron-runs              (docs-cron)" in cli("plugins", "list").stdout
    result = cli("sessions", "cleanup", "--store", str(main_store), "--enforce", "--json")
    assert result.exit_code == 0, result
    assert sorted(json.loads(main_store.read_text())) == ["agent:main:cron:nightly", "agent:main:cron:nightly:run:2"]


def test_hook_entry_protected_docs_example(cli, state_dir, main_store, register_openclaw_plugin):
    old = now_ms() - 60 * DAY_MS
    write_store(main_store, {"agent:main:telegram:direct:1": {"sessionId": "a", "updatedAt": old, "label": "pin:me"},
                             "agent:main:telegram:direct:2": {"sessionId": "b", "updatedAt": old}})
    register_openclaw_plugin(example("openclaw_entry_protected"), "docs-pins")
    result = cli("sessions", "cleanup", "--store", str(main_store), "--enforce", "--json")
    assert result.exit_code == 0 and result.json()["pruned"] == 1, result
    assert list(json.loads(main_store.read_text())) == ["agent:main:telegram:direct:1"]


# --- transport -----------------------------------------------------------------------------------------------------

@contextmanager
def cleanup_service(status: int = 200):
    """A real HTTP service that runs the cleanup it is sent (and records the params)."""
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            from oc import run_cleanup
            from openclaw_core.app import load_config

            params = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(params)
            body = json.dumps(run_cleanup(load_config(), agent=params.get("agent"),
                                          all_agents=params["allAgents"], enforce=params["enforce"],
                                          active_key=params.get("activeKey"),
                                          fix_missing=params["fixMissing"])).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cleanup", received
    finally:
        server.shutdown()
        server.server_close()


def test_hook_transport_docs_example(cli, state_dir, main_store, register_openclaw_plugin, free_port):
    write_store(main_store, {"agent:main:old": {"sessionId": "a", "updatedAt": now_ms() - 60 * DAY_MS},
                             "agent:main:new": {"sessionId": "b", "updatedAt": now_ms()}})
    register_openclaw_plugin(example("openclaw_transport"), "docs-service")
    config = state_dir / "openclaw.toml"
    with cleanup_service() as (url, received):
        config.write_text(f'[plugins.cleanupService]\nurl = "{url}"\n')
        result = cli("sessions", "cleanup", "--enforce", "--json")
        assert result.exit_code == 0, result
        assert received == [{"allAgents": False, "enforce": True, "fixMissing": False}]
        assert result.json()["pruned"] == 1 and list(json.loads(main_store.read_text())) == ["agent:main:new"]
    # Nothing listens: the offline path runs the cleanup.
    config.write_text(f'[plugins.cleanupService]\nurl = "http://127.0.0.1:{free_port}/cleanup"\n')
    result = cli("sessions", "cleanup", "--enforce", "--json")
    assert result.exit_code == 0 and result.json()["applied"] is True, result
    # The service answers with an error: the command fails, nothing runs twice.
    with cleanup_service(status=500) as (url, received):
        config.write_text(f'[plugins.cleanupService]\nurl = "{url}"\n')
        result = cli("sessions", "cleanup", "--enforce", "--json")
        assert (result.exit_code, result.stdout) == (1, ""), result
        assert result.stderr == f"cleanup service {url}: Internal Server Error\n"
        assert len(received) == 1


# --- trash ------------------------------------------------------------------------------------------------------------

def test_hook_trash_docs_example(cli, state_dir, register_openclaw_plugin):
    (state_dir / "openclaw.toml").write_text('[[agents.list]]\nid = "main"\ndefault = true\n[[agents.list]]\nid = "ops"\n')
    (state_dir / "workspace-ops" / "notes").mkdir(parents=True)
    (state_dir / "agents" / "ops" / "sessions").mkdir(parents=True)
    register_openclaw_plugin(example("openclaw_trash"), "docs-trash")
    result = cli("agents", "delete", "ops", "--force", "--json")
    assert result.exit_code == 0 and "trashFailed" not in result.json(), result
    moved = sorted(p.relative_to(state_dir / "trash").parts[1] for p in (state_dir / "trash").glob("*/*"))
    assert moved == ["sessions", "workspace-ops"]
    assert (next((state_dir / "trash").glob("ops-workspace-*")) / "workspace-ops" / "notes").is_dir()
    assert not (Path.home() / ".local" / "share" / "Trash").exists()


# --- gateway ------------------------------------------------------------------------------------------------------------

@contextmanager
def gateway_in_thread(port: int):
    from openclaw_core.app import load_config
    from openclaw_core.adapters.gateway.server import GatewayServer
    from openclaw_core.app import get_plugin_manager

    loop = asyncio.new_event_loop()
    server = GatewayServer(load_config(), hooks(), hosts=["127.0.0.1"], port=port, token=None,
                           log=lambda line: None)
    loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def test_hook_gateway_methods_docs_example(cli, state_dir, main_store, register_openclaw_plugin, monkeypatch,
                                           free_port):
    write_store(main_store, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()},
                             "agent:main:b": {"sessionId": "b", "updatedAt": now_ms()}})
    monkeypatch.setenv("OPENCLAW_GATEWAY_PORT", str(free_port))
    register_openclaw_plugin(example("openclaw_gateway_methods"), "docs-count-method")
    with gateway_in_thread(free_port) as server:
        assert server.methods["sessions.count"].scope == "operator.read"
        result = cli("gateway", "call", "sessions.count")
    assert result.exit_code == 0, result
    assert result.json() == {"count": 2}


# --- config ------------------------------------------------------------------------------------------------------

def test_hook_config_sections_docs_example(cli, state_dir, main_store, monkeypatch, register_openclaw_plugin):
    write_store(main_store, {})
    register_openclaw_plugin(example("openclaw_config_sections"), "docs-quota")
    config = state_dir / "openclaw.toml"
    config.write_text("[plugins.quota]\nmaxPerAgent = 2\nnotify = true\n[plugins.quotaAudit]\nlogFile = 'q.log'\n")
    assert cli("sessions", "--json").exit_code == 0
    config.write_text("[plugins.quota]\nmaxPerAgent = 0\nnotfy = true\n")
    result = cli("sessions", "--json")
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if line.startswith("  - ")] == [
        "  - plugins.quota.maxPerAgent: expected a positive integer",
        '  - plugins.quota: Unrecognized key: "notfy"']
