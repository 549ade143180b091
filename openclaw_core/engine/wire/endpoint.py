"""Where the Gateway is: port, bind address, URL and token, resolved the way
OpenClaw does (``--port`` > ``OPENCLAW_GATEWAY_PORT`` > ``gateway.port`` >
18789; ``OPENCLAW_GATEWAY_TOKEN`` > ``gateway.auth.token``), shared by
``gateway run`` and the clients."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core.base.atomic import write_private
from openclaw_core.base.errors import ConfigError, UsageError
from openclaw_core.js.values import js_trim

if TYPE_CHECKING:
    from openclaw_core.config.model import Config

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
        raw = config.raw_get("gateway.remote.token")
        if isinstance(raw, str):
            from openclaw_core.config.model import unresolved_env_refs
            from openclaw_core.base.errors import GatewaySecretRefUnavailableError

            if unresolved_env_refs(raw, config.env):
                raise GatewaySecretRefUnavailableError("gateway.remote.token")
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


def is_explicit_target(config: Config) -> bool:
    """``OPENCLAW_GATEWAY_URL`` or ``gateway.mode = "remote"``: the user named the Gateway, use it as given."""
    return bool(js_trim(config.env.get("OPENCLAW_GATEWAY_URL") or "")) or config.get("gateway.mode") == "remote"


def _dial_host(host: str) -> str:
    """Where a client reaches a Gateway listening on ``host`` from this machine."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def ws_url(host: str, port: int) -> str:
    host = _dial_host(host)
    return f"ws://[{host}]:{port}" if ":" in host else f"ws://{host}:{port}"


def candidate_urls(config: Config) -> list[str]:
    """The URLs a client tries, in order: the explicit target alone; else the
    running Gateway's endpoint record for this state dir, then every address
    ``gateway.bind`` resolves to on the configured port (both loopback families)."""
    if is_explicit_target(config):
        return [resolve_url(config)]
    urls: list[str] = []
    record = read_record(config.state_dir)
    if record is not None:
        urls.extend(ws_url(host, port) for host, port in record["listen"])
    port = resolve_port(config)
    try:
        bind = resolve_bind(config)
    except (ConfigError, UsageError):
        bind = "loopback"  # `gateway run` refuses such a bind; the client still looks on loopback
    hosts = ["127.0.0.1", "::1"] if bind in ("loopback", "lan") else [bind, "127.0.0.1", "::1"]
    urls.extend(ws_url(host, port) for host in hosts)
    return list(dict.fromkeys(urls))


# --- the endpoint record: where this state dir's running Gateway listens ------------------
# Written atomically by `gateway run` once it listens, removed when it stops; a
# record whose pid is gone (kill -9) is ignored, and so is one whose pid now
# belongs to a process that started later (the pid was reused: on Linux the
# record holds the process's start time, which a reused pid does not have). Clients still check the
# Gateway's hello-ok (stateDir/configPath) before sending a mutation.

RECORD_DIR = "gateway"
RECORD_FILE = "endpoint.json"


def record_path(state_dir: Path) -> Path:
    return state_dir / RECORD_DIR / RECORD_FILE


def _pid_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    except OSError:
        return False
    return True


def _pid_start(pid: int) -> int | None:
    """The process's start time in clock ticks after boot (``/proc/<pid>/stat``
    field 22), which tells a reused pid from the original; None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
        return int(data[data.rindex(b")") + 2:].split()[19])  # fields after "(comm)" start at field 3
    except (OSError, ValueError, IndexError):
        return None


def write_record(state_dir: Path, listen: list[tuple[str, int]], config_path: Path) -> Path:
    import json
    import os
    import time

    path = record_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"pid": os.getpid(), "listen": [[host, port] for host, port in listen],
            "stateDir": str(state_dir), "configPath": str(config_path), "startedAtMs": int(time.time() * 1000)}
    start = _pid_start(os.getpid())
    if start is not None:
        data["pidStart"] = start
    write_private(path, json.dumps(data) + "\n")
    return path


def remove_record(state_dir: Path) -> None:
    """Remove the record if it is this process's (a newer Gateway's stays)."""
    import contextlib
    import os

    path = record_path(state_dir)
    record = _load_record(path)
    if record is not None and record["pid"] != os.getpid():
        return
    with contextlib.suppress(OSError):
        path.unlink()
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # only when empty


def _load_record(path: Path) -> dict[str, Any] | None:
    import json

    from openclaw_core.base import regular_file

    try:
        data = json.loads(regular_file.read_text(path))  # a FIFO there must not hang every client
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid, listen = data.get("pid"), data.get("listen")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or not isinstance(listen, list):
        return None
    pairs = []
    for item in listen:
        if (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], int)
                and not isinstance(item[1], bool) and 0 < item[1] < 65536):
            pairs.append((item[0], item[1]))
    return {**data, "listen": pairs}


def read_record(state_dir: Path) -> dict[str, Any] | None:
    """The live Gateway's record for ``state_dir``, or None (missing, unreadable, pid gone)."""
    record = _load_record(record_path(state_dir))
    if record is None or not record["listen"] or not _pid_alive(record["pid"]):
        return None
    recorded = record.get("pidStart")
    if isinstance(recorded, int) and not isinstance(recorded, bool):
        current = _pid_start(record["pid"])
        if current is not None and current != recorded:
            return None  # the pid is another, later process's now
    return record
