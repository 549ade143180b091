"""Who carries a mutating command: the Gateway when one answers, else the
offline path. Commands call :func:`dispatch`; plugins implement the
``openclaw_transport`` hook (built-in: ``openclaw_gateway_rpc``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks


_log = logging.getLogger(__name__)


@dataclass
class TransportRequest:
    """One Gateway method call a command wants carried."""

    method: str                      # e.g. "sessions.cleanup", "agents.delete"
    params: dict[str, Any]
    config: Config
    scopes: list[str] = field(default_factory=lambda: ["operator.admin"])
    timeout: float = 10.0            # the reference's overall budget (connect + request)

    @property
    def mutating(self) -> bool:
        """Beyond read scope it may change a store or the config: only the Gateway
        of this command's state dir may carry it."""
        return any(scope != "operator.read" for scope in self.scopes)


@dataclass
class TransportResponse:
    """The method's result, and who carried it."""

    payload: Any
    transport: str                   # "gateway" for the built-in RPC plugin
    hello: dict[str, Any] | None = None  # the Gateway's hello-ok (version, methods, uptime), when known
    url: str | None = None           # where the Gateway that carried it listens, when known


def dispatch(request: TransportRequest, hooks: Hooks) -> TransportResponse | None:
    """Ask the transport plugins to carry ``request``.

    None means no transport could connect, or none reached a Gateway of this
    command's state dir (mutations only): run the offline path. A transport
    that reached a Gateway but could not complete raises
    :class:`~openclaw_core.base.errors.GatewayError` (never fall back then).
    """
    from openclaw_core.base.errors import GatewayError, OpenClawError

    try:
        response = hooks.transport(request)
    except OpenClawError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken transport plugin
        # It may have sent the request already: fail, never run the job offline too.
        raise GatewayError(f"{request.method}: the transport failed ({type(exc).__name__}: {exc}); "
                           f"the command was not run offline") from None
    # Shown with `openclaw -v`: who carried the command, or that it runs here.
    if response is None:
        _log.debug(f"{request.method}: no transport connected; running it here (offline)")
    else:
        _log.debug(f"{request.method}: carried by the {response.transport!r} transport")
    return response
