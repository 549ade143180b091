"""The Gateway: OpenClaw's WebSocket protocol (versions 3 and 4) served on
top of the core writer, so runtime patches, cleanups and agent purges share
one queue per store. See docs/gateway.md.

Modules: ``server`` (the asyncio server, connections, dispatch), ``auth``
(the connect decision), ``backpressure`` (per-connection outboxes),
``redact`` (secrets never on the wire), ``methods`` (the
:class:`GatewayMethod` type plugins return), ``builtin`` and
``sessions_rpc`` (the core's methods). The frames and identities both ends
share live in :mod:`openclaw_core.engine.wire`.
"""
