"""Two ``openclaw gateway run`` processes on one PostgreSQL database, as two
hosts would run them (a state dir each): 8 clients each patch the same store through their
Gateway while an offline ``sessions cleanup`` runs; one Gateway is killed
mid-run. Every acknowledged patch must be there afterwards, once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
from backends import postgres_config, write_config
from gateway_support import OPENCLAW, gateway_env, handshake, request, start_gateway
from pg_fixtures import free_port

CLIENTS = 8
ROUNDS = 30


class Client(threading.Thread):
    """One WebSocket client: patches a key of its own per round and remembers
    which patches the Gateway acknowledged."""

    def __init__(self, gateway: int, port: int, number: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.name_ = f"g{gateway}c{number}"
        self.port = port
        self.stop = stop
        self.acked: dict[str, str] = {}
        self.in_flight: dict[str, str] = {}  # sent, answer not seen (the Gateway may be killed)
        self.failed: str | None = None

    def run(self) -> None:
        try:
            ws, hello = handshake(self.port)
            assert hello["ok"], hello
            for i in range(ROUNDS):
                if self.stop.is_set():
                    break
                key = f"agent:main:{self.name_}-{i}"
                self.in_flight[key] = f"{self.name_}/{i}"
                reply = request(ws, "sessions.patch", {"key": key, "execNode": f"{self.name_}/{i}"}, timeout=60)
                if not reply.get("ok"):
                    self.failed = json.dumps(reply)
                    return
                self.acked[key] = f"{self.name_}/{i}"
                # and one shared key per client, patched every round: the last ack must win
                # (or a later patch that landed although its answer never came)
                self.in_flight[f"agent:main:{self.name_}"] = str(i)
                reply = request(ws, "sessions.patch", {"key": f"agent:main:{self.name_}", "execNode": str(i)},
                                timeout=60)
                if reply.get("ok"):
                    self.acked[f"agent:main:{self.name_}"] = str(i)
            ws.close()
        except Exception as exc:  # noqa: BLE001 - a killed Gateway ends its clients here
            self.failed = f"{type(exc).__name__}: {exc}"


def read_pg_store(env: dict[str, str], path) -> dict:
    """The store as the database holds it, read by a process of its own."""
    code = ("import sys; from openclaw_core.app import hooks, load_config; "
            "from openclaw_core.engine.store.backend import open_backend; "
            "b = open_backend(sys.argv[1], load_config(), hooks()); sys.stdout.buffer.write(b.export_bytes())")
    out = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.slow
def test_two_gateways_lose_no_acknowledged_patch_even_when_one_is_killed(state_dir, pg_store_config, tmp_path):
    # Two hosts: a state dir each (one Gateway per state dir); the database names a store
    # by its path in the state dir, so both hosts' agents/main/sessions/sessions.json are one.
    path = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    other_host = tmp_path / "host2"
    other_host.mkdir()
    for host in (state_dir, other_host):
        write_config(host, postgres_config(pg_store_config, {"maintenance": {"maxEntries": 100000}}))
    gateways = [start_gateway(state_dir, free_port()), start_gateway(other_host, free_port())]
    stop_killed = threading.Event()
    never = threading.Event()
    clients = [Client(1, gateways[0].port, n, stop_killed) for n in range(CLIENTS)]
    clients += [Client(2, gateways[1].port, n, never) for n in range(CLIENTS)]
    env = gateway_env(state_dir)
    try:
        for client in clients:
            client.start()
        # An offline cleanup on the same store while both Gateways write.
        cleanup = subprocess.run([OPENCLAW, "sessions", "cleanup", "--store", str(path), "--enforce", "--json"],
                                 env=env, capture_output=True, text=True, timeout=120)
        assert cleanup.returncode == 0, cleanup.stderr
        assert json.loads(cleanup.stdout)["applied"] is True
        # Kill Gateway 1 once its clients are well under way.
        deadline = time.monotonic() + 60
        while sum(len(c.acked) for c in clients[:CLIENTS]) < CLIENTS * ROUNDS // 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        gateways[0].proc.send_signal(signal.SIGKILL)
        gateways[0].proc.wait(10)
        for client in clients:
            client.join(120)
        survivors = clients[CLIENTS:]
        assert all(c.failed is None for c in survivors), [c.failed for c in survivors]
        assert all(len(c.acked) == ROUNDS + 1 for c in survivors)

        saved = read_pg_store(env, path)
        acked = {key: value for client in clients for key, value in client.acked.items()}
        in_flight = {key: value for client in clients for key, value in client.in_flight.items()}
        missing = [key for key, value in acked.items()
                   if saved.get(key, {}).get("execNode") not in (value, in_flight.get(key))]
        lost = [(k, acked[k], saved.get(k, {}).get("execNode")) for k in missing[:5]]
        assert not missing, f"{len(missing)} acknowledged patches lost (key, acked, saved): {lost}"
        # only a killed Gateway's clients can have an unanswered patch that landed
        assert all(saved[key]["execNode"] == acked[key] for c in clients[CLIENTS:] for key in c.acked)
        # Nothing appears twice, and nothing but what the clients sent (an unacknowledged
        # patch of the killed Gateway may or may not have landed).
        assert len(saved) == len(set(saved))
        sent = {f"agent:main:g{g}c{n}" for g in (1, 2) for n in range(CLIENTS)}
        sent |= {f"agent:main:g{g}c{n}-{i}" for g in (1, 2) for n in range(CLIENTS) for i in range(ROUNDS)}
        assert set(saved) <= sent
        assert len(set(saved) - set(acked)) <= CLIENTS  # at most one in flight per killed client

        # The surviving Gateway's cache saw the other Gateway's commits (LISTEN/NOTIFY).
        ws, hello = handshake(gateways[1].port)
        listed = request(ws, "sessions.list", {"limit": 100000})
        ws.close()
        assert listed["ok"], listed
        assert {row["key"] for row in listed["payload"]["sessions"]} >= set(acked)
    finally:
        for gateway in gateways:
            gateway.stop()
