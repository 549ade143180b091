"""How a connection's requests are served: frames taken from the socket only
while the connection has room (requests and bytes in flight), each request run
as a task, checked for scope and params, dispatched to its method and answered
exactly once."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from openclaw_core.js import json as jsjson
from openclaw_core.base.errors import OpenClawError
from openclaw_core.adapters.gateway import auth
from openclaw_core.engine.wire import protocol
from openclaw_core.adapters.gateway.backpressure import POLL_S
from openclaw_core.adapters.gateway.methods import MethodCall, MethodError
from openclaw_core.engine.wire.protocol import ErrorCodes, error_shape
from openclaw_core.adapters.gateway.connection import CURRENT_REQUEST, MAX_INFLIGHT_PER_CONNECTION, ClientSession, RequestContext
from openclaw_core.adapters.gateway.connection import frame_id as id_of_frame


class RequestServing:
    """Mixed into :class:`GatewayServer` (which provides the connection and the state)."""

    async def _serve(self, session: ClientSession) -> None:
        from websockets.exceptions import ConnectionClosed

        ws = session.ws
        assert session.outbox is not None
        while True:
            await self._wait_for_room(session)
            if session.outbox.closed:
                break
            try:
                raw = await ws.recv()
            except ConnectionClosed:
                break
            try:
                self._take(session, raw)
            except Exception as exc:  # noqa: BLE001 - a frame we failed on still gets an answer
                self.log(f"[gateway] request failed {session.label}: {type(exc).__name__}: {exc}")
                await self._reply_error_raw(session, raw, error_shape(
                    ErrorCodes.UNAVAILABLE, f"internal error: {type(exc).__name__}: {exc}"))
        # The peer is gone: let its requests finish (their writes are already queued).
        if session.tasks:
            await asyncio.wait(list(session.tasks))

    async def _wait_for_room(self, session: ClientSession) -> None:
        """Hold the next read while this connection has too much in flight (count
        or bytes): its requests stay unread in TCP, not in our memory, and the
        other connections keep their share of the server."""
        outbox = session.outbox
        assert outbox is not None
        while not outbox.closed:
            if len(session.tasks) >= MAX_INFLIGHT_PER_CONNECTION:
                await asyncio.wait(list(session.tasks), return_when=asyncio.FIRST_COMPLETED)
            elif session.request_bytes + outbox.pending() >= self.inflight_bytes:
                await asyncio.sleep(POLL_S)
            else:
                return

    def _take(self, session: ClientSession, raw: str | bytes) -> None:
        """One frame after the handshake: answered now (bad frame, shutting down) or spawned."""
        if self._stopping:
            # No new work once shutdown began; say so instead of starting it.
            self._answer(session, {"type": "res", "id": id_of_frame(raw), "ok": False, "error": error_shape(
                ErrorCodes.UNAVAILABLE, "gateway is shutting down", retryable=True)})
            return
        try:
            frame = jsjson.loads(raw)  # JSON.parse's grammar: a lone surrogate escape is a string
        except jsjson.JSONError:
            self._answer(session, {"type": "res", "id": "invalid", "ok": False, "error": error_shape(
                ErrorCodes.INVALID_REQUEST, "invalid request frame: not valid JSON")})
            return
        problem = protocol.validate(frame, protocol.REQUEST_FRAME)
        if problem is not None:
            frame_id = frame.get("id") if isinstance(frame, dict) and isinstance(frame.get("id"), str) else None
            self._answer(session, {"type": "res", "id": frame_id or "invalid", "ok": False, "error": error_shape(
                ErrorCodes.INVALID_REQUEST, f"invalid request frame: {problem}")})
            return
        size = len(raw)
        session.request_bytes += size

        def done(_: asyncio.Task[None]) -> None:
            session.request_bytes -= size

        self._spawn(session, self._run_request(session, frame)).add_done_callback(done)

    async def _reply_error_raw(self, session: ClientSession, raw: Any, error: dict[str, Any]) -> None:
        self._answer(session, {"type": "res", "id": id_of_frame(raw), "ok": False, "error": error})

    def _spawn(self, session: ClientSession, coro: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        session.tasks.add(task)
        task.add_done_callback(session.tasks.discard)
        return task

    async def _run_request(self, session: ClientSession, frame: dict[str, Any]) -> None:
        name = frame["method"]
        request_id = frame["id"]
        started = time.monotonic()
        context = RequestContext(session)
        CURRENT_REQUEST.set(context)  # this task's own context: run_blocking knows whose work it is
        try:
            assert session.outbox is not None
            # New work waits while this connection's answers are not being read.
            await session.outbox.wait_room(self.inflight_bytes, give_up=lambda: self._stopping)
            if self._stopping:
                raise MethodError("gateway is shutting down", code=ErrorCodes.UNAVAILABLE, retryable=True)
            payload = await self.dispatch(session, name, frame.get("params"), request_id)
        except MethodError as exc:
            response = {"type": "res", "id": request_id, "ok": False, "error": exc.shape()}
        except OpenClawError as exc:
            response = {"type": "res", "id": request_id, "ok": False,
                        "error": error_shape(ErrorCodes.INVALID_REQUEST, exc.message)}
        except Exception as exc:  # noqa: BLE001 - one broken handler must not take the server down
            self.log(f"[gateway] {name} failed: {type(exc).__name__}: {exc}")
            response = {"type": "res", "id": request_id, "ok": False,
                        "error": error_shape(ErrorCodes.UNAVAILABLE, f"{type(exc).__name__}: {exc}")}
        else:
            response = {"type": "res", "id": request_id, "ok": True, "payload": payload}
        if context.worked and response["ok"] and _may_be_large(response["payload"]):
            # An answer made by blocking work may be megabytes (a whole store's listing):
            # encoded off the event loop, which meanwhile serves everyone else. Small
            # ones (a patch's entry) are not worth the thread hop.
            response = await self._answer_off_loop(session, response, method=name)
        else:
            response = self._answer(session, response, method=name)
        if self.verbose:
            outcome = "ok" if response["ok"] else f"error {response['error']['code']}: {response['error']['message']}"
            self.log(f"[gateway] res {name} {outcome} {int((time.monotonic() - started) * 1000)}ms {session.label}")

    async def dispatch(self, session: ClientSession, name: str, params: Any, request_id: str = "") -> Any:
        method = self.methods.get(name)
        required = protocol.ADMIN_SCOPE if method is None else method.scope
        denied = auth.authorize_method(session.role, session.scopes, required)
        if denied is not None:
            raise MethodError(denied)
        if name == "connect":
            raise MethodError("connect is only valid as the first request")
        if method is None:
            raise MethodError(f"unknown method: {name}")
        if params is None:
            params = {}
        if method.params is not None:
            problem = protocol.validate(params, method.params)
            if problem is not None:
                raise MethodError(f"invalid {name} params: {problem}")
        call = MethodCall(name, params, session, self, request_id)
        result = method.handler(call)
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        return result

    def _answer(self, session: ClientSession, response: dict[str, Any], *, method: str = "") -> dict[str, Any]:
        """Queue a response on the connection's outbox (never waits for the peer).
        A payload JSON cannot carry becomes an error answer, logged; returns what was sent."""
        try:
            text = jsjson.dumps_compact(response)
        except (jsjson.JSONError, TypeError, ValueError) as exc:
            response, text = self._not_json(response, method, exc)
        if session.outbox is not None:
            session.outbox.send_response(text)
        return response

    async def _answer_off_loop(self, session: ClientSession, response: dict[str, Any], *,
                               method: str = "") -> dict[str, Any]:
        """:meth:`_answer` with the encoding on the encoder thread."""
        loop = asyncio.get_running_loop()
        try:
            text = await loop.run_in_executor(self._encoder, jsjson.dumps_compact, response)
        except (jsjson.JSONError, TypeError, ValueError) as exc:
            response, text = self._not_json(response, method, exc)
        if session.outbox is not None:
            session.outbox.send_response(text)
        return response

    def _not_json(self, response: dict[str, Any], method: str, exc: Exception) -> tuple[dict[str, Any], str]:
        self.log(f"[gateway] {method or 'response'} failed: its answer is not JSON: {exc}")
        response = {"type": "res", "id": response.get("id", "invalid"), "ok": False,
                    "error": error_shape(ErrorCodes.UNAVAILABLE, f"internal error: the answer is not JSON: {exc}")}
        return response, jsjson.dumps_compact(response)

    async def _send(self, session: ClientSession, frame: dict[str, Any]) -> None:
        self._answer(session, frame)


_LARGE_ITEMS = 64


def _may_be_large(payload: Any, depth: int = 2) -> bool:
    """Does the payload hold a long list or map (or text) within two levels? O(keys), not O(bytes)."""
    if isinstance(payload, str):
        return len(payload) > 16 * 1024
    if isinstance(payload, (list, dict)):
        if len(payload) > _LARGE_ITEMS:
            return True
        if depth:
            values = payload.values() if isinstance(payload, dict) else payload
            return any(_may_be_large(v, depth - 1) for v in values)
    return False
