"""``logs.tail``: the Gateway's own log file (see :mod:`.logfile`), bounded by
the reference's limits: at most 5000 lines and 1,000,000 bytes an answer."""

from __future__ import annotations

from typing import Any

from openclaw_core.adapters.gateway import logfile
from openclaw_core.adapters.gateway.methods import GatewayMethod, MethodCall
from openclaw_core.engine.wire.protocol import READ_SCOPE, S, obj

LOGS_TAIL = obj({"cursor": S(type="integer", minimum=0),
                 "limit": S(type="integer", minimum=1, maximum=logfile.TAIL_MAX_LINES),
                 "maxBytes": S(type="integer", minimum=1, maximum=logfile.TAIL_MAX_BYTES)})


async def logs_tail(call: MethodCall) -> dict[str, Any]:
    params = call.params
    cursor = params.get("cursor")
    limit = int(params.get("limit", logfile.TAIL_DEFAULT_LINES))
    max_bytes = int(params.get("maxBytes", logfile.TAIL_DEFAULT_BYTES))
    path = call.gateway.ops.log_file.path
    return await call.run_blocking(logfile.tail, path, cursor=int(cursor) if cursor is not None else None,
                                   limit=limit, max_bytes=max_bytes)


def logs_methods() -> list[GatewayMethod]:
    return [GatewayMethod("logs.tail", logs_tail, scope=READ_SCOPE, params=LOGS_TAIL)]
