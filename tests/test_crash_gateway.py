"""Crash safety through the Gateway: ``openclaw gateway run`` killed with
SIGKILL while 8 clients patch a 1,000-entry store, 40 times.

After every kill the store parses, holds every patch the Gateway acknowledged,
and the temp files the killed Gateway left are gone once the next Gateway has
committed. 40 kills, not 100 as for the bare writer (tests/test_crash.py):
each iteration starts a Gateway and 8 authenticated connections (~0.45 s
against ~0.27 s per kill, ~17 s in all on 2 cores), and what this adds to the
writer's loop, the Gateway answering only after the group commit is durable,
is exercised by every patch in flight when a kill lands (8 per kill, ~3,000
acknowledged patches checked in all) more than by the number of kills; the
kill moments of the writer's loop cover where in a commit a process dies.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time

import pytest
from fault_support import base_key, free_port, make_state, strict_load, temp_files
from gateway_support import handshake, request, start_gateway

SEEDS = list(range(2000, 2040))
CLIENTS = 8
KEYS_PER_CLIENT = 125  # client c owns base entries c*125 .. c*125+124: one writer per key


class Client(threading.Thread):
    """Patches its own keys one after another (execNode = "<iteration>:<seq>")
    until the connection dies; remembers the last acknowledged seq per key."""

    def __init__(self, port: int, index: int, iteration: int) -> None:
        super().__init__(daemon=True)
        self.port, self.index, self.iteration = port, index, iteration
        self.acked: dict[str, int] = {}
        self.count = 0
        self.connected = threading.Event()
        self.first_ack = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            ws, hello = handshake(self.port)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.error = f"handshake: {exc!r}"
            return
        if not hello.get("ok"):
            self.error = f"connect refused: {hello}"
            return
        self.connected.set()
        seq = 0
        try:
            while True:
                seq += 1
                key = base_key(self.index * KEYS_PER_CLIENT + seq % KEYS_PER_CLIENT)
                reply = request(ws, "sessions.patch", {"key": key, "execNode": f"{self.iteration}:{seq}"})
                if not reply.get("ok"):
                    self.error = f"patch refused: {reply}"
                    return
                self.acked[key] = seq
                self.count += 1
                self.first_ack.set()
        except (ConnectionClosed, OSError, TimeoutError):
            return  # the Gateway was killed
        finally:
            ws.close()


@pytest.mark.slow
def test_gateway_sigkill_loses_no_acknowledged_patch(tmp_path):
    store = make_state(tmp_path)
    state_dir = store.parents[3]
    leftovers: set[str] = set()
    stats = {"kills": 0, "acked": 0, "kills_leaving_temps": 0, "temps_cleaned": 0}
    for iteration, seed in enumerate(SEEDS):
        rng = random.Random(seed)
        gateway = start_gateway(state_dir, free_port())
        try:
            clients = [Client(gateway.port, c, iteration) for c in range(CLIENTS)]
            for client in clients:
                client.start()
            for client in clients:
                assert client.first_ack.wait(20), f"client {client.index}: {client.error}\n{gateway.log()}"
            # Every client has a durable patch, so this Gateway committed: the
            # temps the previous (killed) one left must be gone.
            assert not temp_files(store) & leftovers, "a killed Gateway's temps survived the next Gateway's commit"
            stats["temps_cleaned"] += len(leftovers)
            leftovers.clear()
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            gateway.proc.send_signal(signal.SIGKILL)
            gateway.proc.wait(10)
        for client in clients:
            client.join(20)
            assert client.error is None, client.error
        stats["kills"] += 1
        entries = strict_load(store)
        for client in clients:
            stats["acked"] += client.count
            for key, seq in client.acked.items():
                value = entries[key].get("execNode", "")
                stored_iteration, stored_seq = (int(part) for part in value.split(":"))
                assert (stored_iteration, stored_seq) >= (iteration, seq), \
                    f"{key}: acknowledged patch {iteration}:{seq} lost (store has {value})"
        assert len(entries) == 1000
        left = temp_files(store)
        stats["kills_leaving_temps"] += bool(left - leftovers)
        leftovers |= left
    print(f"\ngateway crash loop: {stats}")
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    assert stats["kills_leaving_temps"] >= 1


def test_a_temp_left_while_the_gateway_runs_is_removed_at_its_next_commit(tmp_path):
    """An offline writer killed mid-write while a Gateway keeps running: the Gateway
    took the store's lock long before, yet its next commit removes the temp, and
    the disk budget never counts it (it would evict sessions to make room)."""
    import uuid

    store = make_state(tmp_path, maintenance={"maxEntries": 100_000, "pruneAfter": "3650d",
                                              "maxDiskBytes": "3mb", "highWaterBytes": "2.5mb"})
    gateway = start_gateway(store.parents[3], free_port())
    try:
        ws, _ = handshake(gateway.port)
        assert request(ws, "sessions.patch", {"key": base_key(1), "execNode": "before"})["ok"]
        # What a writer killed between its temp file and its rename leaves (the same size as the store).
        temp = store.parent / f"sessions.json.{uuid.uuid4()}.tmp"
        temp.write_bytes(store.read_bytes())
        reply = request(ws, "sessions.patch", {"key": base_key(2), "execNode": "after"})
        ws.close()
    finally:
        gateway.stop()
    assert reply["ok"], reply
    entries = strict_load(store)
    assert len(entries) == 1000, f"the disk budget evicted {1000 - len(entries)} sessions to make room for a dead temp"
    assert not temp.exists(), "the Gateway's commit left a killed writer's temp file"
    assert entries[base_key(2)]["execNode"] == "after"
