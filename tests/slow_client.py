"""A WebSocket client that completes the Gateway handshake by hand on a raw TCP
socket and then can stop reading: the peer a Gateway must survive (a small
receive buffer, so the kernel soon stops taking the server's bytes).

Used by tests/test_hostile_gateway.py and bench/bench_gateway_memory.py.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
import uuid
from typing import Any


def frame(text: str) -> bytes:
    """One masked client text frame (RFC 6455 5.2)."""
    payload = text.encode("utf-8", "surrogatepass")
    head = bytearray([0x81])
    n = len(payload)
    if n < 126:
        head.append(0x80 | n)
    elif n < 1 << 16:
        head.append(0x80 | 126)
        head += struct.pack("!H", n)
    else:
        head.append(0x80 | 127)
        head += struct.pack("!Q", n)
    mask = os.urandom(4)
    head += mask
    return bytes(head) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def request_frame(method: str, params: Any = None, rid: str | None = None) -> bytes:
    req: dict[str, Any] = {"type": "req", "id": rid or str(uuid.uuid4()), "method": method}
    if params is not None:
        req["params"] = params
    return frame(json.dumps(req))


class RawClient:
    """Connect, answer the challenge, ``connect``; then read only when asked."""

    def __init__(self, port: int, *, token: str | None, rcvbuf: int = 4096, scopes: list[str] | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self._buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        while b"\r\n\r\n" not in self._buf:
            self._fill()
        head, _, self._buf = self._buf.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"no upgrade: {head[:200]!r}")
        challenge = self.recv_json()
        assert challenge.get("event") == "connect.challenge", challenge
        params: dict[str, Any] = {
            "minProtocol": 3, "maxProtocol": 3,
            "client": {"id": "gateway-client", "version": "test", "platform": "linux", "mode": "backend"},
            "role": "operator", "scopes": scopes or ["operator.admin"]}
        if token:
            params["auth"] = {"token": token}
        self.sock.sendall(request_frame("connect", params, "connect"))
        self.hello = self.recv_json()
        assert self.hello.get("ok"), self.hello
        self._sender: threading.Thread | None = None
        self._stop = threading.Event()
        self.sent = 0
        self.send_error: OSError | None = None

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        self._buf += chunk

    def _take(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill()
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def recv_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next server frame (unfragmented, unmasked)."""
        b0, b1 = self._take(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._take(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._take(8))
        return b0 & 0x0F, self._take(n)

    def recv_json(self) -> dict[str, Any]:
        while True:
            opcode, payload = self.recv_frame()
            if opcode == 1:
                return json.loads(payload)
            if opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise ConnectionError(f"close {code} {payload[2:].decode(errors='replace')}")

    def send(self, method: str, params: Any = None) -> None:
        self.sock.sendall(request_frame(method, params))

    def pipeline(self, method: str, params: Any = None, *, batch: int = 200) -> None:
        """Send the same request over and over from a thread, never reading, until
        :meth:`close` (a send the server does not take just waits)."""
        data = b"".join(request_frame(method, params, f"p{i}") for i in range(batch))

        def run() -> None:
            self.sock.setblocking(False)
            view, offset = memoryview(data), 0
            while not self._stop.is_set():
                try:
                    offset += self.sock.send(view[offset:])
                except BlockingIOError:
                    time.sleep(0.01)
                    continue
                except OSError as exc:
                    self.send_error = exc  # the server closed or cut the connection
                    return
                if offset == len(data):
                    offset = 0
                    self.sent += batch

        self._sender = threading.Thread(target=run, daemon=True)
        self._sender.start()

    def is_open(self) -> bool:
        """Has the server not closed (or cut) this connection, as far as the
        pipelining thread can tell? (Reads nothing the server sent.)"""
        return self.send_error is None

    def close(self) -> None:
        self._stop.set()
        if self._sender is not None:
            self._sender.join(5)
        try:
            self.sock.close()
        except OSError:
            pass
