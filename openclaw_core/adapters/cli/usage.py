"""Usage errors and help in one style for every command.

Errors take the reference's (commander's) wording and exit status 1::

    error: unknown option '--bogus'
    error: unknown option '--stor'
    (Did you mean --store?)
    error: option '--agent <id>' argument missing
    error: missing required argument 'id'
    error: too many arguments for 'delete'. Expected 1 argument but got 2.

:func:`usage_message` turns any click usage error into that line, so the
entry point (:func:`openclaw_core.adapters.cli.main`) handles a plugin's plain click
command the same way. :class:`OpenClawCommand` / :class:`OpenClawGroup` add
what a message alone cannot know (how many arguments were too many, an unknown
subcommand) and an "Examples:" section to ``--help``, coloured on a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from openclaw_core.adapters.cli.output import paint

USAGE_EXIT = 1  # commander's exit status for every parse error


class TooManyArguments(click.UsageError):
    def __init__(self, ctx: click.Context, got: int) -> None:
        self.got = got
        super().__init__("too many arguments", ctx)


# --- suggestions ---------------------------------------------------------------------------------

def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment), as commander measures typos."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """Commander's suggestion line ("" when nothing is close): at most 2 edits
    away and more than 40% the same, e.g. ``--stor`` -> ``--store`` but
    ``--bogus`` -> nothing."""
    options = word.startswith("--")
    if options:
        word = word[2:]
        candidates = [c[2:] for c in candidates]
    best, similar = 3, []
    for candidate in dict.fromkeys(candidates):
        if len(candidate) <= 1:
            continue
        distance = _edit_distance(word, candidate)
        length = max(len(word), len(candidate))
        if (length - distance) / length > 0.4:
            if distance < best:
                best, similar = distance, [candidate]
            elif distance == best:
                similar.append(candidate)
    similar.sort()
    if options:
        similar = [f"--{c}" for c in similar]
    if len(similar) > 1:
        return f"\n(Did you mean one of {', '.join(similar)}?)"
    if similar:
        return f"\n(Did you mean {similar[0]}?)"
    return ""


def long_options(ctx: click.Context | None) -> list[str]:
    """The long options a typo may have meant: this command's and its parents'
    up to (not including) the root, as commander looks them up."""
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        for param in ctx.command.get_params(ctx):
            names.extend(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
        ctx = ctx.parent
    return names


# --- messages ------------------------------------------------------------------------------------

def option_term(ctx: click.Context | None, name: str) -> str:
    """``--agent <id>``: the option and its metavar in commander's form."""
    param = _find_option(ctx, name)
    if param is None or getattr(param, "is_flag", False) or param.nargs == 0:
        return name
    metavar = param.metavar or param.type.name.upper()
    return f"{name} <{metavar.lower()}>"


def _find_option(ctx: click.Context | None, name: str) -> click.Parameter | None:
    if ctx is None:
        return None
    for param in ctx.command.get_params(ctx):
        if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def _argument_count(ctx: click.Context) -> int:
    return sum(max(p.nargs, 0) for p in ctx.command.get_params(ctx) if isinstance(p, click.Argument))


def usage_message(exc: click.UsageError) -> str:
    """The one-line (two with a suggestion) commander-style message for ``exc``."""
    ctx = exc.ctx
    name = ctx.info_name if ctx is not None else "openclaw"
    if isinstance(exc, click.NoSuchOption):
        return f"error: unknown option '{exc.option_name}'" + did_you_mean(exc.option_name, long_options(ctx))
    if isinstance(exc, TooManyArguments):
        expected = _argument_count(ctx) if ctx is not None else 0
        noun = "argument" if expected == 1 else "arguments"
        return f"error: too many arguments for '{name}'. Expected {expected} {noun} but got {exc.got}."
    unknown = getattr(exc, "command_name", None)  # click >= 8.4's NoSuchCommand
    if unknown is None and (match := re.match(r"No such command '(.*)'\.$", exc.message)):
        unknown = match.group(1)
    if unknown is not None:
        commands = ctx.command.list_commands(ctx) if ctx is not None and isinstance(ctx.command, click.Group) else []
        return f"error: unknown command '{unknown}'" + did_you_mean(unknown, commands)
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        if isinstance(exc.param, click.Argument):
            return f"error: missing required argument '{(exc.param.metavar or exc.param.name or '').lower()}'"
        opt = exc.param.opts[0] if exc.param.opts else f"--{exc.param.name}"
        return f"error: required option '{option_term(ctx, opt)}' not specified"
    if isinstance(exc, click.BadOptionUsage):
        if "requires" in exc.message and "argument" in exc.message:
            return f"error: option '{option_term(ctx, exc.option_name)}' argument missing"
        if "does not take a value" in exc.message:
            return f"error: option '{exc.option_name}' does not take an argument"
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        value = _given_value(exc)
        detail = exc.message.rstrip(".")
        if isinstance(exc.param, click.Argument):
            arg = (exc.param.metavar or exc.param.name or "").lower()
            return f"error: command-argument value '{value}' is invalid for argument '{arg}'. {detail}."
        opt = exc.param.opts[0] if exc.param.opts else f"--{exc.param.name}"
        return f"error: option '{option_term(ctx, opt)}' argument '{value}' is invalid. {detail}."
    return "error: " + " ".join(exc.format_message().split())


def _given_value(exc: click.BadParameter) -> str:
    # click says "'abc' is not a valid integer."; the value is the first quoted word.
    match = re.search(r"'(.*?)'", exc.message)
    return match.group(1) if match else ""


# --- help ----------------------------------------------------------------------------------------

class HelpFormatter(click.HelpFormatter):
    """click's help layout with the reference's colours: headings, option and
    command names (only when the context's colour is on)."""

    def __init__(self, *args: Any, color: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.color = color

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, paint("Usage: " if prefix is None else prefix, "heading", self.color))

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{paint(heading + ':', 'heading', self.color)}\n")

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        role = "option" if self._section == "Options" else "command"
        super().write_dl([(paint(first, role, self.color), second) for first, second in rows], col_max, col_spacing)

    _section = ""

    def section(self, name: str) -> Any:
        self._section = name
        return super().section(name)


def format_examples(formatter: click.HelpFormatter, examples: Sequence[tuple[str, str]]) -> None:
    if not examples:
        return
    color = getattr(formatter, "color", False)
    formatter.write_paragraph()
    formatter.write_heading("Examples")
    for command, description in examples:
        formatter.write(f"  {paint(command, 'command', color)}\n")
        formatter.write(f"    {paint(description, 'muted', color)}\n")


@contextmanager
def _errors_know(ctx: click.Context) -> Iterator[None]:
    """click's parser raises some errors without their context (a missing
    option value); the message needs it to find the option's metavar."""
    try:
        yield
    except click.UsageError as exc:
        if exc.ctx is None:
            exc.ctx = ctx
        raise


class OpenClawCommand(click.Command):
    """A command with ``examples=[(command line, what it does), ...]`` in its help,
    colour in its help, and commander's "too many arguments" error."""

    def __init__(self, *args: Any, examples: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = list(examples)

    def get_help(self, ctx: click.Context) -> str:
        formatter = HelpFormatter(width=ctx.terminal_width, max_width=ctx.max_content_width, color=ctx.color is True)
        self.format_help(ctx, formatter)
        return formatter.getvalue().rstrip("\n")

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        format_examples(formatter, self.examples)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Let click keep the extra words, then count them for the message.
        allow, ctx.allow_extra_args = ctx.allow_extra_args, True
        try:
            with _errors_know(ctx):
                rest = super().parse_args(ctx, args)
        finally:
            ctx.allow_extra_args = allow
        if ctx.args and not allow and not ctx.resilient_parsing:
            raise TooManyArguments(ctx, _argument_count(ctx) + len(ctx.args))
        return rest


class OpenClawGroup(click.Group):
    """A group whose subcommands (``@group.command()``) are :class:`OpenClawCommand` s."""

    command_class = OpenClawCommand

    def __init__(self, *args: Any, examples: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = list(examples)

    def get_help(self, ctx: click.Context) -> str:
        return OpenClawCommand.get_help(self, ctx)  # type: ignore[arg-type]

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        format_examples(formatter, self.examples)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with _errors_know(ctx):
            return super().parse_args(ctx, args)


OpenClawGroup.group_class = type  # @group.group() makes another OpenClawGroup
