"""Races on one store: a Gateway applying patches from 8 clients while offline
``sessions cleanup --store`` runs and an outside editor rewrites the file; and
two offline cleanups started at the same moment.

Nothing may be lost silently: every acknowledged patch and every outside edit
is in the store at the end, and anything that did not happen was answered with
an explicit error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import DAY_MS, OPENCLAW, now_ms
from fault_support import base_key, free_port, make_state
from gateway_support import gateway_env, handshake, request, start_gateway

HERE = Path(__file__).resolve().parent
CLIENTS = 8
KEYS_PER_CLIENT = 4
EDITS = 60
RACE_MAINTENANCE = {"mode": "warn", "maxEntries": 100_000, "pruneAfter": "30d"}  # cleanup --enforce prunes


def load_any(store: Path) -> dict:
    """The store through the core's strict loader (the editor may have written last,
    in its own layout, so the bytes need not be canonical)."""
    from openclaw_core.engine.store.state import StoreState

    return StoreState.parse(store.read_bytes(), source=str(store)).snapshot()


class Patcher(threading.Thread):
    """One Gateway client patching its own keys in turn until told to stop."""

    def __init__(self, port: int, index: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.index, self.stop_event = port, index, stop
        self.acked: dict[str, int] = {}
        self.count = 0
        self.errors: list[dict] = []
        self.failure: str | None = None

    def run(self) -> None:
        try:
            ws, hello = handshake(self.port)
            assert hello.get("ok"), hello
            seq = 0
            while not self.stop_event.is_set():
                seq += 1
                key = base_key(self.index * KEYS_PER_CLIENT + seq % KEYS_PER_CLIENT)
                reply = request(ws, "sessions.patch", {"key": key, "execNode": f"{self.index}:{seq}"}, timeout=70)
                if reply["ok"]:
                    self.acked[key] = seq
                    self.count += 1
                else:
                    self.errors.append(reply["error"])
            ws.close()
        except Exception as exc:  # noqa: BLE001 - a dead client is a failure the test reports
            self.failure = repr(exc)


class Lister(threading.Thread):
    """A reader on its own connection: listings while everyone writes."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stop_event = port, stop
        self.ok = 0
        self.errors: list[dict] = []
        self.failure: str | None = None

    def run(self) -> None:
        try:
            ws, hello = handshake(self.port)
            while not self.stop_event.is_set():
                reply = request(ws, "sessions.list", {"limit": 5}, timeout=70)
                if reply["ok"]:
                    self.ok += 1
                else:
                    self.errors.append(reply["error"])
            ws.close()
        except Exception as exc:  # noqa: BLE001
            self.failure = repr(exc)


@pytest.mark.slow
def test_gateway_patches_offline_cleanup_and_outside_editor_lose_nothing(tmp_path):
    store = make_state(tmp_path, maintenance=RACE_MAINTENANCE)
    state_dir = store.parents[3]
    gateway = start_gateway(state_dir, free_port())
    stop = threading.Event()
    patchers = [Patcher(gateway.port, c, stop) for c in range(CLIENTS)]
    lister = Lister(gateway.port, stop)
    mark_keys = [base_key(i) for i in range(CLIENTS * KEYS_PER_CLIENT)]
    cleanups: list[subprocess.CompletedProcess] = []
    try:
        for thread in (*patchers, lister):
            thread.start()
        editor = subprocess.Popen([sys.executable, str(HERE / "outside_editor.py"), str(store), str(EDITS), "7",
                                   *mark_keys], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def cleanup_loop() -> None:
            env = gateway_env(state_dir)
            while editor.poll() is None:
                cleanups.append(subprocess.run(
                    [OPENCLAW, "sessions", "cleanup", "--store", str(store), "--enforce", "--json"],
                    env=env, capture_output=True, text=True, timeout=120))

        cleaner = threading.Thread(target=cleanup_loop, daemon=True)
        cleaner.start()
        out, err = editor.communicate(timeout=120)
        cleaner.join(180)
        stop.set()
        for thread in (*patchers, lister):
            thread.join(90)
    finally:
        stop.set()
        gateway.stop()
    assert editor.returncode == 0, err
    edits = [int(line.split()[1]) for line in out.splitlines()]
    assert edits == list(range(1, EDITS + 1))
    for thread in (*patchers, lister):
        assert thread.failure is None, thread.failure
    # Whatever did not happen was said so: an error with a code and a message.
    refused = [e for p in patchers for e in p.errors] + lister.errors
    for error in refused:
        assert error.get("code") and error.get("message"), error
    for run in cleanups:
        if run.returncode != 0:
            lines = run.stderr.strip().splitlines()
            assert run.returncode == 1 and len(lines) == 1, run

    entries = load_any(store)
    for patcher in patchers:
        for key, seq in patcher.acked.items():
            value = entries[key].get("execNode", "0:0")
            assert int(value.split(":")[1]) >= seq, f"{key}: acknowledged patch {seq} lost (store: {value})"
    for n in edits:
        assert f"agent:main:editor:{n}" in entries, f"outside edit {n} lost"
    for i, key in enumerate(mark_keys):
        last = max(n for n in edits if n % len(mark_keys) == i)
        assert entries[key].get("editorMark") == last, f"{key}: outside edit {last} (editorMark) lost"
    applied = [json.loads(run.stdout) for run in cleanups if run.returncode == 0]
    stats = {"patches": sum(p.count for p in patchers), "patch_errors": sum(len(p.errors) for p in patchers),
             "listings": lister.ok, "listing_errors": len(lister.errors), "edits": len(edits),
             "cleanups": len(cleanups), "cleanup_errors": len(cleanups) - len(applied),
             "cleanup_pruned": sum(a["pruned"] for a in applied)}
    print(f"\nrace: {stats}")
    # The race really was one: patches, cleanups that wrote, edits, all overlapping.
    assert stats["patches"] >= 50 and stats["cleanups"] >= 3 and stats["cleanup_pruned"] >= 1
    assert stats["patch_errors"] == 0 and stats["cleanup_errors"] == 0


# --- two offline cleanups at once ---------------------------------------------------------

def _cleanup_fixture(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A store of fresh entries with transcripts, 300 stale ones (with transcripts)
    and 200 fresh ones whose transcript is missing."""
    from openclaw_core.js.json import stringify

    state = tmp_path / "state"
    sessions = state / "agents" / "main" / "sessions"
    sessions.mkdir(parents=True)
    (state / "openclaw.json").write_text(json.dumps({"session": {"maintenance": {"maxEntries": 100_000}}}))
    now = now_ms()
    data = {}
    counts = {"fresh": 1500, "stale": 300, "missing": 200}
    for kind, count in counts.items():
        for i in range(count):
            sid = f"{kind}-{i:05d}"
            data[f"agent:main:{kind}:{i}"] = {"sessionId": sid,
                                              "updatedAt": now - (40 * DAY_MS if kind == "stale" else i)}
            if kind != "missing":
                (sessions / f"{sid}.jsonl").write_text('{"type":"session"}\n')
    store = sessions / "sessions.json"
    store.write_text(stringify(data))
    return store, counts


def test_two_offline_cleanups_take_turns_on_the_store_lock(tmp_path):
    store, counts = _cleanup_fixture(tmp_path)
    trace = tmp_path / "lock.trace"
    env = gateway_env(store.parents[3], token=None,
                      extra={"OPENCLAW_TRACE_LOCK": str(trace), "OPENCLAW_TRACE_HOLD": "0.5",
                             "OPENCLAW_GATEWAY_PORT": str(free_port())})
    base = [sys.executable, str(HERE / "traced_cli.py"), "sessions", "cleanup", "--store", str(store), "--json"]
    commands = {"prune": [*base, "--enforce"], "fix": [*base, "--enforce", "--fix-missing"]}
    procs = {name: subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, cmd in commands.items()}
    results = {name: proc.communicate(timeout=120) for name, proc in procs.items()}
    for name, proc in procs.items():
        assert proc.returncode == 0, results[name]
    pid_name = {str(proc.pid): name for name, proc in procs.items()}
    events = [line.split() for line in trace.read_text().splitlines()]
    # Strictly one holder at a time: acquired/released pairs of one process, never interleaved.
    assert len(events) == 4
    assert [e[1] for e in events] == ["acquired", "released", "acquired", "released"], events
    assert events[0][0] == events[1][0] != events[2][0] == events[3][0], events
    first, second = pid_name[events[0][0]], pid_name[events[2][0]]
    reports = {name: json.loads(results[name][0]) for name in procs}
    # The second read the store after the first wrote it: only the first pruned the stale entries.
    assert reports[first]["pruned"] == counts["stale"]
    assert reports[second]["pruned"] == 0
    assert reports["fix"]["missing"] == counts["missing"]
    entries = json.loads(store.read_text())
    assert len(entries) == counts["fresh"]
    assert all(key.startswith("agent:main:fresh:") for key in entries)
