"""The console entry point, with a cached ``openclaw --help``.

Python with click, pluggy and the entry-point scan cannot start as fast as
the reference prints its help, so ``openclaw``, ``openclaw -h`` and
``openclaw --help`` print the text the normal path rendered last time, when
nothing that could change it has changed. This module imports only ``os`` and
``sys`` before that answer (never click or pluggy).

The key (all of it must match):

- the argv form, openclaw-core's version, the interpreter (prefix, version), ``sys.path``;
- every ``*.dist-info``/``*.egg-info`` on ``sys.path`` with the mtime of its
  directory and the mtime and size of its ``entry_points.txt``: an install or
  uninstall of any plugin changes it;
- the mtime and size of every module file the normal path had loaded when it
  rendered the help (openclaw-core's cli modules, click, each plugin's module);
- the environment variables that can change the text (``COLUMNS``, ``LINES``,
  ``TERM``, ``NO_COLOR``, ``FORCE_COLOR``, ``PYTHONIOENCODING`` and every
  ``OPENCLAW_*``), the terminal's width, stdout's encoding and whether it is a
  terminal (colour).

The normal path writes the entry (atomically) after it printed the help, and
only if nothing went to stderr (a plugin's warning is never skipped).
``OPENCLAW_NO_HELP_CACHE=1`` turns the cache off: neither read nor written.
Any error in the cache falls back to the normal path without a word.
"""

from __future__ import annotations

import io  # loaded at start-up anyway (sys.stdout is one of its streams)
import os
import sys
from collections.abc import Callable, Sequence

NO_CACHE_ENV = "OPENCLAW_NO_HELP_CACHE"
HELP_FORMS = {(): "bare", ("-h",): "h", ("--help",): "help"}
MAGIC = "openclaw-help-cache 1\n"
SEP = "\n\x00\n"
_ENV_KEYS = ("COLUMNS", "LINES", "TERM", "NO_COLOR", "FORCE_COLOR", "PYTHONIOENCODING")


def cache_dir() -> str:
    """``$XDG_CACHE_HOME/openclaw-core`` (absolute only, as the spec says), else ``~/.cache/openclaw-core``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "openclaw-core")


def _terminal_columns() -> str:
    # What click's formatter asks shutil for (it reads sys.__stdout__'s terminal).
    try:
        return str(os.get_terminal_size(sys.__stdout__.fileno()).columns)  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return "-"


def _installed() -> list[str]:
    """One line per sys.path directory and per distribution in it (cheap: one scandir each)."""
    lines = []
    for entry in sys.path:
        # Not the directory's own mtime: writing __pycache__ into a path entry changes it.
        try:
            with os.scandir(entry or ".") as it:
                names = sorted(e.name for e in it if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            lines.append(f"P - {entry}")
            continue
        lines.append(f"P + {entry}")
        for name in names:
            path = os.path.join(entry or ".", name)
            try:
                dst = os.stat(path).st_mtime_ns
            except OSError:
                dst = "-"
            try:
                est = os.stat(os.path.join(path, "entry_points.txt"))
                eps = f"{est.st_mtime_ns}:{est.st_size}"
            except OSError:
                eps = "-"
            lines.append(f"D {dst} {eps} {name}")
    return lines


def static_key(form: str) -> str:
    from openclaw_core import __version__

    env = os.environ
    stdout = sys.stdout
    try:
        tty = stdout.isatty()
    except (AttributeError, ValueError):
        tty = False
    lines = [f"form {form}", f"version {__version__}", f"python {sys.prefix} {sys.version}",
             f"stdout tty={tty} encoding={getattr(stdout, 'encoding', None)} columns={_terminal_columns()}"]
    lines += [f"env {k}={env[k]!r}" for k in sorted(env) if k in _ENV_KEYS or k.startswith("OPENCLAW_")]
    lines += _installed()
    return "\n".join(lines)


def _modules_unchanged(listing: str) -> bool:
    for line in listing.split("\n"):
        if not line:
            continue
        mtime, size, path = line.split(" ", 2)
        st = os.stat(path)
        if str(st.st_mtime_ns) != mtime or str(st.st_size) != size:
            return False
    return True


def cached_help(form: str) -> str | None:
    """The text to print, or None (no entry, stale, unreadable, corrupt)."""
    try:
        with open(os.path.join(cache_dir(), f"help-{form}.txt"), encoding="utf-8") as f:
            data = f.read()
        if not data.startswith(MAGIC):
            return None
        key, modules, text = data[len(MAGIC):].split(SEP, 2)
        if key != static_key(form) or not _modules_unchanged(modules):
            return None
        return text
    except Exception:  # noqa: BLE001 - any trouble: the normal path answers
        return None


def _loaded_module_files() -> str:
    lines = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        if "\n" not in path:
            lines.append(f"{st.st_mtime_ns} {st.st_size} {path}")
    return "\n".join(sorted(set(lines)))


def store_help(form: str, key: str, text: str) -> None:
    """Write the entry atomically (a temp file renamed over it); errors are ignored."""
    try:
        folder = cache_dir()
        os.makedirs(folder, exist_ok=True)
        final = os.path.join(folder, f"help-{form}.txt")
        tmp = f"{final}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(MAGIC + key + SEP + _loaded_module_files() + SEP + text)
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except Exception:  # noqa: BLE001 - a cache we cannot write only costs time
        pass


def main(argv: Sequence[str] | None, run_cli: Callable[[Sequence[str] | None], int]) -> int:
    """The cached help, else ``run_cli(argv)`` (the composition root's CLI; see
    :func:`openclaw_core.app.main`, the console entry point)."""
    args = tuple(sys.argv[1:] if argv is None else argv)
    form = HELP_FORMS.get(args)
    # Shell completion runs a bare `openclaw` with _OPENCLAW_COMPLETE set: not a help.
    use_cache = form is not None and not os.environ.get(NO_CACHE_ENV) and "_OPENCLAW_COMPLETE" not in os.environ
    if use_cache:
        text = cached_help(form)  # type: ignore[arg-type]
        if text is not None:
            try:
                sys.stdout.write(text)
                sys.stdout.flush()
            except BrokenPipeError:
                return 141
            return 0
    if not use_cache:
        return run_cli(argv)
    return _render_and_store(form, argv, run_cli)  # type: ignore[arg-type]


def _render_and_store(form: str, argv: Sequence[str] | None, cli_main: Callable[..., int]) -> int:
    # The key is taken before the run: a plugin installed meanwhile makes the entry stale, never wrong.
    key = static_key(form)
    out, err = _Tee(sys.stdout), _Tee(sys.stderr)
    sys.stdout, sys.stderr = out, err  # type: ignore[assignment]
    try:
        code = cli_main(argv)
    finally:
        sys.stdout, sys.stderr = out.real, err.real
    if code == 0 and not err.getvalue():
        store_help(form, key, out.getvalue())
    return code


class _Tee(io.StringIO):
    """A text stream that writes through to ``real`` and keeps a copy; it
    answers ``isatty``/``encoding``/``fileno`` as ``real`` does, so click and
    the colour rule see the real terminal."""

    def __init__(self, real: io.TextIOBase) -> None:
        super().__init__()
        self.real = real

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.real.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.real.errors

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    def write(self, s: str) -> int:
        self.real.write(s)
        return super().write(s)

    def flush(self) -> None:
        self.real.flush()
