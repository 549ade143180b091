"""Dynamic shell completion: agent ids, session keys and store paths.

click calls these while the shell completes a word (``_OPENCLAW_COMPLETE``,
docs/completion.md). They read the config and at most the stores' JSON
directly (no writer, no lock, no plugin scan) and must never fail where the
user can see it: on any error they complete nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from pathlib import Path

# The completers return strings (or click's CompletionItem, imported only while
# completing, so a command's import, i.e. every run, does not pay for it).
Completions = list[Any]

#: a store bigger than this is not read to complete a key (a keypress must stay fast)
MAX_STORE_BYTES = 64 * 1024 * 1024


def _quietly(func: Callable[..., Completions]) -> Callable[..., Completions]:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> Completions:
        try:
            from click.shell_completion import CompletionItem

            # click converts plain strings only when the first one is a string: do it for all
            return [CompletionItem(c) if isinstance(c, str) else c for c in func(ctx, param, incomplete)]
        except Exception:  # noqa: BLE001 - completion must never print a traceback into a prompt
            return []

    complete.__name__ = func.__name__
    complete.__doc__ = func.__doc__
    return complete


def _config() -> Any:
    from openclaw_core.config.model import load_config

    return load_config(validate=False)


def _given(ctx: click.Context, name: str) -> Any:
    """An option's value on this command or a parent (``sessions --agent w cleanup``)."""
    node: click.Context | None = ctx
    while node is not None:
        value = node.params.get(name)
        if value not in (None, ""):
            return value
        node = node.parent
    return None


@_quietly
def agent_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> Completions:
    """The configured agent ids."""
    return [a for a in _config().agent_ids() if a.startswith(incomplete)]


@_quietly
def deletable_agent_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> Completions:
    """The configured agent ids but "main" (which cannot be deleted)."""
    return [a for a in _config().agent_ids() if a != "main" and a.startswith(incomplete)]


@_quietly
def session_keys(ctx: click.Context, param: click.Parameter, incomplete: str) -> Completions:
    """The keys in the store(s) the command would act on (``--store``/``--agent``/``--all-agents``)."""
    from openclaw_core.config.targets import resolve_targets

    config = _config()
    if config.session_backend != "file":
        return []  # another backend's store is not a file to peek into
    targets = resolve_targets(config, store=_given(ctx, "store"), agent=_given(ctx, "agent"),
                              all_agents=bool(_given(ctx, "all_agents")))
    keys: dict[str, None] = {}
    for target in targets:
        keys.update(dict.fromkeys(k for k in _store_keys(target.path) if k.startswith(incomplete)))
    return sorted(keys)


def _store_keys(path: Path) -> Iterator[str]:
    import json

    try:
        if path.stat().st_size > MAX_STORE_BYTES:
            return
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return
    if isinstance(data, dict):
        yield from (k for k in data if isinstance(k, str))


@_quietly
def store_paths(ctx: click.Context, param: click.Parameter, incomplete: str) -> Completions:
    """The configured agents' store files, then whatever the shell completes as a file name."""
    config = _config()
    stores = dict.fromkeys(str(config.store_path(a)) for a in config.agent_ids())
    from click.shell_completion import CompletionItem

    return [*(p for p in stores if p.startswith(incomplete)), CompletionItem(incomplete, type="file")]
