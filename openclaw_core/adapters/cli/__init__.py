"""The ``openclaw`` command line, built by :func:`build_cli`.

Core commands are named here and imported only when run (or when ``--help``
lists them); plugins add theirs through ``openclaw_register_commands`` the
first time a command outside the core is looked up or listed. So
``openclaw --help`` loads the plugins' light modules and nothing heavy, and
``openclaw sessions`` never scans entry points at all.
"""

from __future__ import annotations

import codecs
import copy
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from openclaw_core import __version__
from openclaw_core.adapters.cli import output
from openclaw_core.adapters.cli.usage import USAGE_EXIT, OpenClawGroup, usage_message
from openclaw_core.base.cancel import EXIT_CANCELLED, INTERRUPTED_MESSAGE
from openclaw_core.base.errors import OpenClawError

if TYPE_CHECKING:
    from openclaw_core.contract.hooks import Hooks

# name -> "module:attribute" of the click command, imported on demand
CORE_COMMANDS = {
    "agents": "openclaw_core.adapters.cli.agents:agents",
    "config": "openclaw_core.adapters.cli.config_cmd:config",
    "gateway": "openclaw_core.adapters.cli.gateway:gateway",
    "plugins": "openclaw_core.adapters.cli.plugins_cmd:plugins",
    "sessions": "openclaw_core.adapters.cli.sessions:sessions",
    "store": "openclaw_core.adapters.cli.store_cmd:store",
}


class LazyGroup(OpenClawGroup):
    """A group whose core commands are imported when used.

    Plugin commands come from ``openclaw_register_commands`` on the root
    group, asked for only when a name is not a core command or when the
    commands are listed (``--help``); sub-groups defer to the root for that,
    so a plugin can extend ``sessions`` as well as add a top-level command.
    """

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None,
                 hooks_factory: Callable[[], Hooks] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.hooks_factory = hooks_factory
        self._plugins_loaded = False

    def load_plugin_commands(self, ctx: click.Context | None) -> None:
        root = ctx.find_root().command if ctx is not None else self
        if root is not self and isinstance(root, LazyGroup):
            root.load_plugin_commands(None)
            return
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        if self.hooks_factory is None:
            return  # a CLI without plugins (built without hooks)
        hooks = self.hooks_factory()
        # Core groups must exist before plugins extend them.
        for name in list(self.lazy):
            self._import(name)
        hooks.register_commands(self)

    def _import(self, name: str) -> click.Command | None:
        target = self.lazy.pop(name, None)
        if target is not None:
            module, attr = target.split(":")
            self.add_command(_private_copy(getattr(importlib.import_module(module), attr)), name)
        return self.commands.get(name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load_plugin_commands(ctx)
        for name in list(self.lazy):
            self._import(name)
        return sorted(self.commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return self._import(cmd_name)
        if cmd_name not in self.commands:
            self.load_plugin_commands(ctx)
        return self.commands.get(cmd_name)


def _private_copy(command: click.Command) -> click.Command:
    """A copy of a module-level group whose command table belongs to this CLI
    only, so a plugin extending ``sessions`` in one ``build_cli()`` does not
    leave its command in the next."""
    if not isinstance(command, click.Group):
        return command
    clone = copy.copy(command)
    clone.commands = {name: _private_copy(sub) for name, sub in command.commands.items()}
    if isinstance(command, LazyGroup):
        clone.lazy = dict(command.lazy)
        clone._plugins_loaded = False
    return clone


ROOT_EXAMPLES = [
    ("openclaw sessions --all-agents", "Every configured agent's sessions, newest first."),
    ("openclaw sessions cleanup --dry-run", "What maintenance would remove, without writing."),
    ("openclaw agents", "The configured agents."),
    ("openclaw gateway run", "Serve the Gateway on loopback (port 18789)."),
    ("openclaw -v sessions cleanup --enforce", "Maintain now, saying which transport did it."),
]


def _no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # Eager, so `openclaw --no-color --help` is already plain.
    if value:
        ctx.color = False
        output.update(no_color=True)


def build_cli(hooks: Callable[[], Hooks] | None = None) -> click.Group:
    """A fresh root command on the hooks ``hooks()`` returns (asked when a
    command needs them; tests build one per case; nothing is global)."""

    @click.group(cls=LazyGroup, lazy=CORE_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]},
                 examples=ROOT_EXAMPLES, hooks_factory=hooks)
    @click.version_option(__version__, "-V", "--version", prog_name="openclaw-core",
                          message="%(prog)s %(version)s")
    @click.option("-q", "--quiet", is_flag=True, help="No informational lines on stderr (errors still show).")
    @click.option("-v", "--verbose", is_flag=True, help="More detail on stderr (e.g. which transport answered).")
    @click.option("--no-color", is_flag=True, is_eager=True, expose_value=False, callback=_no_color,
                  help="No colour (also: NO_COLOR=1; FORCE_COLOR=1 forces it).")
    def cli(quiet: bool, verbose: bool) -> None:
        """Session stores of OpenClaw agents, and the Gateway that writes them."""
        output.update(quiet=quiet, verbose=verbose)

    return cli


def _lone_surrogates_as_node_writes(exc: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for ch in exc.object[exc.start:exc.end]:
        code = ord(ch)
        # U+DC80-U+DCFF: bytes of argv/the environment that were not UTF-8 (surrogateescape).
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else "\ufffd".encode()
    return bytes(out), exc.end


def _print_lone_surrogates_as_node() -> None:
    # A JS string from the config may hold a lone surrogate; Node prints it as U+FFFD
    # where Python's UTF-8 stdout would die with a traceback.
    codecs.register_error("openclaw-node-utf8", _lone_surrogates_as_node_writes)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and getattr(stream, "encoding", "").lower().replace("-", "") == "utf8":
            stream.reconfigure(errors="openclaw-node-utf8")


def main(argv: Sequence[str] | None = None, *, hooks: Callable[[], Hooks] | None = None) -> int:
    """The command line on ``hooks`` (the composition root's: :func:`openclaw_core.app.run_cli`):
    one line on stderr and an exit code for every error."""
    _print_lone_surrogates_as_node()
    cli = build_cli(hooks)
    output.configure()
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="openclaw", standalone_mode=False,
                        color=output.color_enabled(sys.stdout))
        if isinstance(code, int) and not isinstance(code, bool):
            return code  # click >= 8.2 returns an Exit's code here instead of raising it
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:
            # A bare group (or bare `openclaw`) asks for its help: on stdout, exit 0.
            click.echo(exc.ctx.get_help(), color=exc.ctx.color)
            return 0
        # One commander-style line (not click's Usage/Try/Error block), exit 1 like the reference.
        output.error(usage_message(exc))
        return USAGE_EXIT
    except click.ClickException as exc:
        output.error(f"Error: {exc.format_message()}")
        return exc.exit_code
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            # Ctrl-C outside a write's own cancel handling (start-up, parsing, a read):
            # the one code for a cancel, and no claim about what a command had done.
            output.error(INTERRUPTED_MESSAGE)
            return EXIT_CANCELLED
        click.echo("Cancelled.", err=True)  # a prompt's EOF
        return 1
    except OpenClawError as exc:
        output.error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        output.error(INTERRUPTED_MESSAGE)
        return EXIT_CANCELLED
    except BrokenPipeError:
        return 141
    except UnicodeEncodeError as exc:
        # A name no file system path can hold (a lone surrogate that reached a file call).
        click.echo(f"Error: cannot encode {ascii(exc.object[exc.start:exc.end])} in {ascii(exc.object[:200])}: "
                   f"{exc.reason}", err=True)
        return 1
    except OSError as exc:
        # A file the command needed could not be made, opened or written
        # (permissions, a name too long, a full disk): which one, in one line.
        where = f": {exc.filename}" if exc.filename else ""
        output.error(f"Error: {exc.strerror or exc}{where}")
        return 1
    finally:
        _flush_writers()
    return 0


def _flush_writers() -> None:
    # Writers only exist if a command wrote; close them so queued work finishes.
    if "openclaw_core.engine.store.writer" in sys.modules:
        sys.modules["openclaw_core.engine.store.writer"].close_writers()



