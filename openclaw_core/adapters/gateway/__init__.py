"""The Gateway: OpenClaw's WebSocket protocol (version 3) served on top of the
core writer, so runtime patches, cleanups and agent purges share one queue per
store. See docs/gateway.md.

Modules: ``protocol`` (frames, schemas, error shapes), ``identity`` (Ed25519
device identities), ``auth`` (the connect decision), ``methods`` (the
:class:`GatewayMethod` type plugins return), ``builtin`` (the core's methods),
``server`` (the asyncio server).
"""
