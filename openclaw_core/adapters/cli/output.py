"""How the CLI talks to a person: colour, ``-q``/``-v``, and where each kind of line goes.

Colour follows the reference's rule: ``FORCE_COLOR`` (set, not ``0``) turns it
on even when piped, ``NO_COLOR`` (set, not empty) or ``--no-color`` turns it
off, otherwise a terminal that is not ``dumb`` gets it. Only the CLI's own
decorations are coloured (errors, help headings, listing headers): JSON and
the reference's text output stay byte for byte the same when piped.

The settings are per process, set by the root command's options and reset by
each :func:`openclaw_core.adapters.cli.main` call (tests call it many times in one process).
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

import click

_settings: dict[str, bool] = {"quiet": False, "verbose": False, "no_color": False}

#: click.style arguments per role (the 16 basic colours: every terminal has them)
ROLES: dict[str, dict[str, Any]] = {
    "error": {"fg": "red"},
    "warning": {"fg": "yellow"},
    "heading": {"fg": "bright_red", "bold": True},
    "command": {"fg": "bright_red"},
    "option": {"fg": "bright_yellow"},
    "muted": {"fg": "red"},
    "info": {"fg": "bright_yellow"},
}


def configure(*, quiet: bool = False, verbose: bool = False, no_color: bool = False) -> None:
    """Every setting at once (the defaults: a fresh command)."""
    update(quiet=quiet, verbose=verbose, no_color=no_color)


def update(**settings: bool) -> None:
    """Some settings (the root options, as they are parsed)."""
    unknown = set(settings) - set(_settings)
    if unknown:
        raise TypeError(f"unknown output settings: {sorted(unknown)}")
    _settings.update(settings)
    _route_debug_log()


def _route_debug_log() -> None:
    # logging costs start-up time: imported only once -q or -v is (or was) given.
    if _settings["quiet"] or _settings["verbose"] or "openclaw_core.adapters.cli.logroute" in sys.modules:
        from openclaw_core.adapters.cli import logroute

        logroute.apply(verbose=verbose(), detail=detail, quiet=quiet)


def quiet() -> bool:
    return _settings["quiet"]


def verbose() -> bool:
    return _settings["verbose"] and not _settings["quiet"]


def set_verbose(on: bool = True) -> None:
    """A command's own ``--verbose`` (``openclaw sessions --verbose``) is the global ``-v``."""
    update(verbose=_settings["verbose"] or on)


def color_enabled(stream: IO[Any] | None = None, env: Any = None) -> bool:
    env = os.environ if env is None else env
    forced = (env.get("FORCE_COLOR") or "").strip()
    if forced and forced != "0":
        return True
    if forced == "0" or env.get("NO_COLOR") or _settings["no_color"]:
        return False
    stream = sys.stdout if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and env.get("TERM") != "dumb"


def paint(text: str, role: str, color: bool) -> str:
    """``text`` in ``role``'s colour when ``color`` is on (line by line, so a
    pager or a ``grep`` of one line never carries an unclosed colour)."""
    if not color or not text:
        return text
    return "\n".join(click.style(line, **ROLES[role]) if line else line for line in text.split("\n"))


def style_for(stream: IO[Any], text: str, role: str) -> str:
    return paint(text, role, color_enabled(stream))


def _echo(text: str, stream: IO[Any], role: str | None) -> None:
    color = color_enabled(stream)
    click.echo(paint(text, role, color) if role else text, file=stream, color=color)


def error(message: str) -> None:
    """An error line on stderr (red on a terminal); never silenced."""
    _echo(message, sys.stderr, "error")


def info(message: str) -> None:
    """An informational line on stderr; ``-q`` silences it."""
    if not quiet():
        _echo(message, sys.stderr, None)


def detail(message: str) -> None:
    """A detail line on stderr only with ``-v``/``--verbose`` (e.g. which transport answered)."""
    if verbose():
        _echo(message, sys.stderr, "muted")
