"""The plugin manager: built-ins and third-party plugins come through the same
``openclaw`` entry-point group, each loaded inside its own error boundary.

The manager is built by the composition root (:mod:`openclaw_core.app`)
and reached through :class:`openclaw_core.contract.hooks.Hooks`.

Kill switches (read at load time):

``OPENCLAW_DISABLE_PLUGINS``
    comma-separated plugin (entry-point) or distribution names to skip; the
    word ``third-party`` skips every plugin not shipped with openclaw-core.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pluggy

from openclaw_core import hookspecs
from openclaw_core.contract import entrypoints
from openclaw_core.base.notices import warn
from openclaw_core.base.record import Record

ENTRY_POINT_GROUP = "openclaw"
CORE_DISTRIBUTION = "openclaw-core"
DISABLE_ENV = "OPENCLAW_DISABLE_PLUGINS"
THIRD_PARTY_TOKEN = "third-party"
CORE_PLUGIN_NAME = "openclaw_core"


class PluginInfo(Record):
    """What ``openclaw plugins list`` shows for one plugin."""

    __slots__ = ("name", "distribution", "version", "builtin", "module", "error", "hooks")

    def __init__(self, name: str, distribution: str | None, version: str | None, builtin: bool,
                 module: str | None = None, error: str | None = None, hooks: list[str] | None = None) -> None:
        self.name = name
        self.distribution = distribution
        self.version = version
        self.builtin = builtin
        self.module = module
        self.error = error
        self.hooks: list[str] = [] if hooks is None else hooks


# The hooks whose every implementation is called and collected; a plugin
# failing in one is reported and skipped (first-result hooks and the commit
# wrapper let the error through: it decides the outcome).
COLLECT_HOOKS = frozenset({"openclaw_register_commands", "openclaw_config_sections", "openclaw_store_committed",
                           "openclaw_maintenance_policies", "openclaw_gateway_methods"})

_given_by: contextvars.ContextVar[dict[int, str] | None] = contextvars.ContextVar("openclaw_given_by", default=None)


@contextlib.contextmanager
def provenance() -> Iterator[dict[int, str]]:
    """Within it, each guarded implementation records id(result) -> its plugin."""
    given_by: dict[int, str] = {}
    token = _given_by.set(given_by)
    try:
        yield given_by
    finally:
        _given_by.reset(token)


def _guarded(function: Callable[..., Any], plugin_name: str, hook_name: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def boundary(*args: Any) -> Any:
        try:
            result = function(*args)
        except Exception as exc:  # noqa: BLE001 - a plugin's failure is contained
            warn(f'plugin "{plugin_name}" failed in {hook_name}: {type(exc).__name__}: {exc}')
            return None
        given_by = _given_by.get()
        if given_by is not None and result is not None:
            given_by[id(result)] = plugin_name
        return result

    return boundary


# What pluggy can bind besides a plain function, and the names whose lookup on a
# module a class attribute decides (see parse_hookimpl_opts).
_MAYBE_HOOKABLE = (staticmethod, classmethod, types.MethodType)
_MODULE_DATA_DESCRIPTORS = frozenset(
    name for klass in types.ModuleType.__mro__ for name, attr in vars(klass).items()
    if hasattr(type(attr), "__set__") or hasattr(type(attr), "__delete__"))


class OpenClawPluginManager(pluggy.PluginManager):
    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self._impl_marker = hookspecs.PROJECT + "_impl"
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.failed: list[PluginInfo] = []

    # -- registration ------------------------------------------------------------

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        # pluggy looks up every name of a plugin with inspect.getattr_static (a
        # fifth of registering the built-ins). For any name but those of
        # ModuleType's data descriptors, a module's own dict holds what that finds,
        # so a function's marker is read at once (as pluggy reads it: the function,
        # else its __func__) and a value that cannot be a hook is skipped; anything
        # else is pluggy's.
        if type(plugin) is types.ModuleType and name not in _MODULE_DATA_DESCRIPTORS:
            value = plugin.__dict__.get(name)
            if isinstance(value, types.FunctionType):
                opts = getattr(value, self._impl_marker, None)
                if opts is None:
                    opts = getattr(getattr(value, "__func__", None), self._impl_marker, None)
                return opts if isinstance(opts, dict) else None
            if not isinstance(value, _MAYBE_HOOKABLE):
                return None
        return super().parse_hookimpl_opts(plugin, name)  # type: ignore[arg-type]

    def register(self, plugin: object, name: str | None = None) -> str | None:
        registered = super().register(plugin, name)
        if registered is not None:
            self._guard_collect_hooks(plugin)
        return registered

    def _guard_collect_hooks(self, plugin: object) -> None:
        # The error boundary of a collect hook, put around each plain
        # implementation (not wrappers: they must see the others' errors), so
        # pluggy's loop stays the one loop and a failing plugin is skipped.
        for caller in self.get_hookcallers(plugin) or []:
            if caller.name not in COLLECT_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                    impl.function = _guarded(impl.function, impl.plugin_name, caller.name)

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
        eps = [(ep.dist_name, ep.dist_version, ep) for ep in entrypoints.entry_points(ENTRY_POINT_GROUP)]
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

    def plugin_infos(self) -> list[PluginInfo]:
        infos = []
        for name, info in self.infos.items():
            plugin = self.get_plugin(name)
            if plugin is None:
                continue
            info.hooks = sorted(caller.name for caller in self.get_hookcallers(plugin) or [])
            infos.append(info)
        return infos + list(self.failed)


def disabled_from_env(environ: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return [p for p in env.get(DISABLE_ENV, "").split(",") if p.strip()]


def core_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version(CORE_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
