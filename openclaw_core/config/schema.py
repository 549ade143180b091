"""Which config keys exist: the reference's key tables for every object
openclaw-core reads, the sections plugins declare, and the check that refuses
anything else (with a "did you mean" hint).

OpenClaw 2026.5.4 validates its whole config strictly: an unknown key in any
object is ``<path>: Unrecognized key: "<key>"`` (``Unrecognized keys: "a",
"b"`` for several), reported after that object's field problems, objects in
schema order, the root's own unknown keys last. The tables below are its key
lists, in its order, for the objects this tool reads; the other top-level
sections (models, channels, tools ...) are known but not looked into, so any
config OpenClaw accepts loads here too.

Plugins add sections through ``openclaw_config_sections`` (a dotted path ->
:class:`ConfigSection`); ``plugins.<name>`` is where a plugin's own table
goes. A declared section is checked like the reference's objects: its type,
its validator, then its unknown keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from openclaw_core.base.notices import warn
from openclaw_core.js.json import json_type

#: OpenClaw's top-level keys, in its schema's order.
ROOT_KEYS = (
    "$schema", "meta", "env", "wizard", "diagnostics", "logging", "cli", "crestodian", "update", "browser",
    "ui", "secrets", "auth", "accessGroups", "acp", "models", "nodeHost", "agents", "tools", "bindings",
    "broadcast", "audio", "media", "messages", "commands", "approvals", "session", "cron", "commitments",
    "hooks", "web", "channels", "discovery", "canvasHost", "talk", "gateway", "memory", "mcp", "skills",
    "plugins", "surfaces", "proxy",
)
SESSION_KEYS = (
    "scope", "dmScope", "identityLinks", "resetTriggers", "idleMinutes", "reset", "resetByType",
    "resetByChannel", "store", "typingIntervalSeconds", "typingMode", "mainKey", "sendPolicy", "writeLock",
    "agentToAgent", "threadBindings", "maintenance",
)
#: openclaw-core's own session keys (not in the reference: see docs/differences.md).
SESSION_CORE_KEYS = ("backend",)
AGENTS_KEYS = ("defaults", "list")
AGENT_KEYS = (
    "id", "default", "name", "workspace", "agentDir", "systemPromptOverride", "agentRuntime",
    "embeddedHarness", "model", "thinkingDefault", "verboseDefault", "toolProgressDetail", "reasoningDefault",
    "fastModeDefault", "skills", "memorySearch", "humanDelay", "tts", "skillsLimits", "contextLimits",
    "contextTokens", "heartbeat", "identity", "groupChat", "subagents", "embeddedPi", "sandbox", "params",
    "tools", "runtime",
)
AGENT_DEFAULTS_KEYS = (
    "params", "agentRuntime", "embeddedHarness", "model", "imageModel", "imageGenerationModel",
    "videoGenerationModel", "musicGenerationModel", "mediaGenerationAutoProviderFallback", "pdfModel",
    "pdfMaxBytesMb", "pdfMaxPages", "models", "workspace", "skills", "silentReply", "silentReplyRewrite",
    "repoRoot", "systemPromptOverride", "promptOverlays", "skipBootstrap", "skipOptionalBootstrapFiles",
    "contextInjection", "bootstrapMaxChars", "bootstrapTotalMaxChars", "experimental",
    "bootstrapPromptTruncationWarning", "userTimezone", "startupContext", "contextLimits", "timeFormat",
    "envelopeTimezone", "envelopeTimestamp", "envelopeElapsed", "contextTokens", "cliBackends",
    "memorySearch", "contextPruning", "compaction", "embeddedPi", "thinkingDefault", "verboseDefault",
    "toolProgressDetail", "reasoningDefault", "elevatedDefault", "blockStreamingDefault", "blockStreamingBreak",
    "blockStreamingChunk", "blockStreamingCoalesce", "humanDelay", "timeoutSeconds", "mediaMaxMb",
    "imageMaxDimensionPx", "typingIntervalSeconds", "typingMode", "heartbeat", "maxConcurrent", "subagents",
    "sandbox",
)
GATEWAY_KEYS = (
    "port", "mode", "bind", "customBindHost", "controlUi", "auth", "trustedProxies", "allowRealIpFallback",
    "tools", "webchat", "handshakeTimeoutMs", "channelHealthCheckMinutes", "channelStaleEventThresholdMinutes",
    "channelMaxRestartsPerHour", "tailscale", "remote", "reload", "tls", "http", "push", "nodes",
)
GATEWAY_AUTH_KEYS = ("mode", "token", "password", "allowTailscale", "rateLimit", "trustedProxy")
GATEWAY_REMOTE_KEYS = ("url", "transport", "token", "password", "tlsFingerprint", "sshTarget", "sshIdentity")
PLUGINS_KEYS = ("enabled", "allow", "deny", "load", "slots", "entries", "bundledDiscovery")

Validator = Callable[[Mapping[str, Any], str], Iterable[str]]


class ConfigSection(NamedTuple):
    """A config table a plugin reads: its keys (anything else is refused) and
    an optional validator ``(table, dotted_path) -> problems`` (``path: message``
    lines, checked before the unknown keys)."""

    keys: tuple[str, ...]
    validate: Validator | None = None
    plugin: str = ""  # who declared it (set by declared_sections)


def as_section(value: ConfigSection | Iterable[str]) -> ConfigSection:
    if isinstance(value, ConfigSection):
        return value
    if isinstance(value, str):
        raise TypeError("a section's keys must be a list of names, not one string")
    return ConfigSection(tuple(value))


class SectionSource(Protocol):
    """Who declares the plugins' config sections (the composition root passes
    its :class:`~openclaw_core.contract.hooks.Hooks`)."""

    def config_sections(self) -> list[tuple[str, Any]]:
        """(plugin, its declaration) for each plugin that declares sections."""

    def disabled_plugins(self) -> list[str]:
        """Plugins the kill switch kept from loading (their sections are accepted, unchecked)."""

    def identity(self) -> Any:
        """Changes whenever the set of plugins does (a cache key)."""


def declared_sections(source: SectionSource) -> dict[str, ConfigSection]:
    """Every section the loaded plugins declare (the first declaration of a path wins)."""
    sections: dict[str, ConfigSection] = {}
    for plugin, declared in source.config_sections():
        if not isinstance(declared, Mapping):
            warn(f'plugin "{plugin}" returned {type(declared).__name__} from openclaw_config_sections, '
                 "not a mapping; ignored")
            continue
        for path, value in declared.items():
            try:
                section = as_section(value)
            except TypeError as exc:
                warn(f'plugin "{plugin}" declared config section {path!r} badly: {exc}; ignored')
                continue
            if isinstance(path, str) and path and path not in sections:
                sections[path] = ConfigSection(section.keys, section.validate, plugin)
    return sections


_warned: set[str] = set()


def warn_once(message: str) -> None:
    # A command may load the config more than once (and the Gateway re-reads it).
    if message not in _warned:
        _warned.add(message)
        warn(message)


# --- the check ---------------------------------------------------------------------------------

def unknown_key_problem(prefix: str, unknown: list[str]) -> str:
    if len(unknown) == 1:
        return f'{prefix}: Unrecognized key: "{unknown[0]}"'
    return f"{prefix}: Unrecognized keys: " + ", ".join(f'"{k}"' for k in unknown)


def suggestion(key: str, known: Iterable[str]) -> str | None:
    """The known key a typo most likely meant (case first, then spelling)."""
    names = list(known)
    for name in names:
        if name.lower() == key.lower():
            return name
    import difflib  # only a refused key pays for it

    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    return close[0] if close else None


class Checker:
    """One pass over a config: problems in the reference's order, and hints."""

    def __init__(self, sections: Mapping[str, ConfigSection], disabled: Iterable[str] = ()) -> None:
        self.sections = dict(sections)
        self.disabled = list(disabled)
        self.problems: list[str] = []
        self.hints: list[str] = []

    def children(self, path: str) -> dict[str, ConfigSection]:
        """Declared sections directly inside the object at ``path`` ("" = the root)."""
        out = {}
        for dotted, section in self.sections.items():
            parent, _, name = dotted.rpartition(".")
            if parent == path and name:
                out[name] = section
        return out

    def unknown(self, path: str, obj: Mapping[str, Any], known: Iterable[str]) -> None:
        """The unknown keys of ``obj`` (after its fields' problems) and a hint for each."""
        declared = self.children(path)
        names = [*known, *(k for k in declared if k not in known)]
        for name, section in declared.items():
            if name in obj:
                self.section(f"{path}.{name}" if path else name, obj[name], section)
        unknown = [k for k in obj if k not in names]
        if unknown and path == "plugins" and self.disabled:
            # The kill switch must not make the config unloadable: a disabled plugin's
            # table is not read by anyone now, so it is let through unchecked (and said so).
            warn_once(f"{', '.join(f'plugins.{k}' for k in unknown)} not checked: no enabled plugin declares it "
                      f"(disabled: {', '.join(self.disabled)})")
            return
        if not unknown:
            return
        self.problems.append(unknown_key_problem(path or "<root>", unknown))
        self.hint(path, unknown, names)

    def hint(self, path: str, unknown: Iterable[str], known: Iterable[str]) -> None:
        """A "did you mean" line per unknown key that looks like a known one."""
        names = list(known)
        for key in unknown:
            guess = suggestion(key, names)
            where = f"{path}.{key}" if path else key
            if guess is not None:
                self.hints.append(f'Hint: {where}: did you mean "{guess}"?')
            elif path == "plugins":
                self.hints.append(f"Hint: {where}: no installed plugin declares this section "
                                  "(openclaw plugins list shows what is installed)")

    def section(self, path: str, value: Any, section: ConfigSection) -> None:
        if not isinstance(value, Mapping):
            self.problems.append(f"{path}: Invalid input: expected object, received {json_type(value)}")
            return
        if section.validate is not None:
            try:
                self.problems.extend(section.validate(value, path))
            except Exception as exc:  # noqa: BLE001 - a plugin's validator is inside its error boundary
                warn(f'plugin "{section.plugin}" failed validating {path}: {type(exc).__name__}: {exc}')
        self.unknown(path, value, section.keys)


def check_config(data: Mapping[str, Any], source: SectionSource | None = None, *,
                 sections: Mapping[str, ConfigSection] | None = None) -> tuple[list[str], list[str]]:
    """``(problems, hints)`` for a parsed config: the core's keys, and the
    sections ``source`` declares (or exactly ``sections``)."""
    if sections is not None:
        checker = Checker(sections)
    elif source is not None:
        checker = Checker(declared_sections(source), source.disabled_plugins())
    else:
        checker = Checker({})
    check_root(checker, data)
    return checker.problems, checker.hints


# --- the objects this tool reads, field by field in the reference's order ------------------------

def _one_of(path: str, allowed: tuple[str, ...]) -> str:
    return f"{path}: Invalid input (allowed: " + ", ".join(f'"{a}"' for a in allowed) + ")"


def _expected(path: str, what: str, value: Any) -> str:
    return f"{path}: Invalid input: expected {what}, received {json_type(value)}"


def check_root(checker: Checker, data: Mapping[str, Any]) -> None:
    agents = data.get("agents")
    if agents is not None:
        check_agents(checker, agents)
    session = data.get("session")
    if session is not None:
        check_session(checker, session)
    gateway = data.get("gateway")
    if isinstance(gateway, Mapping):
        check_gateway(checker, gateway)
    plugins = data.get("plugins")
    if isinstance(plugins, Mapping):
        checker.unknown("plugins", plugins, PLUGINS_KEYS)
    checker.unknown("", data, ROOT_KEYS)


def check_agents(checker: Checker, agents: Any) -> None:
    from openclaw_core.config.fields import _check_string

    out = checker.problems
    if not isinstance(agents, Mapping):
        out.append(_expected("agents", "object", agents))
        return
    defaults = agents.get("defaults")
    if isinstance(defaults, Mapping):
        checker.unknown("agents.defaults", defaults, AGENT_DEFAULTS_KEYS)
    agent_list = agents.get("list")
    if agent_list is not None:
        if not isinstance(agent_list, list):
            out.append(_expected("agents.list", "array", agent_list))
        else:
            for i, agent in enumerate(agent_list):
                where = f"agents.list.{i}"
                if not isinstance(agent, Mapping):
                    out.append(_expected(where, "object", agent))
                    continue
                if not isinstance(agent.get("id"), str):
                    received = "undefined" if "id" not in agent else json_type(agent["id"])
                    out.append(f"{where}.id: Invalid input: expected string, received {received}")
                if "default" in agent and not isinstance(agent["default"], bool):
                    out.append(_expected(f"{where}.default", "boolean", agent["default"]) + " (allowed: true, false)")
                if "name" in agent and not isinstance(agent["name"], str):
                    out.append(_expected(f"{where}.name", "string", agent["name"]))
                for key in ("workspace", "agentDir"):
                    if agent.get(key) is not None:
                        out.extend(_check_string(f"{where}.{key}", agent[key]))
                checker.unknown(where, agent, AGENT_KEYS)
    checker.unknown("agents", agents, AGENTS_KEYS)


SCOPES = ("per-sender", "global")


def check_session(checker: Checker, session: Any) -> None:
    from openclaw_core.config.fields import BACKENDS_KEY, MAINTENANCE_KEYS, _check_string, validate_maintenance

    out = checker.problems
    if not isinstance(session, Mapping):
        out.append(_expected("session", "object", session))
        return
    if "scope" in session and session["scope"] not in SCOPES:
        out.append(_one_of("session.scope", SCOPES))
    if session.get("store") is not None:
        out.extend(_check_string("session.store", session["store"]))
    # A non-string mainKey used to pass here and then fail every Gateway connection.
    if "mainKey" in session and not isinstance(session["mainKey"], str):
        out.append(_expected("session.mainKey", "string", session["mainKey"]))
    maintenance = session.get("maintenance")
    out.extend(validate_maintenance(maintenance))
    if isinstance(maintenance, Mapping):
        checker.hint("session.maintenance", [k for k in maintenance if k not in MAINTENANCE_KEYS], MAINTENANCE_KEYS)
    backend = session.get(BACKENDS_KEY)
    if backend is not None and (not isinstance(backend, str) or not backend.strip()):
        out.append('session.backend: expected a backend name such as "file"')
    checker.unknown("session", session, SESSION_KEYS + SESSION_CORE_KEYS)


GATEWAY_MODES = ("local", "remote")
GATEWAY_BINDS = ("auto", "lan", "loopback", "custom", "tailnet")


def check_gateway(checker: Checker, gateway: Mapping[str, Any]) -> None:
    from openclaw_core.config.fields import _check_string, _is_int

    out = checker.problems
    port = gateway.get("port")
    if port is not None and not (_is_int(port) and 0 < port < 65536):
        out.append("gateway.port: expected an integer between 1 and 65535")
    if "mode" in gateway and gateway["mode"] not in GATEWAY_MODES:
        out.append(_one_of("gateway.mode", GATEWAY_MODES))
    if "bind" in gateway and gateway["bind"] not in GATEWAY_BINDS:
        out.append(_one_of("gateway.bind", GATEWAY_BINDS))
    if "customBindHost" in gateway and not isinstance(gateway["customBindHost"], str):
        out.append(_expected("gateway.customBindHost", "string", gateway["customBindHost"]))
    auth = gateway.get("auth")
    if isinstance(auth, Mapping):
        if auth.get("token") is not None:
            out.extend(_check_string("gateway.auth.token", auth["token"]))
        checker.unknown("gateway.auth", auth, GATEWAY_AUTH_KEYS)
    remote = gateway.get("remote")
    if isinstance(remote, Mapping):
        if "url" in remote and not isinstance(remote["url"], str):
            out.append(_expected("gateway.remote.url", "string", remote["url"]))
        checker.unknown("gateway.remote", remote, GATEWAY_REMOTE_KEYS)
    checker.unknown("gateway", gateway, GATEWAY_KEYS)
