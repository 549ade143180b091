"""``openclaw gateway``: run the Gateway, ask whether one is up, call a method.

``gateway run`` refuses to listen beyond loopback without a token: a Gateway
writes every agent's store, so an open one on a LAN would let anyone do so.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from openclaw_core.adapters.cli.usage import OpenClawGroup

from openclaw_core.base.errors import GatewayError, UsageError
from openclaw_core.js.values import js_trim
from openclaw_core.adapters.cli.context import hooks_of


@click.group(cls=OpenClawGroup, examples=[
    ("openclaw gateway run", "Serve on loopback, port 18789."),
    ("openclaw gateway status", "Is one running?"),
    ("openclaw gateway call health", "Call one method."),
])
def gateway() -> None:
    """Run the Gateway (the single writer of every store) or talk to a running one."""


@gateway.command("run", examples=[
    ("openclaw gateway run", "Loopback, the configured or default port."),
    ("openclaw gateway run --port 19001 --verbose", "Another port; log every request."),
    ("OPENCLAW_GATEWAY_TOKEN=secret openclaw gateway run --bind lan", "On the LAN (a token is required)."),
])
@click.option("--port", type=int, default=None, metavar="N",
              help="Port (default: OPENCLAW_GATEWAY_PORT, gateway.port, 18789).")
@click.option("--bind", default=None, metavar="loopback|lan|ADDR",
              help="Where to listen (default: gateway.bind, else loopback). Beyond loopback a token is required.")
@click.option("--verbose", is_flag=True, help="Log every request (method, outcome, time) to stderr.")
def run(port: int | None, bind: str | None, verbose: bool) -> None:
    """Serve the Gateway protocol (v3 and v4) until SIGTERM/SIGINT; queued writes finish first."""
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.engine.wire import endpoint
    from openclaw_core.adapters.gateway.server import is_loopback_host, resolve_bind_hosts

    config = load_config()
    listen_port = endpoint.resolve_port(config, port)
    bind_mode = endpoint.resolve_bind(config, bind)
    hosts = resolve_bind_hosts(bind_mode)
    token = _server_token(config)
    if not token and not all(is_loopback_host(h) for h in hosts):
        raise UsageError(f"refusing to bind the Gateway to {bind_mode} without a token: set gateway.auth.token "
                         "or OPENCLAW_GATEWAY_TOKEN, or bind to loopback")
    import asyncio

    asyncio.run(_serve(config, hosts, listen_port, token, verbose))


def _server_token(config: Any) -> str | None:
    from openclaw_core.config.model import unresolved_env_refs
    from openclaw_core.base.errors import ConfigError, GatewaySecretRefUnavailableError

    try:
        return config.gateway_token()
    except GatewaySecretRefUnavailableError:
        names = ", ".join(f"${{{n}}}" for n in unresolved_env_refs(config.raw_get("gateway.auth.token"), config.env))
        raise ConfigError(f"refusing to start the Gateway: gateway.auth.token refers to {names}, which is not set "
                          "(an unresolved reference is no token); set it or OPENCLAW_GATEWAY_TOKEN") from None


async def _serve(config: Any, hosts: list[str], port: int, token: str | None, verbose: bool = False) -> None:
    import asyncio
    import signal

    from openclaw_core.engine.wire import protocol
    from openclaw_core.adapters.gateway.server import GatewayServer
    from openclaw_core.engine.store.writer import configure_writers

    configure_writers(watch=True)  # a long-lived process: keep cached stores true to the disk
    server = GatewayServer(config, hooks_of(), hosts=hosts, port=port, token=token,
                           preauth_timeout=_handshake_timeout(config), drain_timeout=_drain_timeout(config),
                           max_buffered=_max_buffered(config), verbose=verbose)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    addresses = ", ".join(f"ws://{'[' + h + ']' if ':' in h else h}:{p}" for h, p in server.bound)
    auth = "token" if token else "none (loopback only)"
    versions = " and ".join(str(v) for v in protocol.PROTOCOL_VERSIONS)
    server.log(f"[gateway] ready on {addresses} (protocol {versions}, auth {auth}, {len(server.methods)} methods)")
    await stop.wait()
    server.log("[gateway] stopping: finishing queued writes")
    await server.stop()
    server.log("[gateway] stopped")


def _handshake_timeout(config: Any) -> float:
    """``OPENCLAW_HANDSHAKE_TIMEOUT_MS`` > ``gateway.handshakeTimeoutMs`` > 15 s (OpenClaw's knobs)."""
    from openclaw_core.engine.wire.protocol import PREAUTH_TIMEOUT_S

    raw: Any = js_trim(config.env.get("OPENCLAW_HANDSHAKE_TIMEOUT_MS") or "") or config.get("gateway.handshakeTimeoutMs")
    if raw is None or raw == "":
        return PREAUTH_TIMEOUT_S
    return _positive_ms(raw, "handshake timeout") / 1000


def _drain_timeout(config: Any) -> float:
    """``OPENCLAW_GATEWAY_DRAIN_TIMEOUT_MS`` > 60 s: how long SIGTERM waits for in-flight requests."""
    from openclaw_core.adapters.gateway.server import DRAIN_TIMEOUT_S

    raw = js_trim(config.env.get("OPENCLAW_GATEWAY_DRAIN_TIMEOUT_MS") or "")
    return _positive_ms(raw, "drain timeout") / 1000 if raw else DRAIN_TIMEOUT_S


def _max_buffered(config: Any) -> int:
    """``OPENCLAW_GATEWAY_MAX_BUFFERED_BYTES`` > 50 MiB: policy.maxBufferedBytes, per connection."""
    from openclaw_core.engine.wire.protocol import MAX_BUFFERED_BYTES

    raw = js_trim(config.env.get("OPENCLAW_GATEWAY_MAX_BUFFERED_BYTES") or "")
    if not raw:
        return MAX_BUFFERED_BYTES
    if not raw.isdigit() or not 65536 <= int(raw) <= 2**40:
        raise UsageError(f"OPENCLAW_GATEWAY_MAX_BUFFERED_BYTES: expected a number of bytes from 65536, got {raw!r}")
    return int(raw)


def _positive_ms(raw: Any, what: str) -> float:
    """A finite, positive number of milliseconds (``nan`` and ``inf`` would disable the limit)."""
    import math

    try:
        if isinstance(raw, bool):
            raise TypeError(raw)
        ms = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{what}: not a number of milliseconds: {raw!r}") from None
    if not math.isfinite(ms) or ms <= 0:
        raise UsageError(f"{what}: must be a positive, finite number of milliseconds, got {raw!r}")
    return ms


def _dispatch(method: str, params: Any, timeout: float) -> Any:
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.engine.wire import endpoint
    from openclaw_core.engine.transport import TransportRequest, dispatch

    config = load_config()
    request = TransportRequest(method, params, config, scopes=endpoint.scopes_for(method), timeout=timeout)
    response = dispatch(request, hooks_of())
    if response is None:
        if request.mutating and not endpoint.is_explicit_target(config):
            raise GatewayError(f"no Gateway of state dir {config.state_dir} is reachable "
                               f"(tried {', '.join(endpoint.candidate_urls(config))}); {method} was not sent")
        raise GatewayError(f"no Gateway is reachable at {endpoint.resolve_url(config)}")
    return response


@gateway.command("status", examples=[
    ("openclaw gateway status", "Version, methods and uptime of the running Gateway."),
    ("openclaw gateway status --json --timeout 2", "As JSON, waiting at most 2 seconds."),
])
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait.")
def status(as_json: bool, timeout: float) -> None:
    """Is a Gateway reachable? Its version, methods and uptime."""
    from openclaw_core.adapters.cli.context import load_config
    from openclaw_core.engine.wire import endpoint

    url = endpoint.resolve_url(load_config())
    try:
        response = _dispatch("health", {}, timeout)
    except GatewayError as exc:
        if as_json:
            click.echo(json.dumps({"reachable": False, "url": url, "error": exc.message}, indent=2))
        raise
    url = response.url or url
    hello = response.hello or {}
    server = hello.get("server") or {}
    methods = (hello.get("features") or {}).get("methods") or []
    uptime = (response.payload or {}).get("uptimeMs") if isinstance(response.payload, dict) else None
    if uptime is None:
        uptime = (hello.get("snapshot") or {}).get("uptimeMs")
    if as_json:
        click.echo(json.dumps({"reachable": True, "url": url, "version": server.get("version"),
                               "protocol": hello.get("protocol"), "uptimeMs": uptime, "methods": methods}, indent=2))
        return
    click.echo(f"Gateway: reachable at {url}")
    click.echo(f"Version: {server.get('version', 'unknown')} (protocol {hello.get('protocol', '?')})")
    if isinstance(uptime, (int, float)):
        click.echo(f"Uptime: {_duration(uptime)}")
    click.echo(f"Methods ({len(methods)}): {', '.join(methods)}")


def _duration(ms: float) -> str:
    seconds = int(ms // 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s" if minutes else f"{secs}s"


@gateway.command("call", examples=[
    ("openclaw gateway call health", "The Gateway's health payload."),
    ("openclaw gateway call sessions.list --params '{\"limit\": 5}'", "A method with params."),
])
@click.argument("method")
@click.option("--params", "params_text", default="{}", metavar="JSON", help="Method params (a JSON object).")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait.")
def call(method: str, params_text: str, timeout: float) -> None:
    """Call one Gateway METHOD and print its JSON payload."""
    try:
        params = json.loads(params_text)
    except ValueError as exc:
        raise UsageError(f"--params: not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise UsageError("--params: expected a JSON object")
    response = _dispatch(method, params, timeout)
    click.echo(json.dumps(response.payload, indent=2, ensure_ascii=False))
    sys.stdout.flush()
