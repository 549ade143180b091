"""``health`` answers while whole-store work holds every worker of the Gateway's
pool: its per-store counts run on a thread of their own (GatewayServer.run_light),
not behind four listings of a big store. A third-party method that keeps a pool
worker busy for 8 s stands in for those listings."""

from __future__ import annotations

import json
import time
from pathlib import Path

from conftest import enable_only, now_ms, write_store
from plugin_support import make_distribution, pythonpath_with
from gateway_support import handshake, next_response, request, start_gateway
from ports import free_port

BUSY_PLUGIN = '''
import time

from openclaw_core import hookimpl
from openclaw_core.adapters.gateway.methods import GatewayMethod


async def busy(call):
    await call.run_blocking(time.sleep, 8)  # a pool worker, as a whole-store listing holds one
    return {"slept": 8}


@hookimpl
def openclaw_gateway_methods():
    return [GatewayMethod("test.busy", busy, scope="operator.read")]
'''


def _plugin(root: Path) -> str:
    return pythonpath_with(make_distribution(root, "oc_test_busy", BUSY_PLUGIN, {"test-busy": "oc_test_busy"}))


def test_health_answers_while_every_pool_worker_is_busy(tmp_path):
    state = tmp_path / "state"
    write_store(state / "agents" / "main" / "sessions" / "sessions.json",
                {f"agent:main:s{i}": {"sessionId": f"s{i}", "updatedAt": now_ms() - i} for i in range(50)})
    gw = start_gateway(state, free_port(), extra_env={"PYTHONPATH": _plugin(tmp_path / "site"),
                                                      "OPENCLAW_DISABLE_PLUGINS": enable_only("test-busy")})
    sockets = []
    try:
        for n in range(2):  # two connections, two pool slots each: all four workers
            ws, hello = handshake(gw.port)
            assert hello["ok"], hello
            for m in range(2):
                ws.send(json.dumps({"type": "req", "id": f"busy-{n}-{m}", "method": "test.busy"}))
            sockets.append(ws)
        time.sleep(0.5)  # the four sleeps are running
        ws, _ = handshake(gw.port)
        sockets.append(ws)
        started = time.monotonic()
        health = request(ws, "health", {}, timeout=20)
        took = time.monotonic() - started
        assert health["ok"], health
        assert health["payload"]["sessions"]["count"] == 50
        assert [r["key"] for r in health["payload"]["sessions"]["recent"]] == [f"agent:main:s{i}" for i in range(5)]
        assert took < 4, f"health waited {took:.1f}s behind the pool"  # behind it: ~7.5 s
        for busy in sockets[:2]:
            assert next_response(busy, timeout=20)["ok"]  # and the busy ones still get their answers
    finally:
        for ws in sockets:
            ws.close()
        gw.stop()
