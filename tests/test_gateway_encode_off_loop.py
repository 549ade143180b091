"""An answer made by blocking work is encoded off the event loop: while a
method's multi-megabyte answer takes the exact JSON encoder (a float 1.0 in
every row: orjson would print it otherwise than JS), a request served on the
loop alone (``system-presence``) is answered at once, not after the encoding."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from conftest import enable_only, now_ms, write_store
from plugin_support import make_distribution, pythonpath_with
from gateway_support import handshake, next_response, request, start_gateway
from ports import free_port

BIG_PLUGIN = '''
from openclaw_core import hookimpl
from openclaw_core.adapters.gateway.methods import GatewayMethod


def rows(count):
    return [{"i": i, "f": 1.0, "s": "x" * 40, "t": [1, 2, 3]} for i in range(count)]


async def big(call):
    count = int(call.params["count"])
    return {"rows": await call.run_blocking(lambda: rows(count))}


@hookimpl
def openclaw_gateway_methods():
    return [GatewayMethod("test.big", big, scope="operator.read")]
'''


def _rows(count: int) -> list:
    return [{"i": i, "f": 1.0, "s": "x" * 40, "t": [1, 2, 3]} for i in range(count)]


def _rows_encoded_in(seconds: float) -> int:
    """How many rows the Gateway's encoder takes ``seconds`` for on this machine
    (a fixed count took 2 s on one CI machine and was too quick to show anything)."""
    from openclaw_core.js.json import dumps_compact

    probe = 20000
    frame = {"type": "res", "ok": True, "payload": {"rows": _rows(probe)}}
    # The quickest of three probes: a probe slowed by a neighbour's burst (or a
    # cold cache) would size the answer too small to show anything.
    taken = []
    for _ in range(3):
        started = time.process_time()
        dumps_compact(frame)
        taken.append(time.process_time() - started)
    per_row = max(min(taken), 1e-3) / probe
    return min(max(probe, int(seconds / per_row)), 600_000)


def _plugin(root: Path) -> str:
    return pythonpath_with(make_distribution(root, "oc_test_big", BIG_PLUGIN, {"test-big": "oc_test_big"}))


@pytest.mark.alone
def test_a_big_answer_is_encoded_while_the_loop_serves_others(tmp_path):
    state = tmp_path / "state"
    write_store(state / "agents" / "main" / "sessions" / "sessions.json",
                {"agent:main:main": {"sessionId": "s", "updatedAt": now_ms()}})
    gw = start_gateway(state, free_port(), extra_env={"PYTHONPATH": _plugin(tmp_path / "site"),
                                                      "OPENCLAW_DISABLE_PLUGINS": enable_only("test-big")})
    big_ws, _ = handshake(gw.port)
    other, _ = handshake(gw.port)
    count = _rows_encoded_in(3.5)  # the answer must take > 2 s, with room to spare
    try:
        started = time.monotonic()
        big_ws.send(json.dumps({"type": "req", "id": "big", "method": "test.big", "params": {"count": count}}))
        answer: dict = {}
        reader = threading.Thread(target=lambda: answer.update(next_response(big_ws, timeout=60)))
        reader.start()
        time.sleep(0.8)  # the rows are built; the encoding (several seconds) is under way
        latencies = []
        while reader.is_alive() and len(latencies) < 20:
            sent = time.monotonic()
            assert request(other, "system-presence", {}, timeout=30)["ok"]
            latencies.append(time.monotonic() - sent)
        reader.join(60)
        took = time.monotonic() - started
        assert answer.get("ok") and len(answer["payload"]["rows"]) == count, str(answer)[:200]
        assert took > 2, f"the answer took {took:.1f}s: too quick to show anything"
        assert latencies and max(latencies) < 1.0, (latencies, took)  # on the loop: the whole encoding
    finally:
        big_ws.close()
        other.close()
        gw.stop()


def test_only_answers_that_may_be_large_take_the_encoder_thread():
    # A patch's answer (one entry) is encoded at once: the thread hop would cost
    # every small write a round trip through the encoder (10,000 patches: +40 %).
    from openclaw_core.adapters.gateway.requests import _may_be_large

    entry = {"key": "agent:main:x", "entry": {"sessionId": "s", "updatedAt": 1, "label": "l"}}
    assert not _may_be_large(entry)
    assert _may_be_large({"sessions": [entry] * 65})
    assert _may_be_large({"ok": True, "result": {"messages": [entry] * 65}})
    assert _may_be_large({"text": "x" * 20_000})
