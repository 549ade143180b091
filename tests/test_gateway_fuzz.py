"""The Gateway under hostile input: generated malformed frames and params,
oversized frames, floods of requests on one connection. Every frame gets the
documented answer (or close), no handler ever fails inside (the Gateway logs
``[gateway] <method> failed`` when one does), the other clients keep being
served, and the Gateway's memory (RSS of the process) stays bounded.

One ``openclaw gateway run`` per module, on a 1,000-entry store; the
single-case checks of each documented error are in test_gateway_security.py.
"""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time

import pytest
from fault_support import free_port, make_state, rss_bytes
from gateway_support import challenge, closed_with, connect_params, handshake, open_ws, recv_json, request, start_gateway
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from openclaw_core.adapters.gateway.builtin import builtin_methods
from openclaw_core.engine.wire.protocol import MAX_PAYLOAD_BYTES, PREAUTH_MAX_BYTES

METHODS = sorted(m.name for m in builtin_methods())
# No shrinking: against a live server a failing example may cost a receive timeout
# per attempt; the first falsifying frame is reported as it is.
FUZZ = settings(max_examples=300, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
DOCUMENTED_CODES = {"INVALID_REQUEST", "UNAVAILABLE"}


# The module-scoped Gateway is shared by the tests here (some check what earlier ones left):
# under pytest-xdist the module runs on one worker (make test: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("test_gateway_fuzz")


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    store = make_state(tmp_path_factory.mktemp("gw-fuzz"))
    gateway = start_gateway(store.parents[3], free_port())
    gateway.store = store
    yield gateway
    assert gateway.stop() == 0, gateway.log()


@pytest.fixture(scope="module")
def conn(gw):
    """One authenticated connection the fuzzers keep using (it must survive them all)."""
    ws, hello = handshake(gw.port)
    assert hello["ok"], hello
    yield ws
    ws.close()


def next_response(ws, timeout: float = 5) -> dict:
    """The next ``res`` frame (events such as sessions.changed are skipped)."""
    while True:
        frame = recv_json(ws, timeout)
        if frame.get("type") == "res":
            return frame


def no_handler_failed(gw) -> None:
    failures = [line for line in gw.lines if " failed: " in line]
    assert not failures, failures[:5]


def rss(gw) -> int:
    return rss_bytes(gw.proc.pid)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


# --- malformed frames ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)
frame_like = st.fixed_dictionaries(
    {}, optional={"type": st.sampled_from(["req", "res", "event", ""]) | json_values,
                  "id": st.text(max_size=8) | json_values,
                  "method": st.sampled_from([*METHODS, "connect", "nope", ""]) | json_values,
                  "params": json_values,
                  "extra": json_values})
raw_frames = st.one_of(
    st.text(max_size=60),                                     # not JSON, mostly
    st.binary(max_size=60),                                   # a binary frame, often not UTF-8
    json_values.map(json.dumps),                              # JSON, rarely a frame
    frame_like.map(json.dumps),                               # frame-shaped, wrong in some field
    frame_like.map(lambda f: json.dumps(f).encode()),         # the same as a binary frame
)


@FUZZ
@given(raw_frames)
def test_malformed_frames_get_a_documented_error_and_the_connection_lives(gw, conn, raw):
    conn.send(raw)
    reply = next_response(conn)
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        frame = None
    valid = (isinstance(frame, dict) and set(frame) <= {"type", "id", "method", "params"}
             and frame.get("type") == "req" and isinstance(frame.get("id"), str) and frame["id"]
             and isinstance(frame.get("method"), str) and frame["method"])
    if not valid:
        assert reply["ok"] is False and reply["error"]["code"] == "INVALID_REQUEST", reply
        assert reply["error"]["message"].startswith("invalid request frame"), reply
        has_id = isinstance(frame, dict) and isinstance(frame.get("id"), str) and frame["id"]
        assert reply["id"] == (frame["id"] if has_id else "invalid")
    else:
        assert reply["id"] == frame["id"]
        assert reply["ok"] or reply["error"]["code"] in DOCUMENTED_CODES, reply


def test_the_fuzzed_connection_still_works_and_no_handler_failed(gw, conn):
    assert request(conn, "health")["ok"]
    no_handler_failed(gw)


# --- params of every method ------------------------------------------------------------------------

def _props(name: str) -> list[str]:
    method = next(m for m in builtin_methods() if m.name == name)
    return sorted((method.params or {}).get("props", {}))


params_for = st.sampled_from(METHODS).flatmap(lambda name: st.tuples(st.just(name), st.one_of(
    json_values,  # not even an object
    st.dictionaries(st.sampled_from(_props(name) or ["x"]) | st.text(max_size=6), json_values, max_size=4),
)))


@FUZZ
@given(params_for)
def test_wrong_params_for_every_method_get_a_documented_answer(gw, conn, case):
    name, params = case
    if name == "sessions.cleanup" and isinstance(params, dict):
        params = {k: v for k, v in params.items() if k != "enforce"}  # keep the store for the others
    reply = request(conn, name, params, timeout=5)
    if not reply["ok"]:
        error = reply["error"]
        assert error["code"] in DOCUMENTED_CODES and error["message"], reply
        # The catch-all answer of a handler that blew up is "<ExceptionType>: ...".
        assert not error["message"].split(":")[0].endswith(("Error", "Exception")), reply


def test_no_params_fuzz_made_a_handler_fail(gw, conn):
    assert request(conn, "sessions.list", {"limit": 1})["ok"]
    no_handler_failed(gw)


# --- oversized frames -------------------------------------------------------------------------------------

def test_oversized_frames_close_the_connection_and_memory_returns(gw):
    def round_of_big_frames() -> None:
        for _ in range(3):
            ws = open_ws(gw.port)
            challenge(ws)
            ws.send("x" * (PREAUTH_MAX_BYTES + 1))
            assert closed_with(ws)[0] == 1009
        for _ in range(3):
            ws, _ = handshake(gw.port)
            ws.send(json.dumps({"type": "req", "id": "big", "method": "health", "params": {"pad": "x" * MAX_PAYLOAD_BYTES}}))
            assert closed_with(ws, timeout=30)[0] == 1009
        # Just under the limit: read, parsed, refused by the params check, connection kept.
        ws, _ = handshake(gw.port)
        label = "x" * (MAX_PAYLOAD_BYTES - 200)
        reply = request(ws, "sessions.patch", {"key": "agent:main:big", "label": label}, timeout=60)
        assert reply["error"]["message"].startswith(
            "invalid sessions.patch params: at /label: must NOT have more than 512 characters")
        assert request(ws, "health")["ok"]
        ws.close()

    before = rss(gw)
    round_of_big_frames()
    after_one = rss(gw)
    round_of_big_frames()
    round_of_big_frames()
    after_three = rss(gw)
    print(f"\nRSS around oversized frames: {before / 2**20:.0f} -> {after_one / 2**20:.0f} "
          f"-> {after_three / 2**20:.0f} MiB")
    # Each frame is at most held once (25 MiB read, a parsed copy); nothing accumulates.
    assert after_one - before < 200 * 2**20
    assert after_three - after_one < 40 * 2**20
    ws, res = handshake(gw.port)
    assert res["ok"] and request(ws, "health")["ok"]
    ws.close()


# --- floods -----------------------------------------------------------------------------------------------

class Prober(threading.Thread):
    """Another client: one health request every 20 ms, latencies recorded."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.ws, _ = handshake(port)
        self.stop_event = threading.Event()
        self.latencies: list[float] = []
        self.failure: str | None = None

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                started = time.monotonic()
                assert request(self.ws, "health", timeout=30)["ok"]
                self.latencies.append(time.monotonic() - started)
                time.sleep(0.02)
        except Exception as exc:  # noqa: BLE001
            self.failure = repr(exc)
        finally:
            self.ws.close()


FLOOD = 6_000
FLOOD_MIX = (("health", {}), ("sessions.list", {"limit": 1}), ("sessions.patch", {"key": "x", "nope": 1}))


@pytest.mark.slow
@pytest.mark.alone
def test_a_flood_on_one_connection_is_answered_and_others_are_still_served(gw):
    # The flooder sends no keepalive pings: the Gateway leaves a flooding connection's frames
    # unread in TCP while its requests are in flight (by design), so its pings would wait
    # behind the flood, and on a slow machine the client would give up on its own connection.
    ws = open_ws(gw.port, ping_interval=None)
    challenge(ws)
    assert request(ws, "connect", connect_params())["ok"]
    request(ws, "sessions.list", {"limit": 1})  # the store is loaded before we measure
    before = rss(gw)
    answered: dict[str, bool] = {}
    peak = [before]
    failure: list[str] = []

    def read_all() -> None:
        try:
            while len(answered) < FLOOD:
                frame = recv_json(ws, 60)
                if frame.get("type") == "res":
                    answered[frame["id"]] = frame["ok"]
                    if len(answered) % 500 == 0:
                        peak[0] = max(peak[0], rss(gw))
        except Exception as exc:  # noqa: BLE001
            failure.append(repr(exc))

    reader = threading.Thread(target=read_all, daemon=True)
    prober = Prober(gw.port)
    reader.start()
    prober.start()
    started = time.monotonic()
    for i in range(FLOOD):
        method, params = FLOOD_MIX[i % len(FLOOD_MIX)]
        ws.send(json.dumps({"type": "req", "id": f"f{i}", "method": method, "params": params}))
    reader.join(180)
    elapsed = time.monotonic() - started
    prober.stop_event.set()
    prober.join(30)
    ws.close()
    assert not failure, failure
    # Every request answered, the bad ones with their error, in any order.
    assert answered == {f"f{i}": i % len(FLOOD_MIX) != 2 for i in range(FLOOD)}
    assert prober.failure is None, prober.failure
    print(f"\nflood of {FLOOD} in {elapsed:.1f}s: RSS {before / 2**20:.0f} -> peak {peak[0] / 2**20:.0f} MiB; "
          f"other client p50 {statistics.median(prober.latencies) * 1000:.0f} ms, "
          f"p99 {p99(prober.latencies) * 1000:.0f} ms")
    assert peak[0] - before < 64 * 2**20
    assert p99(prober.latencies) < 1.0


@pytest.mark.slow
@pytest.mark.alone
def test_a_flooder_that_never_reads_cannot_grow_the_gateway(gw):
    """It pipelines requests and reads none of the answers: at most a bounded
    number of its requests are taken in (the rest wait in TCP), so memory stays
    flat and everyone else is served at normal speed."""
    flooder, _ = handshake(gw.port)
    request(flooder, "health")
    before = rss(gw)
    sent = [0]

    def flood() -> None:
        try:
            while True:
                flooder.send(json.dumps({"type": "req", "id": f"g{sent[0]}", "method": "health"}))
                sent[0] += 1
        except Exception:  # noqa: BLE001 - ends when the test cuts the socket
            return

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    prober = Prober(gw.port)
    prober.start()
    time.sleep(4)
    during = rss(gw)
    prober.stop_event.set()
    prober.join(30)
    flooder.socket.shutdown(socket.SHUT_RDWR)  # its send is blocked: cut the socket under it
    sender.join(10)
    print(f"\nnon-reading flooder pushed {sent[0]} requests: RSS {before / 2**20:.0f} -> {during / 2**20:.0f} MiB; "
          f"other client p99 {p99(prober.latencies) * 1000:.0f} ms")
    assert prober.failure is None, prober.failure
    assert sent[0] > 1000  # it did flood
    assert during - before < 32 * 2**20
    assert p99(prober.latencies) < 1.0
    ws, res = handshake(gw.port)
    assert res["ok"] and request(ws, "health")["ok"]
    ws.close()
    no_handler_failed(gw)
