"""Built-in transport: carry a command to a running Gateway over its WebSocket RPC.

Implements ``openclaw_transport``: find the Gateway (the explicit target, else
this state dir's endpoint record, then every address ``gateway.bind`` resolves
to), sign in with the shared token and this state dir's device identity (the
same ``identity/device.json`` OpenClaw's CLI uses, so OpenClaw's Gateway accepts
it; created only once something answered), call one method, within the
reference's 10 s budget. A mutation is sent only to a Gateway whose hello-ok
names this command's state dir and config; one of another state dir is skipped
with a stderr line (the offline path then runs for the state dir the user named).

When it falls back and when it refuses (see ``client.call``):

* nothing could be reached (refused, no route, nothing listening): return
  None, the offline path runs;
* the Gateway refused us (wrong or missing token, bad identity): an error
  that says so; we never write the store beside a running Gateway;
* the request was sent and then the socket closed or the budget ran out: an
  error saying the Gateway may still be running the job (no local replay);
* the method answered ``ok:false``: ``GatewayClientRequestError: <message>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openclaw_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from openclaw_core.engine.transport import TransportRequest, TransportResponse


@hookimpl(trylast=True)
def openclaw_transport(request: TransportRequest) -> TransportResponse | None:
    from openclaw_gateway_rpc.client import call_for_transport  # websockets/cryptography only when used

    return call_for_transport(request)
