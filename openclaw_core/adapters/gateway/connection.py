"""One Gateway connection: the authenticated session, the request a task
serves, and the per-connection limits both the server and its request
serving apply (docs/gateway.md, "Limits")."""

from __future__ import annotations

import asyncio
import contextvars
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw_core.adapters.gateway.backpressure import Outbox
from openclaw_core.engine.wire import protocol
from openclaw_core.js import json as jsjson

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

# Per connection: requests being served at once, and bytes of work in flight
# (request frames being served + answers the peer has not taken yet); beyond
# either, its next frames stay unread in TCP.
MAX_INFLIGHT_PER_CONNECTION = 64
# Jobs of one connection on the shared thread pool at once, so a pipelining
# client cannot queue a long line in front of everyone else's request.
MAX_BLOCKING_PER_CONNECTION = 2


@dataclass
class ClientSession:
    """One authenticated connection."""

    conn_id: str
    ws: ServerConnection
    role: str
    scopes: list[str]
    client: dict[str, Any]
    device_id: str | None
    protocol_version: int = protocol.PROTOCOL_VERSION  # negotiated at connect: decides the shapes it gets
    seq: int = 0
    subscribed: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    outbox: Outbox | None = None
    request_bytes: int = 0  # frames of the requests being served
    blocking_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(MAX_BLOCKING_PER_CONNECTION))

    @property
    def label(self) -> str:
        return f"conn={self.conn_id} client={self.client.get('id')}/{self.client.get('mode')}"


@dataclass
class RequestContext:
    """The request a task serves (a context variable, so run_blocking and mutate know it)."""

    session: ClientSession
    worked: bool = False  # has it started a write or a blocking job? then it runs to its end


CURRENT_REQUEST: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("openclaw_gateway_request",
                                                                                 default=None)


def now_ms() -> int:
    return int(time.time() * 1000)


def frame_id(raw: Any) -> str:
    """The id of a request frame we will not serve, else ``invalid``."""
    try:
        frame = jsjson.loads(raw)
    except jsjson.JSONError:
        return "invalid"
    return frame["id"] if isinstance(frame, dict) and isinstance(frame.get("id"), str) and frame["id"] else "invalid"
