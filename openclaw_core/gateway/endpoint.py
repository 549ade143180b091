"""Where the Gateway is: port, bind address, URL and token, resolved the way
OpenClaw does (``--port`` > ``OPENCLAW_GATEWAY_PORT`` > ``gateway.port`` >
18789; ``OPENCLAW_GATEWAY_TOKEN`` > ``gateway.auth.token``), shared by
``gateway run`` and the clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openclaw_core.errors import ConfigError, UsageError
from openclaw_core.jsvalues import js_trim

if TYPE_CHECKING:
    from openclaw_core.config import Config

DEFAULT_PORT = 18789

# Least privilege a client asks for per method (others: operator.admin).
READ_METHODS = frozenset({"health", "sessions.list", "sessions.subscribe", "sessions.unsubscribe",
                          "agents.list", "config.get", "status", "sessions.preview", "sessions.describe"})


def scopes_for(method: str) -> list[str]:
    return ["operator.read"] if method in READ_METHODS else ["operator.admin"]


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1, localhost."""
    import ipaddress

    if host in ("localhost", "loopback"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parse_port(value: str, source: str) -> int:
    try:
        port = int(js_trim(value))
    except ValueError:
        raise ConfigError(f"{source}: not a port number: {value!r}") from None
    if not 0 <= port < 65536:
        raise ConfigError(f"{source}: port out of range: {port}")
    return port


def resolve_port(config: Config, cli_port: int | None = None) -> int:
    if cli_port is not None:
        if not 0 <= cli_port < 65536:
            raise UsageError(f"--port: out of range: {cli_port}")
        return cli_port
    env_port = js_trim(config.env.get("OPENCLAW_GATEWAY_PORT") or "")
    if env_port:
        return _parse_port(env_port, "OPENCLAW_GATEWAY_PORT")
    return config.gateway_port()


def resolve_bind(config: Config, cli_bind: str | None = None) -> str:
    """``loopback``, ``lan`` or an address (``custom`` reads gateway.customBindHost)."""
    bind = cli_bind if cli_bind is not None else config.get("gateway.bind")
    if bind is None or bind == "":
        return "loopback"
    if not isinstance(bind, str):
        raise ConfigError("gateway.bind: expected a string")
    bind = js_trim(bind)
    if bind == "custom":
        host = config.get("gateway.customBindHost")
        if not isinstance(host, str) or not js_trim(host):
            raise ConfigError('gateway.bind is "custom" but gateway.customBindHost is not set')
        return js_trim(host)
    if bind in ("loopback", "lan"):
        return bind
    import ipaddress

    try:
        ipaddress.ip_address(bind.strip("[]"))
    except ValueError:
        raise UsageError(f'--bind: expected "loopback", "lan" or an IP address, got "{bind}"') from None
    return bind.strip("[]")


def resolve_token(config: Config) -> str | None:
    """The shared token a client sends (remote mode: gateway.remote.token)."""
    env_token = js_trim(config.env.get("OPENCLAW_GATEWAY_TOKEN") or "")
    if env_token:
        return env_token
    if config.get("gateway.mode") == "remote":
        token = config.get("gateway.remote.token")
        if isinstance(token, str) and js_trim(token):
            return js_trim(token)
    return config.gateway_token()


def resolve_url(config: Config) -> str:
    override = js_trim(config.env.get("OPENCLAW_GATEWAY_URL") or "")
    if override:
        return override
    if config.get("gateway.mode") == "remote":
        url = config.get("gateway.remote.url")
        if isinstance(url, str) and js_trim(url):
            return js_trim(url)
        raise ConfigError(f"gateway remote mode misconfigured: gateway.remote.url missing (config: {config.path})")
    return f"ws://127.0.0.1:{resolve_port(config)}"
