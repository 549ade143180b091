"""Every hook of openclaw-core. One module, one marker pair, one prefix.

A plugin is a module (or object) with functions named after these specs and
decorated with :data:`hookimpl`; it is registered through the ``openclaw``
entry-point group, exactly like the built-in plugins in ``plugins/``.
Implementations may accept fewer arguments than a spec (pluggy passes only
the ones they name). ``docs/hooks.md`` documents each spec; a test keeps the
two in step.

Result styles:

* *collect* hooks return a list (or None) from every plugin;
* *first result* hooks stop at the first plugin that returns something other
  than None; built-ins register with ``trylast=True`` so an installed plugin
  wins;
* :func:`openclaw_store_commit` is meant for ``wrapper=True`` implementations
  around the core's own write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # keep `openclaw --help` from importing the world
    import click

    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks
    from openclaw_core.config.schema import ConfigSection
    from openclaw_core.adapters.gateway.methods import GatewayMethod
    from openclaw_core.engine.maintenance import MaintenancePolicy
    from openclaw_core.engine.store.backend import StoreBackend
    from openclaw_core.engine.store.commit import StoreCommit
    from openclaw_core.engine.transport import TransportRequest, TransportResponse
    from openclaw_core.engine.trash import TrashContext, TrashResult

PROJECT = "openclaw"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- command line --------------------------------------------------------------

@hookspec
def openclaw_register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the root ``openclaw`` group.

    Called once when the CLI is built. Add with ``cli.add_command(...)``; to
    extend an existing group, look it up with ``cli.commands["sessions"]``.
    Keep imports of heavy libraries inside the command functions.
    """


# --- config -------------------------------------------------------------------

@hookspec
def openclaw_config_sections() -> Mapping[str, ConfigSection | Sequence[str]]:
    """Declare the config tables this plugin reads: dotted path -> its keys.

    The config is strict: a key no one declared is refused when the config is
    loaded (``plugins: Unrecognized key: "x"``, exit 1, nothing touched). Put
    a plugin's own table at ``plugins.<name>``. A value is the table's key
    names, or a :class:`openclaw_core.config.schema.ConfigSection` with the
    keys and a validator ``(table, path) -> problems`` (``path: message``
    lines). Keep it cheap and import nothing heavy: it runs on every load.
    """


# --- stores -------------------------------------------------------------------

@hookspec(firstresult=True)
def openclaw_store_backend(name: str, store_path: str, config: Config, hooks: Hooks) -> StoreBackend | None:
    """Provide the store backend for ``session.backend == name`` (first result wins).

    ``store_path`` is the resolved store path (the file store's file; other
    backends use it as the store's identity and to find the transcripts dir).
    ``hooks`` is the caller's :class:`openclaw_core.contract.hooks.Hooks`: use it
    for the lock and the protection decision, so the caller's plugins decide.
    Return None for a name you do not serve.
    """


@hookspec(firstresult=True)
def openclaw_store_lock(lock_path: str, store_path: str, timeout: float) -> AbstractContextManager[None] | None:
    """Return a context manager holding a cross-process lock on ``lock_path``.

    The file store's backend takes it around each commit (a group of
    mutations), so offline CLIs and the Gateway never interleave writes to
    one store file; maintenance takes it on a sibling store whose references
    it must read. (The row backends lock inside their database.) Raise
    :class:`openclaw_core.base.errors.StoreLockTimeout` when it cannot be taken
    within ``timeout`` seconds. The backend names its lock file among its own
    files (``StoreBackend.excluded_files``), so maintenance never counts it as
    a session artifact.
    """


@hookspec
def openclaw_store_commit(commit: StoreCommit) -> None:
    """Runs around every commit of a store; the core's own implementation writes it.

    Implement it with ``@hookimpl(wrapper=True)``: code before ``yield`` sees
    the commit about to be written (``commit.changed_keys``,
    ``commit.removed_keys``, ``commit.store``) and may raise to refuse it
    (every mutation in it then fails and nothing is written); code after
    ``yield`` runs once it is durable, or sees the exception of a failed write.
    Do not mutate ``commit.store``.
    """


@hookspec
def openclaw_store_committed(store_path: str, changed_keys: frozenset[str], removed_keys: frozenset[str]) -> None:
    """Notification after a commit is durable (not called for skipped no-op writes).

    ``changed_keys`` were added or updated, ``removed_keys`` deleted. Runs on
    the writer's thread: return quickly.
    """


# --- maintenance ----------------------------------------------------------------

@hookspec
def openclaw_maintenance_policies() -> list[MaintenancePolicy]:
    """Return maintenance policies to run inside the writer on every commit.

    Policies run in ascending ``order`` (ties by name); ``openclaw plugins
    list`` shows the resulting sequence. See docs/maintenance.md.
    """


@hookspec(firstresult=True)
def openclaw_entry_protected(key: str, entry: Mapping[str, Any], store_path: str) -> bool | None:
    """Decide whether maintenance must keep an entry however old (first result wins).

    Return True to protect, False to leave it unprotected, None for no
    opinion. The built-in rule (groups, channels, threads, topics; never
    synthetic keys) answers last.
    """


# --- transport ------------------------------------------------------------------

@hookspec(firstresult=True)
def openclaw_transport(request: TransportRequest) -> TransportResponse | None:
    """Carry a mutating command (``sessions.cleanup``, ``agents.delete``) to where it runs.

    Return a response when you carried it; return None when no connection
    could be made, so the next transport, and finally the offline path, gets
    it. Raise :class:`openclaw_core.base.errors.GatewayError` when the command may
    have started or was refused (never fall back then).
    """


# --- trash ------------------------------------------------------------------------

@hookspec(firstresult=True)
def openclaw_trash(path: str, context: TrashContext) -> TrashResult | None:
    """Move ``path`` out of the way (first result wins); never follow a symlink.

    Return a result saying where it went or why it did not move; return None
    to let the next plugin handle it.
    """


# --- gateway --------------------------------------------------------------------------

@hookspec
def openclaw_gateway_methods() -> list[GatewayMethod]:
    """Return RPC methods the Gateway serves (name, scope, handler)."""
