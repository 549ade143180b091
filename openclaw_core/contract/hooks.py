"""The typed face of the plugin manager: one method per hook spec.

Engine, services and adapters call hooks only through a :class:`Hooks` they
were handed (the composition root, :mod:`openclaw_core.app`, builds it), so
a manager passed in is the manager used on every path, and hook names are
checked by the type checker instead of being strings.

Every call goes through pluggy's own loop (wrappers, tracing and monitoring
see it). The per-plugin error boundary of the *collect* hooks is put around
each implementation when it is registered (see
:meth:`openclaw_core.contract.manager.OpenClawPluginManager.register`);
:meth:`Hooks._collect` reads back which plugin gave which result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from openclaw_core.base.keys import is_protected_entry
from openclaw_core.contract.manager import OpenClawPluginManager, PluginInfo, provenance

if TYPE_CHECKING:
    import click

    from openclaw_core.adapters.gateway.methods import GatewayMethod
    from openclaw_core.config.model import Config
    from openclaw_core.engine.maintenance import MaintenancePolicy
    from openclaw_core.engine.store.backend import StoreBackend
    from openclaw_core.engine.store.commit import StoreCommit
    from openclaw_core.engine.transport import TransportRequest, TransportResponse
    from openclaw_core.engine.trash import TrashContext, TrashResult


class Hooks:
    """Calls the hooks of one plugin manager."""

    def __init__(self, pm: OpenClawPluginManager) -> None:
        self.pm = pm
        self._hook = pm.hook

    def _collect(self, caller: Any, **kwargs: Any) -> list[tuple[str, Any]]:
        # (plugin name, result) per implementation that returned something, in
        # pluggy's order (the last registered first, so an installed plugin
        # comes before the built-in it overrides).
        with provenance() as given_by:
            results = caller(**kwargs)
        return [(given_by.get(id(result), "?"), result) for result in results]

    # -- command line, config ------------------------------------------------------

    def register_commands(self, cli: click.Group) -> None:
        self._collect(self._hook.openclaw_register_commands, cli=cli)

    def config_sections(self) -> list[tuple[str, Any]]:
        """(plugin, what it declared) for every plugin that declares config sections."""
        return self._collect(self._hook.openclaw_config_sections)

    # -- stores ------------------------------------------------------------------------

    def store_backend(self, name: str, store_path: str, config: Config) -> StoreBackend | None:
        return self._hook.openclaw_store_backend(name=name, store_path=store_path, config=config, hooks=self)

    def store_lock(self, lock_path: str, store_path: str, timeout: float) -> AbstractContextManager[None] | None:
        return self._hook.openclaw_store_lock(lock_path=lock_path, store_path=store_path, timeout=timeout)

    def store_commit(self, commit: StoreCommit) -> None:
        self._hook.openclaw_store_commit(commit=commit)

    def store_committed(self, store_path: str, changed_keys: frozenset[str], removed_keys: frozenset[str]) -> None:
        self._collect(self._hook.openclaw_store_committed, store_path=store_path, changed_keys=changed_keys,
                      removed_keys=removed_keys)

    # -- maintenance ---------------------------------------------------------------------

    def maintenance_policies(self) -> list[tuple[str, list[MaintenancePolicy]]]:
        return self._collect(self._hook.openclaw_maintenance_policies)

    def entry_protected(self, key: str, entry: Mapping[str, Any], store_path: str) -> bool | None:
        return self._hook.openclaw_entry_protected(key=key, entry=entry, store_path=store_path)

    def is_protected(self, key: str, entry: Mapping[str, Any], store_path: str) -> bool:
        """The one protection decision: the first plugin with an opinion, else
        the built-in rule (maintenance and the row backends' columns ask here)."""
        decision = self._hook.openclaw_entry_protected(key=key, entry=entry, store_path=store_path)
        return bool(decision) if decision is not None else is_protected_entry(key, entry)

    def protection_decider(self, store_path: str) -> Callable[[str, Mapping[str, Any]], bool]:
        """:meth:`is_protected` for many entries of one store (maintenance asks for
        every entry it considers): the implementations called directly, as
        pluggy would call them, when nothing wraps or monitors the hook."""
        calls = self.protection_calls(store_path)
        if calls is None:
            return lambda key, entry: self.is_protected(key, entry, store_path)

        def decide(key: str, entry: Mapping[str, Any]) -> bool:
            for call in calls:
                decision = call(key, entry)
                if decision is not None:
                    return bool(decision)
            return is_protected_entry(key, entry)

        return decide

    def protection_calls(self, store_path: str) -> list[Callable[[str, Any], Any]] | None:
        """The ``openclaw_entry_protected`` implementations as plain ``(key, entry)``
        callables, in the order pluggy calls them, each given the arguments it
        declares (pluggy's per-call dispatch was a sixth of a 100,000-entry
        cleanup). None when a wrapper or a hook monitor is installed: pluggy
        must do the calling then, so they see every call."""
        inner = getattr(self.pm, "_inner_hookexec", None)  # replaced by add_hookcall_monitoring / enable_tracing
        if getattr(inner, "__name__", None) != "_multicall" or not getattr(inner, "__module__", "").startswith("pluggy"):
            return None
        calls: list[Callable[[str, Any], Any]] = []
        for impl in reversed(self._hook.openclaw_entry_protected.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper or impl.kwargnames:
                return None
            fn, names = impl.function, tuple(impl.argnames)
            if names == ("key", "entry"):
                calls.append(fn)
            else:
                def call(key: str, entry: Any, fn: Any = fn, names: tuple[str, ...] = names) -> Any:
                    given = {"key": key, "entry": entry, "store_path": store_path}
                    return fn(*[given[name] for name in names])
                calls.append(call)
        return calls

    def protection_rules(self) -> str:
        """A fingerprint of the plugins (and versions) that decide protection: a
        row backend stores it beside each decision, and re-decides on a change."""
        names = []
        for impl in self._hook.openclaw_entry_protected.get_hookimpls():
            info = self.pm.infos.get(impl.plugin_name)
            names.append(f"{impl.plugin_name}={info.version if info else ''}")
        names.sort()
        import hashlib  # row backends only: OpenSSL's load is not every command's

        return hashlib.blake2b("|".join(names).encode(), digest_size=6).hexdigest()

    # -- transport, trash, Gateway -----------------------------------------------------

    def transport(self, request: TransportRequest) -> TransportResponse | None:
        return self._hook.openclaw_transport(request=request)

    def trash(self, path: str, context: TrashContext) -> TrashResult | None:
        return self._hook.openclaw_trash(path=path, context=context)

    def gateway_methods(self) -> list[tuple[str, list[GatewayMethod]]]:
        return self._collect(self._hook.openclaw_gateway_methods)

    # -- what `openclaw plugins list` shows ---------------------------------------------------

    def plugin_infos(self) -> list[PluginInfo]:
        return self.pm.plugin_infos()

    def disabled_plugins(self) -> list[str]:
        """Plugins the kill switch (OPENCLAW_DISABLE_PLUGINS) kept from loading."""
        return [name for name, plugin in self.pm.list_name_plugin() if plugin is None]

    def identity(self) -> tuple[int, tuple[str, ...]]:
        """What the known config sections depend on: this manager and its plugins."""
        return id(self.pm), tuple(name for name, _ in self.pm.list_name_plugin())
