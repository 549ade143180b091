"""Render ``docs/cli.md`` from the click commands, so the CLI reference is
exactly what ``--help`` prints::

    python -m openclaw_core.clidoc --write    # regenerate docs/cli.md
    python -m openclaw_core.clidoc --check    # exit 1 when docs/cli.md is out of date
    python -m openclaw_core.clidoc            # print the page

It walks :func:`openclaw_core.adapters.cli.build_cli` (core commands and the commands
of built-in plugins; third-party plugins are left out so the page is the same
on every machine) and renders each command's help as an 80-column terminal
shows it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click

#: the help of an 80-column terminal (click leaves 2 columns free)
TERMINAL_COLUMNS = 80
HELP_WIDTH = TERMINAL_COLUMNS - 2
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "cli.md"

HEADER = """\
# CLI reference

<!-- Generated from the click commands by `python -m openclaw_core.clidoc --write`: do not edit by hand. -->

Every `openclaw` command with its `--help`, generated from the code: after changing a
command, run `python -m openclaw_core.clidoc --write` to regenerate this page
(`tests/test_docs_build.py` fails while it differs from what `--help` prints). Commands
added by installed third-party plugins are not listed here; `openclaw --help` shows them.
Each command's behaviour is described in the pages linked from the [README](../README.md);
[getting started](getting-started.md) shows them at work.

Long work reports its progress on stderr, only when stderr is a terminal and neither
`--json` nor `-q` was given, so stdout is the same whether it is watched or piped:
`openclaw sessions` says `reading <store> (N MB)... done` for a store of 1 MB or more,
`sessions cleanup` prints each maintenance stage with what it selected as it completes
(`main: stale-prune: 63 entries`), and `store migrate` each step of a big store.
"""


def walk(command: click.Command, ctx: click.Context) -> Iterator[tuple[list[str], click.Command, click.Context]]:
    """Every command below (and including) ``command``, depth first, names sorted."""
    yield ctx.command_path.split(), command, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            yield from walk(sub, click.Context(sub, info_name=name, parent=ctx, **sub.context_settings))


def help_texts() -> list[tuple[str, str]]:
    """``("openclaw sessions cleanup", its --help)`` for every command."""
    from openclaw_core import app
    from openclaw_core.adapters.cli import build_cli

    hooks = app.new_hooks(disabled=["third-party"])  # the built-ins' commands only
    cli = build_cli(lambda: hooks)
    settings = {**cli.context_settings, "terminal_width": HELP_WIDTH, "max_content_width": TERMINAL_COLUMNS}
    root = click.Context(cli, info_name="openclaw", **settings)
    return [(" ".join(path), command.get_help(ctx)) for path, command, ctx in walk(cli, root)]


def anchor(title: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def render() -> str:
    texts = help_texts()
    lines = [HEADER]
    lines += [f"- [`{path}`](#{anchor(path)})" for path, _ in texts]
    for path, text in texts:
        lines += ["", f"## `{path}`", "", "```text", text.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openclaw_core.clidoc", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"write {DOC_PATH}")
    mode.add_argument("--check", action="store_true", help=f"exit 1 when {DOC_PATH} is out of date")
    args = parser.parse_args(argv)
    page = render()
    if args.write:
        DOC_PATH.write_text(page, encoding="utf-8")
        print(f"wrote {DOC_PATH}")
    elif args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != page:
            print(f"{DOC_PATH} is out of date: run python -m openclaw_core.clidoc --write", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
