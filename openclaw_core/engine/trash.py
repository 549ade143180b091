"""Moving an agent's directories out of the way: the types of the
``openclaw_trash`` hook and :func:`trash_path`, the one function the core
calls it through.

The core decides *whether* a path may go (:func:`refusal`): it must exist,
sit inside the user's home or the state dir, and be neither the home, the
state dir, nor anything containing the state dir. A plugin decides *where*
it goes (built-in: ``openclaw_trash``, the system trash through send2trash;
a plugin registered later wins). Whatever happens, the caller gets one
:class:`TrashResult` per path: moved, missing, or not moved and why.
Nothing here deletes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks


@dataclass(frozen=True)
class TrashContext:
    """Where the command runs; handed to every ``openclaw_trash`` implementation.

    ``home`` and ``state_dir`` are those of the command's environment ``env``
    (which may differ from the process's own, e.g. in the Gateway or tests).
    ``agent_id`` and ``role`` (``"workspace"``, ``"agentDir"``,
    ``"sessionsDir"``) say what the path is, for plugins that file it.
    ``config`` is the command's config (checked against its plugins'
    sections), for a plugin that reads its own table.
    """

    home: Path
    state_dir: Path
    env: Mapping[str, str] = field(default_factory=dict)
    agent_id: str | None = None
    role: str | None = None
    config: Config | None = field(default=None, compare=False, repr=False)

    @classmethod
    def for_config(cls, config: Config, *, agent_id: str | None = None, role: str | None = None) -> TrashContext:
        from openclaw_core.config.paths import resolve_home

        return cls(resolve_home(config.env), Path(config.state_dir), dict(config.env), agent_id, role, config)


@dataclass(frozen=True)
class TrashResult:
    """What became of one path.

    ``moved`` with ``destination`` when it went; otherwise ``reason`` says why
    it did not (``missing`` marks a path that was not there, which is not a
    failure: there was nothing to move).
    """

    path: str
    moved: bool
    destination: str | None = None
    reason: str | None = None
    missing: bool = False

    @property
    def failed(self) -> bool:
        return not self.moved and not self.missing


def _real_location(path: str) -> str:
    """The path with its parent's links resolved but not its own last part,
    so a symlink is judged by where the link is, not where it points."""
    absolute = os.path.abspath(path)
    parent, name = os.path.split(absolute.rstrip(os.sep) or os.sep)
    return os.path.join(os.path.realpath(parent), name) if name else os.path.realpath(parent)


def is_within(candidate: str, root: str) -> bool:
    """``candidate`` is ``root`` or below it (both already normalised)."""
    try:
        return os.path.commonpath([candidate, root]) == root
    except ValueError:  # different drives
        return False


def user_home(context: TrashContext) -> Path:
    """The OS user's home (``HOME``), where the trash lives; ``context.home`` when unknown."""
    from openclaw_core.config.paths import os_home

    found = os_home(context.env)
    return Path(os.path.abspath(found)) if found else Path(context.home)


def refusal(path: str, context: TrashContext) -> str | None:
    """Why ``path`` must not be moved, or None when it may.

    Allowed: strictly inside the home (OpenClaw's, which ``OPENCLAW_HOME``
    may move, or the user's) or the state dir, and not a home, the state
    dir, or a directory that contains the state dir. Judged on the link
    itself when ``path`` is a symlink.
    """
    location = _real_location(path)
    homes = {os.path.realpath(context.home), os.path.realpath(user_home(context))}
    state = os.path.realpath(context.state_dir)
    if location in homes or location == state or is_within(state, location):
        return f"refusing to move {location}: it is the home or the state dir, or contains it"
    if not any(is_within(location, root) for root in (*homes, state)):
        return (f"refusing to move {location}: it is outside the home ({os.path.realpath(context.home)}) "
                f"and the state dir ({state})")
    return None


def trash_path(path: str | os.PathLike[str], context: TrashContext, hooks: Hooks) -> TrashResult:
    """Move one path to the trash through the ``openclaw_trash`` hook.

    Never raises for a path that cannot go: the result says so. A missing
    path is reported as ``missing`` without asking any plugin.
    """
    text = os.fspath(path)
    if not os.path.lexists(text):
        return TrashResult(text, moved=False, reason="not found", missing=True)
    why = refusal(text, context)
    if why is not None:
        return TrashResult(text, moved=False, reason=why)
    try:
        result = hooks.trash(text, context)
    except Exception as exc:  # noqa: BLE001 - a plugin's failure is this path's failure, not the command's
        return TrashResult(text, moved=False, reason=f"{type(exc).__name__}: {exc}")
    if result is None:
        return TrashResult(text, moved=False, reason="no installed plugin provides a trash (openclaw_trash)")
    if not isinstance(result, TrashResult):
        return TrashResult(text, moved=False, reason=f"the trash plugin returned {type(result).__name__}, not a TrashResult")
    if result.moved and os.path.lexists(text):
        # A plugin that says "moved" while the path is still there is not believed.
        return TrashResult(text, moved=False, reason=f"the trash plugin reported {text} moved, but it is still there")
    return result
