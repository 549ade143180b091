"""The config file: ``openclaw.toml`` in the state dir, or an existing OpenClaw
``openclaw.json`` (JSON5 tolerated) read and written back in its own format.

Key names are OpenClaw's. Only the sections this tool acts on are validated;
every other key is kept verbatim, so the file stays usable by OpenClaw.
An invalid value is a :class:`ConfigError` naming the key, raised before
anything is touched.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openclaw_core import paths
from openclaw_core.errors import ConfigError
from openclaw_core.keys import DEFAULT_AGENT_ID, DEFAULT_MAIN_KEY, normalize_agent_id, normalize_main_key
from openclaw_core.units import UnitError, parse_bytes, parse_duration_ms

DEFAULT_GATEWAY_PORT = 18789
TOML_CONFIG_NAME = paths.TOML_CONFIG

MAINTENANCE_KEYS = (
    "mode", "pruneAfter", "pruneDays", "maxEntries", "rotateBytes",
    "resetArchiveRetention", "maxDiskBytes", "highWaterBytes",
)
BACKENDS_KEY = "backend"


@dataclass
class Config:
    """A loaded, validated config and where it lives."""

    data: dict[str, Any]
    path: Path
    format: str  # "toml" or "json"
    state_dir: Path
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    exists: bool = True

    # -- generic access -------------------------------------------------------------

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def section(self, dotted: str) -> Mapping[str, Any]:
        value = self.get(dotted)
        return value if isinstance(value, Mapping) else {}

    # -- sessions ---------------------------------------------------------------------

    @property
    def session_store(self) -> str | None:
        store = self.get("session.store")
        return store if isinstance(store, str) and store.strip() else None

    @property
    def session_backend(self) -> str:
        backend = self.get("session.backend")
        return backend if isinstance(backend, str) and backend else "file"

    @property
    def main_key(self) -> str:
        return normalize_main_key(self.get("session.mainKey"))

    def store_path(self, agent_id: str | None = None) -> Path:
        return paths.resolve_store_path(self.session_store, agent_id or self.default_agent_id(),
                                        self.state_dir, self.env)

    def main_session_key(self) -> str:
        if self.get("session.scope") == "global":
            return "global"
        return f"agent:{self.default_agent_id()}:{self.main_key or DEFAULT_MAIN_KEY}"

    # -- agents ------------------------------------------------------------------------

    def agents_list(self) -> list[dict[str, Any]]:
        agents = self.get("agents.list")
        if not isinstance(agents, list):
            return []
        return [a for a in agents if isinstance(a, dict)]

    def agent_ids(self) -> list[str]:
        """``listAgentIds``: normalised, de-duplicated configured ids, or ``["main"]``."""
        ids: list[str] = []
        for agent in self.agents_list():
            agent_id = normalize_agent_id(agent.get("id") if isinstance(agent.get("id"), str) else None)
            if agent_id not in ids:
                ids.append(agent_id)
        return ids or [DEFAULT_AGENT_ID]

    def default_agent_id(self) -> str:
        agents = self.agents_list()
        for agent in agents:
            if agent.get("default") is True:
                return normalize_agent_id(agent.get("id") if isinstance(agent.get("id"), str) else None)
        if agents:
            first = agents[0].get("id")
            return normalize_agent_id(first if isinstance(first, str) else None)
        return DEFAULT_AGENT_ID

    def find_agent(self, agent_id: str) -> dict[str, Any] | None:
        wanted = normalize_agent_id(agent_id)
        for agent in self.agents_list():
            raw = agent.get("id")
            if normalize_agent_id(raw if isinstance(raw, str) else None) == wanted:
                return agent
        return None

    # -- gateway -------------------------------------------------------------------------

    def gateway_port(self) -> int:
        port = self.get("gateway.port")
        return port if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 else DEFAULT_GATEWAY_PORT

    def gateway_token(self) -> str | None:
        env_token = (self.env.get("OPENCLAW_GATEWAY_TOKEN") or "").strip()
        if env_token:
            return env_token
        token = self.get("gateway.auth.token")
        return token.strip() if isinstance(token, str) and token.strip() else None


# --- loading ------------------------------------------------------------------------

def config_format(path: Path) -> str:
    return "toml" if path.suffix.lower() == ".toml" else "json"


def parse_config_text(text: str, fmt: str, path: Path) -> dict[str, Any]:
    if fmt == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Invalid config at {path}: {exc}") from None
    else:
        import json5  # only legacy JSON configs pay for it

        if not text.strip():
            data = {}
        else:
            try:
                data = json5.loads(text)
            except ValueError as exc:
                raise ConfigError(f"Invalid config at {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Invalid config at {path}: the top level must be an object")
    return data


def load_config(env: Mapping[str, str] | None = None, *, validate: bool = True) -> Config:
    """Read the config for ``env`` (default: the process environment)."""
    env = dict(os.environ) if env is None else dict(env)
    state_dir = paths.resolve_state_dir(env)
    path = paths.resolve_config_path(env, state_dir)
    fmt = config_format(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config({}, path, fmt, state_dir, env, exists=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Invalid config at {path}: {exc}") from None
    data = parse_config_text(text, fmt, path)
    config = Config(data, path, fmt, state_dir, env)
    if validate:
        problems = list(validate_config(data))
        if problems:
            raise ConfigError(f"Invalid config at {path}: " + "; ".join(problems))
    return config


# --- validation -------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive_int(value: Any) -> bool:
    return (_is_int(value) and value > 0) or (isinstance(value, float) and value.is_integer() and value > 0)


def _check_duration(key: str, value: Any) -> Iterator[str]:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        yield f"{key}: expected a string or number"
        return
    try:
        parse_duration_ms(value, "d")
    except UnitError as exc:
        yield f"{key}: {exc}"


def _check_size(key: str, value: Any) -> Iterator[str]:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        yield f"{key}: expected a string or number"
        return
    try:
        parse_bytes(value, "b")
    except UnitError as exc:
        yield f"{key}: {exc}"


def validate_maintenance(maintenance: Any, prefix: str = "session.maintenance") -> Iterator[str]:
    if maintenance is None:
        return
    if not isinstance(maintenance, Mapping):
        yield f"{prefix}: expected an object"
        return
    for key in maintenance:
        if key not in MAINTENANCE_KEYS:
            yield f'{prefix}: Unrecognized key: "{key}"'
    mode = maintenance.get("mode")
    if mode is not None and mode not in ("enforce", "warn"):
        yield f'{prefix}.mode: expected "enforce" or "warn"'
    if maintenance.get("pruneAfter") is not None:
        yield from _check_duration(f"{prefix}.pruneAfter", maintenance["pruneAfter"])
    for key in ("pruneDays", "maxEntries"):
        value = maintenance.get(key)
        if value is not None and not _is_positive_int(value):
            yield f"{prefix}.{key}: expected a positive integer"
    retention = maintenance.get("resetArchiveRetention")
    if retention is not None and retention is not False:
        if retention is True:
            yield f"{prefix}.resetArchiveRetention: expected a duration or false"
        else:
            yield from _check_duration(f"{prefix}.resetArchiveRetention", retention)
    for key in ("maxDiskBytes", "highWaterBytes", "rotateBytes"):
        if maintenance.get(key) is not None:
            yield from _check_size(f"{prefix}.{key}", maintenance[key])


def validate_config(data: Mapping[str, Any]) -> Iterator[str]:
    """Problems with the keys this tool acts on, each ``path: what is wrong``."""
    session = data.get("session")
    if session is not None and not isinstance(session, Mapping):
        yield "session: expected an object"
        session = None
    session = session or {}
    store = session.get("store")
    if store is not None and not isinstance(store, str):
        yield "session.store: expected a string"
    backend = session.get(BACKENDS_KEY)
    if backend is not None and (not isinstance(backend, str) or not backend.strip()):
        yield "session.backend: expected a backend name such as \"file\""
    yield from validate_maintenance(session.get("maintenance"))
    agents = data.get("agents")
    if agents is not None:
        if not isinstance(agents, Mapping):
            yield "agents: expected an object"
        else:
            agent_list = agents.get("list")
            if agent_list is not None:
                if not isinstance(agent_list, list):
                    yield "agents.list: expected an array"
                else:
                    for i, agent in enumerate(agent_list):
                        if not isinstance(agent, Mapping):
                            yield f"agents.list.{i}: expected an object"
                        elif not isinstance(agent.get("id"), str) or not agent["id"].strip():
                            yield f"agents.list.{i}.id: expected a non-empty string"
    gateway = data.get("gateway")
    if isinstance(gateway, Mapping):
        port = gateway.get("port")
        if port is not None and not (_is_int(port) and 0 < port < 65536):
            yield "gateway.port: expected an integer between 1 and 65535"
        auth = gateway.get("auth")
        if isinstance(auth, Mapping) and auth.get("token") is not None and not isinstance(auth.get("token"), str):
            yield "gateway.auth.token: expected a string"


# --- writing ----------------------------------------------------------------------------

def _drop_nulls(value: Any, where: str, dropped: list[str]) -> Any:
    """TOML has no null: leave such keys out (and say which)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            path = f"{where}.{key}" if where else key
            if item is None:
                dropped.append(path)
                continue
            out[key] = _drop_nulls(item, path, dropped)
        return out
    if isinstance(value, list):
        if any(item is None for item in value):
            raise ConfigError(f"{where}: a list with null items cannot be written as TOML")
        return [_drop_nulls(item, f"{where}.{i}", dropped) for i, item in enumerate(value)]
    return value


def render_config(data: Mapping[str, Any], fmt: str) -> tuple[str, list[str]]:
    """The file text for ``data`` and the keys left out (TOML cannot hold null)."""
    if fmt == "toml":
        import tomli_w

        dropped: list[str] = []
        return tomli_w.dumps(_drop_nulls(dict(data), "", dropped)), dropped
    from openclaw_core.jsjson import stringify

    return stringify(dict(data)) + "\n", []


def save_config(config: Config, data: Mapping[str, Any], *, path: Path | None = None,
                fmt: str | None = None) -> list[str]:
    """Write ``data`` atomically (mode 0600), keeping the previous file as ``.bak``.

    Validates first: an invalid config is refused and nothing is written.
    Returns the keys TOML could not hold.
    """
    problems = list(validate_config(data))
    target = path or config.path
    if problems:
        raise ConfigError(f"Invalid config for {target}: " + "; ".join(problems))
    text, dropped = render_config(data, fmt or config_format(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        backup = target.with_name(target.name + ".bak")
        backup.write_bytes(target.read_bytes())
        os.chmod(backup, 0o600)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, target)
    config.data = dict(data)
    return dropped
