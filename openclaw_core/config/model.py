"""The config file: ``openclaw.toml`` in the state dir, or an existing OpenClaw
``openclaw.json`` (JSON5 tolerated) read and written back in its own format.

Key names are OpenClaw's, and as strict: a key neither OpenClaw nor a plugin
knows is refused (:mod:`openclaw_core.config.schema`); the values of the keys
this tool reads are checked, every other value is kept verbatim, so the file
stays usable by OpenClaw. An invalid config is a :class:`ConfigError` naming
the key, raised before anything is touched.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_core.config import paths
from openclaw_core.base import regular_file
from openclaw_core.base.atomic import write_private
from openclaw_core.base.errors import ConfigError
from openclaw_core.base.lazy_re import lazy_compile
from openclaw_core.base.record import Record
from openclaw_core.js.json import json_type
from openclaw_core.js.values import js_trim
from openclaw_core.base.keys import DEFAULT_AGENT_ID, DEFAULT_MAIN_KEY, normalize_agent_id, normalize_main_key

if TYPE_CHECKING:
    from openclaw_core.config.schema import SectionSource

DEFAULT_GATEWAY_PORT = 18789
TOML_CONFIG_NAME = paths.TOML_CONFIG


_MISSING = object()
_ENV_TOKEN = lazy_compile(r"\$(\$?)\{([A-Z_][A-Z0-9_]*)\}")  # only a string holding "$" needs it


def substitute_env(value: Any, env: Mapping[str, str]) -> Any:
    """``${VAR}`` in config strings, as OpenClaw substitutes them at load time:
    upper-case names only, ``$${VAR}`` for a literal ``${VAR}``, and an unset
    or empty variable left as written."""
    if isinstance(value, str):
        if "$" not in value:
            return value

        def replace(match: Any) -> str:
            if match.group(1):
                return "${" + match.group(2) + "}"
            return env.get(match.group(2)) or match.group(0)

        return _ENV_TOKEN.sub(replace, value)
    if isinstance(value, dict):
        return {k: substitute_env(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, env) for v in value]
    return value


def unresolved_env_refs(value: str, env: Mapping[str, str]) -> list[str]:
    """The ``${VAR}`` references in ``value`` that :func:`substitute_env` leaves
    as written (unset or empty variable); ``$${VAR}`` is a literal, not one."""
    return [m.group(2) for m in _ENV_TOKEN.finditer(value) if not m.group(1) and not env.get(m.group(2))]


class Config(Record):
    """A loaded, validated config and where it lives."""

    # ``_sections``: what declared the plugins' config sections when it was
    # checked (the composition root's Hooks; None: the core's keys only).
    # Edits of this config are checked against the same.
    __slots__ = ("data", "path", "format", "state_dir", "env", "exists", "_sections")

    def __init__(self, data: dict[str, Any], path: Path, format: str, state_dir: Path,
                 env: Mapping[str, str] | None = None, exists: bool = True,
                 sections: SectionSource | None = None) -> None:
        self.data = data
        self.path = path
        self.format = format  # "toml" or "json"
        self.state_dir = state_dir
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env
        self.exists = exists
        self._sections = sections

    @property
    def sections(self) -> SectionSource | None:
        return self._sections

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` (the constructor's names) applied."""
        fields = {"data": self.data, "path": self.path, "format": self.format, "state_dir": self.state_dir,
                  "env": self.env, "exists": self.exists, "sections": self._sections}
        fields.update(changes)
        return Config(**fields)

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        # A copy of the config's data; the plugins that declared its sections stay shared.
        import copy

        return self.replace(data=copy.deepcopy(self.data, memo), env=dict(self.env))

    # -- generic access -------------------------------------------------------------

    def get(self, dotted: str, default: Any = None) -> Any:
        """The value at ``a.b.c`` with ``${VAR}`` substituted in its strings
        (the file's own text, in :attr:`data`, keeps them)."""
        node = self.raw_get(dotted, _MISSING)
        return default if node is _MISSING else substitute_env(node, self.env)

    def raw_get(self, dotted: str, default: Any = None) -> Any:
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
        return store if isinstance(store, str) and store else None  # as written: never trimmed

    @property
    def session_backend(self) -> str:
        backend = self.get("session.backend")
        return backend if isinstance(backend, str) and backend else "file"

    @property
    def main_key(self) -> str:
        return normalize_main_key(self.get("session.mainKey"))

    def store_path(self, agent_id: str | None = None) -> Path:
        store = self.session_store
        if store is not None:
            paths.refuse_lone_surrogate(store, "session.store")
        return paths.resolve_store_path(store, agent_id or self.default_agent_id(),
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
        env_token = js_trim(self.env.get("OPENCLAW_GATEWAY_TOKEN") or "")
        if env_token:
            return env_token
        raw = self.raw_get("gateway.auth.token")
        if isinstance(raw, str) and unresolved_env_refs(raw, self.env):
            # An unset variable is no token: its literal text must never become one.
            from openclaw_core.base.errors import GatewaySecretRefUnavailableError

            raise GatewaySecretRefUnavailableError("gateway.auth.token")
        token = self.get("gateway.auth.token")
        return js_trim(token) or None if isinstance(token, str) else None


# --- loading ------------------------------------------------------------------------

def config_format(path: Path) -> str:
    return "toml" if path.suffix.lower() == ".toml" else "json"


def display_path(path: Path, env: Mapping[str, str] | None = None) -> str:
    """The path as the reference prints it: ``~/...`` when under the home dir."""
    home = str(paths.resolve_home(env))
    text = str(path)
    if text == home or text.startswith(home.rstrip(os.sep) + os.sep):
        return "~" + text[len(home.rstrip(os.sep)):]
    return text


def invalid_config(path: Path, problems: list[str], env: Mapping[str, str] | None = None,
                   hints: list[str] | None = None) -> ConfigError:
    """The reference's block: ``Config invalid`` / ``File:`` / ``Problem:`` / one line per problem,
    then our ``Hint: ...`` lines (the reference has none)."""
    lines = ["Config invalid", f"File: {display_path(path, env)}", "Problem:", *(f"  - {p}" for p in problems),
             *(hints or [])]
    error = ConfigError("\n".join(lines))
    error.problems = problems  # type: ignore[attr-defined]
    return error


def parse_config_text(text: str, fmt: str, path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    if fmt == "toml":
        import tomllib  # only TOML configs pay for it

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise invalid_config(path, [f"<root>: TOML parse failed: {exc}"], env) from None
        except RecursionError:
            raise invalid_config(path, ["<root>: TOML parse failed: nested too deeply"], env) from None
    else:
        text = text.removeprefix("\ufeff")
        data = _strict_json(text)
        if data is _NOT_STRICT:
            data = _json5(text, path, env)
    if not isinstance(data, dict):
        raise invalid_config(path, [f"<root>: Invalid input: expected object, received {json_type(data)}"], env)
    return data


_NOT_STRICT = object()


def _strict_json(text: str) -> Any:
    """A config that is plain JSON (nearly all) through the C parser: JSON5 is a
    superset and reads such text the same; the pure-Python json5 parser and its
    import were a tenth of a small command's start-up. Anything else: _NOT_STRICT."""
    import json

    try:
        return json.loads(text)  # (it joins an escaped surrogate pair into one character, as JS reads it)
    except (ValueError, RecursionError):
        return _NOT_STRICT


def _json5(text: str, path: Path, env: Mapping[str, str] | None) -> Any:
    import json5  # only configs that are not plain JSON pay for it

    from openclaw_core.js.values import join_surrogate_pairs

    try:
        # json5 leaves "\ud83d\ude00" as two lone surrogates; JS reads one character.
        return join_surrogate_pairs(json5.loads(text))
    except ValueError as exc:
        raise invalid_config(path, [f"<root>: JSON5 parse failed: {exc}"], env) from None
    except RecursionError:
        raise invalid_config(path, ["<root>: JSON5 parse failed: nested too deeply"], env) from None


def load_config(env: Mapping[str, str] | None = None, *, validate: bool = True,
                sections: SectionSource | None = None) -> Config:
    """Read the config for ``env`` (default: the process environment), checked
    against the core's keys and the sections ``sections`` declares."""
    env = dict(os.environ) if env is None else dict(env)
    state_dir = paths.resolve_state_dir(env)
    path = paths.resolve_config_path(env, state_dir)
    if validate and not js_trim(env.get("OPENCLAW_CONFIG_PATH") or ""):
        # notices belong to commands that use the config, not to `config path` or a TAB press
        _notice_shadowed(path, state_dir)
    fmt = config_format(path)
    try:
        text = regular_file.read_text(path)  # a FIFO or /dev/zero there must not hang us
    except FileNotFoundError:
        return Config({}, path, fmt, state_dir, env, exists=False, sections=sections)
    except (OSError, UnicodeDecodeError) as exc:
        raise invalid_config(path, [f"<root>: read failed: {exc}"], env) from None
    data = parse_config_text(text, fmt, path, env)
    config = Config(data, path, fmt, state_dir, env, sections=sections)
    if validate:
        from openclaw_core.config.schema import check_config

        problems, hints = check_config(data, sections)
        if problems:
            raise invalid_config(path, problems, env, hints)
        warn_ignored_main_key(data)
    return config


_noticed: set[str] = set()


def _notice_shadowed(path: Path, state_dir: Path) -> None:
    """Both openclaw.toml and an OpenClaw JSON config in the state dir: the TOML
    one wins; say so once per process (per file) instead of ignoring the other silently."""
    if path.name != TOML_CONFIG_NAME or str(path) in _noticed:
        return
    for name in (paths.JSON_CONFIG, *paths.LEGACY_JSON_CONFIGS):
        other = state_dir / name
        if other.exists() and path.exists():
            _noticed.add(str(path))

            print(f"openclaw: note: both {path} and {other} exist; using {path.name} ({name} is ignored)",
                  file=sys.stderr, flush=True)
            return


_main_key_warned = False


def warn_ignored_main_key(data: Mapping[str, Any]) -> None:
    """The reference's notice (stderr, once per process) for a ``session.mainKey`` other than "main"."""
    global _main_key_warned
    session = data.get("session")
    main_key = session.get("mainKey") if isinstance(session, Mapping) else None
    if _main_key_warned or not isinstance(main_key, str):
        return
    trimmed = js_trim(main_key)
    if trimmed and trimmed != DEFAULT_MAIN_KEY:
        _main_key_warned = True
        print(f'session.mainKey is ignored; main session is always "{DEFAULT_MAIN_KEY}".', file=sys.stderr)


_current: tuple[Any, Config] | None = None


def current_config(sections: SectionSource | None = None) -> Config:
    """:func:`load_config` for the process environment, re-read only when the
    environment or the config file changed (the store API calls it per call;
    parsing a JSON5 config each time cost more than the write itself)."""
    global _current
    env = dict(os.environ)
    state_dir = paths.resolve_state_dir(env)
    path = paths.resolve_config_path(env, state_dir)
    try:
        st = os.stat(path)
        identity: Any = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        identity = None
    # Which plugins are loaded decides which sections are known, so it is part of the key.
    key = (tuple(sorted(env.items())), str(path), identity, sections.identity() if sections is not None else None)
    cached = _current
    if cached is not None and cached[0] == key:
        return cached[1]
    config = load_config(env, sections=sections)
    _current = (key, config)
    return config


def validate_config(data: Mapping[str, Any], sections: SectionSource | None = None) -> Iterator[str]:
    """Problems with the config, each ``path: message`` (the reference's
    wording and order): the objects this tool reads field by field, unknown
    keys refused everywhere it looks (see :mod:`openclaw_core.config.schema`)."""
    from openclaw_core.config.schema import check_config

    yield from check_config(data, sections)[0]


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
    from openclaw_core.js.json import stringify

    return stringify(dict(data)) + "\n", []


def save_config(config: Config, data: Mapping[str, Any], *, path: Path | None = None,
                fmt: str | None = None) -> list[str]:
    """Write ``data`` atomically (mode 0600), keeping the previous file as ``.bak``.

    Validates first: an invalid config is refused and nothing is written.
    Returns the keys TOML could not hold.
    """
    problems = list(validate_config(data, config.sections))
    target = path or config.path
    if problems:
        raise ConfigError(f"Invalid config for {target}: " + "; ".join(problems))
    text, dropped = render_config(data, fmt or config_format(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        backup = target.with_name(target.name + ".bak")
        backup.write_bytes(target.read_bytes())
        os.chmod(backup, 0o600)
    write_private(target, text)
    config.data = dict(data)
    return dropped
