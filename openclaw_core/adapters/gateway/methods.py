"""What a Gateway method is. The core's own methods and a plugin's come the
same way: a list of :class:`GatewayMethod` from the ``openclaw_gateway_methods``
hook.

A handler receives a :class:`MethodCall` and returns the response payload
(plain JSON data), or raises :class:`MethodError` for an ``ok:false`` answer.
It may be a coroutine function; a plain function runs on the event loop, so it
must not block (hand store mutations to ``call.mutate``, which awaits the
store's writer; do slow file work with ``await call.run_blocking(...)``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from openclaw_core.engine.wire.protocol import ADMIN_SCOPE, ErrorCodes

if TYPE_CHECKING:
    from openclaw_core.config.model import Config
    from openclaw_core.adapters.gateway.connection import ClientSession
    from openclaw_core.adapters.gateway.server import GatewayServer
    from openclaw_core.engine.store.state import MutationView

T = TypeVar("T")

Handler = Callable[["MethodCall"], Any | Awaitable[Any]]


@dataclass(frozen=True)
class GatewayMethod:
    """One RPC method.

    ``scope`` is the operator scope a caller needs (``operator.read``,
    ``operator.write``, ``operator.admin``; admin implies all, write implies
    read); ``None`` means any connected client may call it. ``params`` is an
    optional schema (see :mod:`openclaw_core.engine.wire.protocol`) checked before
    the handler runs; a mismatch answers ``invalid <name> params: ...``.
    """

    name: str
    handler: Handler
    scope: str | None = ADMIN_SCOPE
    params: Mapping[str, Any] | None = None
    description: str = ""


class MethodError(Exception):
    """An ``ok:false`` response: ``{code, message, details?}``."""

    def __init__(self, message: str, *, code: str = ErrorCodes.INVALID_REQUEST, details: Any = None,
                 retryable: bool | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.retryable = retryable

    def shape(self) -> dict[str, Any]:
        from openclaw_core.engine.wire.protocol import error_shape

        return error_shape(self.code, self.message, details=self.details, retryable=self.retryable)


@dataclass
class MethodCall:
    """One request as a handler sees it."""

    method: str
    params: dict[str, Any]
    client: ClientSession
    gateway: GatewayServer
    request_id: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        return self.gateway.config

    async def mutate(self, store_path: str, fn: Callable[[MutationView], T], **options: Any) -> T:
        """Run ``fn`` in the store's writer; returns its value once the write is durable."""
        return await self.gateway.mutate(store_path, fn, **options)

    async def read_store(self, store_path: str, fn: Callable[[Mapping[str, Mapping[str, Any]]], T]) -> T:
        """``fn(entries)`` on the store's live entries, off the event loop (do not modify them)."""
        from openclaw_core.engine.store.writer import get_writer

        writer = get_writer(store_path, self.config, self.gateway.hooks)
        return await self.run_blocking(writer.read, fn)

    def store_path(self, agent_id: str | None = None) -> str:
        """The store of ``agent_id`` (default agent when None)."""
        return str(self.config.store_path(agent_id))

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work (file scans, a whole cleanup) off the event loop."""
        return await self.gateway.run_blocking(fn, *args, **kwargs)

    def emit_sessions_changed(self, payload: dict[str, Any]) -> None:
        self.gateway.emit_sessions_changed(payload)
