"""The plugin manager: built-ins and third-party plugins come through the same
``openclaw`` entry-point group, each loaded inside its own error boundary.

Loading is lazy (the first caller of :func:`get_plugin_manager` pays for it)
so ``openclaw --help`` imports nothing it does not need.

Kill switches (read at load time):

``OPENCLAW_DISABLE_PLUGINS``
    comma-separated plugin (entry-point) or distribution names to skip; the
    word ``third-party`` skips every plugin not shipped with openclaw-core.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from openclaw_core import hookspecs

ENTRY_POINT_GROUP = "openclaw"
CORE_DISTRIBUTION = "openclaw-core"
DISABLE_ENV = "OPENCLAW_DISABLE_PLUGINS"
THIRD_PARTY_TOKEN = "third-party"
CORE_PLUGIN_NAME = "openclaw_core"


@dataclass
class PluginInfo:
    """What ``openclaw plugins list`` shows for one plugin."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool
    module: str | None = None
    error: str | None = None
    hooks: list[str] = field(default_factory=list)


def warn(message: str) -> None:
    # One line, never a traceback: a broken plugin must not drown the command.
    print(f"openclaw: warning: {message}", file=sys.stderr)


def _dist_identity(dist: metadata.Distribution | None, cache: dict[Any, tuple[str, str]]) -> tuple[str, str] | None:
    """(name, version) of a distribution. Each entry point carries its own
    Distribution object and every ``.metadata`` re-parses the METADATA file,
    so read it once per distribution (cold start pays for every parse)."""
    if dist is None:
        return None
    where = getattr(dist, "_path", None) or id(dist)
    if where not in cache:
        meta = dist.metadata
        cache[where] = (meta["Name"], meta["Version"])
    return cache[where]


class OpenClawPluginManager(pluggy.PluginManager):
    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.failed: list[PluginInfo] = []

    # -- registration ------------------------------------------------------------

    def register_plugin(self, plugin: object, name: str, *, distribution: str | None = None,
                        version: str | None = None, builtin: bool = False) -> bool:
        """Register inside an error boundary; True when it took."""
        try:
            self.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - any failure of a plugin is contained
            self._fail(name, distribution, version, builtin, f"cannot register: {type(exc).__name__}: {exc}")
            return False
        module = getattr(plugin, "__name__", type(plugin).__name__)
        self.infos[name] = PluginInfo(name, distribution, version, builtin, module)
        return True

    def _fail(self, name: str, distribution: str | None, version: str | None, builtin: bool, why: str) -> None:
        info = PluginInfo(name, distribution, version, builtin, error=why)
        self.failed.append(info)
        where = f" (from {distribution} {version})" if distribution else ""
        warn(f'plugin "{name}"{where} disabled: {why}')

    def load_entrypoints(self, disabled: Iterable[str] = ()) -> None:
        blocked = {d.strip() for d in disabled if d.strip()}
        no_third_party = THIRD_PARTY_TOKEN in blocked
        seen: set[str] = set()
        identities: dict[Any, tuple[str, str]] = {}
        eps = []
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            name, version = _dist_identity(getattr(ep, "dist", None), identities) or ("", None)
            eps.append((name, version, ep))
        # Built-ins first: pluggy calls the last registered first, so an
        # installed plugin overrides a built-in without tricks.
        eps.sort(key=lambda item: (item[0] != CORE_DISTRIBUTION, item[2].name))
        known = {THIRD_PARTY_TOKEN} | {ep.name for _, _, ep in eps} | {dist for dist, _, _ in eps if dist}
        unmatched = sorted(blocked - known)
        if unmatched:
            # A typo here would leave the plugin on while the user believes it off.
            warn(f"{DISABLE_ENV}: no installed plugin or distribution is named "
                 + ", ".join(f'"{name}"' for name in unmatched) + " (ignored)")
        for dist_name, version, ep in eps:
            builtin = dist_name == CORE_DISTRIBUTION
            if builtin and CORE_PLUGIN_NAME in self.infos and self.infos[CORE_PLUGIN_NAME].version is None:
                self.infos[CORE_PLUGIN_NAME].version = version
            if ep.name in seen or self.has_plugin(ep.name):
                continue
            seen.add(ep.name)
            if ep.name in blocked or dist_name in blocked or (no_third_party and not builtin):
                self.set_blocked(ep.name)
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001
                self._fail(ep.name, dist_name or None, version, builtin,
                           f"cannot import {ep.value}: {type(exc).__name__}: {exc}")
                continue
            self.register_plugin(plugin, ep.name, distribution=dist_name or None, version=version, builtin=builtin)
        self.check_plugins()

    def check_plugins(self) -> None:
        """``check_pending()``, dropping (with a warning) each plugin it rejects."""
        while True:
            try:
                self.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                plugin = exc.plugin
                name = self.get_name(plugin) or repr(plugin)
                info = self.infos.pop(name, None)
                self.unregister(plugin)
                self._fail(name, info.distribution if info else None, info.version if info else None,
                           bool(info and info.builtin), str(exc))

    # -- calling --------------------------------------------------------------------

    def call_each(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """Call every implementation of a collect hook, each in its own error boundary.

        Yields ``(plugin name, result)``; a plugin that raises is reported in
        one warning line and skipped, so it cannot stop the command.
        """
        caller = getattr(self.hook, hook_name)
        # pluggy's order: last registered first; keep it so overrides behave the same.
        for impl in reversed(caller.get_hookimpls()):
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                result = impl.function(**args)
            except Exception as exc:  # noqa: BLE001
                warn(f'plugin "{impl.plugin_name}" failed in {hook_name}: {type(exc).__name__}: {exc}')
                continue
            if result is not None:
                yield impl.plugin_name, result

    def plugin_infos(self) -> list[PluginInfo]:
        infos = []
        for name, info in self.infos.items():
            plugin = self.get_plugin(name)
            if plugin is None:
                continue
            info.hooks = sorted(caller.name for caller in self.get_hookcallers(plugin) or [])
            infos.append(info)
        return infos + list(self.failed)


_manager: OpenClawPluginManager | None = None
_manager_lock = threading.Lock()


def disabled_from_env(environ: dict[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return [p for p in env.get(DISABLE_ENV, "").split(",") if p.strip()]


def new_plugin_manager(*, load_entrypoints: bool = True, disabled: Iterable[str] | None = None) -> OpenClawPluginManager:
    """A fresh manager: the core's own plugin, then the entry points."""
    from openclaw_core import core_plugin

    pm = OpenClawPluginManager()
    # The core's version comes with its built-in entry points' scan (no second search).
    pm.register_plugin(core_plugin, CORE_PLUGIN_NAME, distribution=CORE_DISTRIBUTION, builtin=True)
    if load_entrypoints:
        pm.load_entrypoints(disabled_from_env() if disabled is None else disabled)
    core = pm.infos.get(CORE_PLUGIN_NAME)  # absent if it failed to register
    if core is not None and core.version is None:
        core.version = _core_version()
    return pm


def _core_version() -> str | None:
    try:
        return metadata.version(CORE_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def get_plugin_manager() -> OpenClawPluginManager:
    """The process-wide manager, loaded on first use."""
    global _manager
    if _manager is None:
        with _manager_lock:
            if _manager is None:
                _manager = new_plugin_manager()
    return _manager


def set_plugin_manager(pm: OpenClawPluginManager | None) -> OpenClawPluginManager | None:
    """Swap the process-wide manager (tests, embedding); returns the previous one."""
    global _manager
    with _manager_lock:
        previous, _manager = _manager, pm
    return previous


def first_result(hook_name: str, **kwargs: Any) -> Any:
    """Call a first-result hook on the process-wide manager."""
    return getattr(get_plugin_manager().hook, hook_name)(**kwargs)

