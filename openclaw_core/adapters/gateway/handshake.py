"""A connection's first frames: the challenge, the connect request (protocol
negotiation, token and device auth, device tokens) and the hello-ok."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from openclaw_core import __version__
from openclaw_core.js import json as jsjson
from openclaw_core.adapters.gateway import auth
from openclaw_core.engine.wire import protocol
from openclaw_core.adapters.gateway.device_tokens import IssuedToken
from openclaw_core.engine.wire.protocol import ErrorCodes, error_shape
from openclaw_core.adapters.gateway.connection import ClientSession, now_ms
if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection



# What hello-ok advertises.
EVENTS = ["connect.challenge", "sessions.changed", "tick", "shutdown", "health", "presence"]


class Handshake:
    """Mixed into :class:`GatewayServer` (which provides the connection and the state)."""

    async def _handshake(self, ws: ServerConnection, conn_id: str, nonce: str) -> ClientSession | None:
        from websockets.exceptions import ConnectionClosed

        try:
            raw = await asyncio.wait_for(ws.recv(), self.preauth_timeout)
        except asyncio.TimeoutError:
            await ws.close(protocol.CLOSE_POLICY, "handshake timeout")
            return None
        except ConnectionClosed:
            return None
        try:
            frame = jsjson.loads(raw)
        except jsjson.JSONError:
            await ws.close(protocol.CLOSE_POLICY, "invalid request frame")
            return None
        if protocol.validate(frame, protocol.REQUEST_FRAME) is not None:
            await ws.close(protocol.CLOSE_POLICY, "invalid request frame")
            return None
        request_id = frame["id"]

        async def refuse(error: dict[str, Any], code: int, reason: str) -> None:
            await ws.send(jsjson.dumps_compact({"type": "res", "id": request_id, "ok": False, "error": error}))
            await ws.close(code, reason)

        try:
            return await self._connect(ws, conn_id, nonce, frame, refuse)
        except ConnectionClosed:
            raise
        except Exception as exc:  # noqa: BLE001 - answered and logged, never a silent close
            self.log(f"[gateway] connect failed conn={conn_id}: {type(exc).__name__}: {exc}")
            await refuse(error_shape(ErrorCodes.UNAVAILABLE, f"connect failed: {type(exc).__name__}: {exc}"),
                         protocol.CLOSE_INTERNAL_ERROR, "internal error")
            return None

    async def _connect(self, ws: ServerConnection, conn_id: str, nonce: str, frame: dict[str, Any],
                       refuse: Callable[..., Any]) -> ClientSession | None:
        request_id = frame["id"]
        params = frame.get("params")
        if frame["method"] != "connect":
            message = "invalid handshake: first request must be connect"
            await refuse(error_shape(ErrorCodes.INVALID_REQUEST, message), protocol.CLOSE_POLICY, message)
            return None
        problem = protocol.validate(params, protocol.CONNECT_PARAMS)
        if problem is not None:
            message = f"invalid connect params: {problem}"
            await refuse(error_shape(ErrorCodes.INVALID_REQUEST, message), protocol.CLOSE_POLICY, message[:120])
            return None
        version = protocol.negotiate(params["minProtocol"], params["maxProtocol"])
        if version is None:
            await refuse(protocol.protocol_mismatch(params["minProtocol"], params["maxProtocol"]),
                         protocol.CLOSE_PROTOCOL_ERROR, "protocol mismatch")
            return None
        decision = auth.decide(params, nonce=nonce, configured_token=self.token, protocol_version=version,
                               device_token_ok=self.device_tokens.verify)
        if isinstance(decision, auth.Rejected):
            client = params["client"]
            self.log(f"[gateway] connect refused conn={conn_id} client={client.get('id')} "
                     f"reason={decision.error['message']}")
            await refuse(decision.error, decision.close_code, decision.close_reason)
            return None
        session = ClientSession(conn_id, ws, decision.role, decision.scopes, params["client"], decision.device_id,
                                protocol_version=version)
        issued = None
        client = params["client"]
        if decision.device_id is not None and not (client["id"] == "gateway-client" and client["mode"] == "backend"):
            # A paired device gets its token (the local backend helper pairs nothing, as in OpenClaw).
            issued = await asyncio.to_thread(self.device_tokens.ensure, decision.device_id, decision.role,
                                             decision.scopes)
        await ws.send(jsjson.dumps_compact({"type": "res", "id": request_id, "ok": True,
                              "payload": self._hello(session, decision, issued)}))
        ws.protocol.max_message_size = protocol.MAX_PAYLOAD_BYTES
        return session

    def _hello(self, session: ClientSession, decision: auth.Accepted,
               issued: IssuedToken | None = None) -> dict[str, Any]:
        config = self.config
        snapshot: dict[str, Any] = {
            "presence": self.ops.presence.entries(),
            "health": {"ok": True, "ts": now_ms()},
            "stateVersion": self.ops.state_version(),
            "uptimeMs": self.uptime_ms(),
            "sessionDefaults": {
                "defaultAgentId": config.default_agent_id(),
                "mainKey": config.main_key,
                "mainSessionKey": config.main_session_key(),
                "scope": "global" if config.get("session.scope") == "global" else "per-sender",
            },
        }
        if protocol.ADMIN_SCOPE in session.scopes:
            snapshot.update(configPath=str(config.path), stateDir=str(config.state_dir),
                            authMode="token" if self.token else "none")
        return {
            "type": "hello-ok",
            "protocol": session.protocol_version,
            "server": {"version": __version__, "connId": session.conn_id},
            "features": {"methods": list(self.methods), "events": EVENTS},
            "snapshot": snapshot,
            "auth": self._hello_auth(session, decision, issued),
            "policy": {"maxPayload": protocol.MAX_PAYLOAD_BYTES, "maxBufferedBytes": self.max_buffered,
                       "tickIntervalMs": self.tick_interval_ms},
        }

    @staticmethod
    def _hello_auth(session: ClientSession, decision: auth.Accepted, issued: IssuedToken | None) -> dict[str, Any]:
        shape: dict[str, Any] = {"role": session.role, "scopes": session.scopes}
        if session.protocol_version >= 4:
            # The later OpenClaw's v4 hello-ok names the auth method first.
            shape = {"method": decision.auth_method, **shape}
        if issued is not None:
            # Only in this connection's own hello-ok; never logged.
            shape.update(deviceToken=issued.token, issuedAtMs=issued.issued_at_ms)
        return shape
