"""One connection's outgoing frames, bounded in bytes.

A peer that stops reading must cost the Gateway a bounded amount of memory and
nobody else any time. So no handler ever awaits a socket write: responses and
events go into the connection's :class:`Outbox`, one writer task per connection
hands them to the socket one at a time (waiting for the kernel to take each),
and every byte not yet taken by the kernel is counted:

``pending`` = frames queued here + the transport's write buffer.

* ``pending`` over ``policy.maxBufferedBytes`` (the limit hello-ok advertises):
  the connection is closed (1008 ``slow consumer``), logged.
* ``pending`` over ``lag_bytes``: the subscriber is lagging; events for it are
  dropped instead of queued (``tick``s simply go missing, their ``seq`` gap
  says so); once it has caught up it gets one ``sessions.changed`` with
  ``reason: "resync"`` and the number of events it missed, so it re-lists.
* ``wait_room(budget)`` lets the server hold back new work for a connection
  whose answers are not being read (see server.py: in-flight bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from openclaw_core.engine.wire.protocol import CLOSE_POLICY

POLL_S = 0.05        # how often a waiter re-checks a kernel buffer nobody drains
CLOSE_GRACE_S = 1.0  # a close frame a peer that does not read never takes


def _size(text: str) -> int:
    """Bytes of ``text`` on the wire (UTF-8), without encoding the common ASCII frame."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class Outbox:
    def __init__(self, ws: Any, *, max_buffered: int, lag_bytes: int, label: str,
                 log: Callable[[str], None], resync_frame: Callable[[int], str | None]) -> None:
        self.ws = ws
        self.max_buffered = max_buffered
        self.lag_bytes = lag_bytes
        self.label = label
        self.log = log
        self._resync_frame = resync_frame
        self._queue: deque[tuple[str, int]] = deque()
        self._queued_bytes = 0
        self._wakeup = asyncio.Event()
        self._progress = asyncio.Event()
        self.closed = False
        self.dropped_events = 0        # since the last resync
        self.dropped_total = 0
        self._task = asyncio.create_task(self._run())

    # -- accounting ---------------------------------------------------------------------------

    def transport_bytes(self) -> int:
        transport = getattr(self.ws, "transport", None)
        try:
            return int(transport.get_write_buffer_size()) if transport is not None else 0
        except Exception:  # noqa: BLE001 - a transport already torn down holds nothing
            return 0

    def pending(self) -> int:
        return self._queued_bytes + self.transport_bytes()

    def lagging(self) -> bool:
        return self.pending() > self.lag_bytes

    # -- sending (never blocks) -------------------------------------------------------------------

    def send_response(self, text: str) -> bool:
        """Queue a response; a connection it would take over its limit is closed."""
        if self.closed:
            return False
        size = _size(text)
        if self.pending() + size > self.max_buffered:
            self.overflow(size)
            return False
        self._push(text, size)
        return True

    def send_event(self, text: str, *, resync: bool = False) -> bool:
        """Queue an event unless the peer lags. A dropped ``resync`` event
        (``sessions.changed``) is owed to the peer as one resync event later."""
        if self.closed:
            return False
        size = _size(text)
        if self.lagging() or self.pending() + size > self.max_buffered:
            self.dropped_total += 1
            if resync:
                self.dropped_events += 1
            return False
        self._push(text, size)
        return True

    def _push(self, text: str, size: int) -> None:
        self._queue.append((text, size))
        self._queued_bytes += size
        self._wakeup.set()

    def overflow(self, size: int) -> None:
        self.log(f"[gateway] closing slow consumer {self.label}: {self.pending() + size} bytes would be "
                 f"buffered, limit {self.max_buffered} (policy.maxBufferedBytes)")
        asyncio.get_running_loop().create_task(self.close(CLOSE_POLICY, "slow consumer", flush=False))

    # -- waiting for the peer ---------------------------------------------------------------------

    async def wait_room(self, budget: int, *, give_up: Callable[[], bool] = lambda: False) -> None:
        """Return once less than ``budget`` bytes are pending, the connection is
        closed or ``give_up()`` says so."""
        while not self.closed and not give_up() and self.pending() >= budget:
            self._progress.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._progress.wait(), POLL_S)

    async def flush(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) until everything queued reached the kernel."""
        deadline = time.monotonic() + timeout
        while self._queue or self.transport_bytes():
            if self.closed or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        return True

    async def close(self, code: int, reason: str, *, flush: bool = True, grace: float = CLOSE_GRACE_S) -> None:
        """Close with ``code``/``reason``; a peer that does not take the close frame
        within ``grace`` has its TCP connection cut."""
        if self.closed:
            return
        if flush:
            await self.flush(grace)
        self.closed = True
        self._drop_queue()
        self._task.cancel()
        try:
            await asyncio.wait_for(self.ws.close(code, reason), grace)
        except Exception:  # noqa: BLE001 - timeout or a dead socket: cut it
            pass
        transport = getattr(self.ws, "transport", None)
        if transport is not None and not transport.is_closing():
            transport.abort()
        elif transport is not None and self.transport_bytes():
            transport.abort()  # closing but still holding our bytes for a peer that will not read

    def discard(self) -> None:
        """The connection is over: drop what is queued and end the writer task."""
        self.closed = True
        self._drop_queue()
        self._task.cancel()

    def _drop_queue(self) -> None:
        self._queue.clear()
        self._queued_bytes = 0
        self._progress.set()

    # -- the writer -------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self.dropped_events and not self.lagging():
                    missed, self.dropped_events = self.dropped_events, 0
                    text = self._resync_frame(missed)
                    if text is not None:
                        self._push(text, _size(text))
                    continue
                self._wakeup.clear()
                if self.dropped_events:
                    # Wake up to send the resync once the kernel has taken the backlog.
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), POLL_S)
                else:
                    await self._wakeup.wait()
                continue
            text, size = self._queue.popleft()
            self._queued_bytes -= size
            try:
                await self.ws.send(text)  # returns once the transport is below its high-water mark
            except Exception:  # noqa: BLE001 - the peer is gone: nothing more to send
                self.closed = True
                self._drop_queue()
                return
            self._progress.set()
