"""The cached ``openclaw --help`` (openclaw_core/adapters/helpcache.py): the same bytes as the
rendered help, and stale the moment anything that could change them changes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import OPENCLAW, THIRD_PARTY
from plugin_support import make_distribution

from openclaw_core.adapters.helpcache import NO_CACHE_ENV

FORMS = [[], ["-h"], ["--help"]]

HELLO_PLUGIN = """
import click
from openclaw_core import hookimpl

@hookimpl
def openclaw_register_commands(cli):
    @cli.command("hello-from-cache-test")
    def hello():
        "Says hello (a throw-away plugin)."
        click.echo("hello")
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "OPENCLAW_STATE_DIR": str(tmp_path / "state"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "OPENCLAW_DISABLE_PLUGINS": THIRD_PARTY,
           "PYTHONPATH": str(tmp_path / "site")}
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], *, importtime: bool = False) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-X", "importtime", OPENCLAW, *args] if importtime else [OPENCLAW, *args]
    proc = subprocess.run(command, capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc


def _rendered(args: list[str], env: dict[str, str]) -> bytes:
    """The help as the normal path prints it, cache off."""
    proc = _run(args, {**env, NO_CACHE_ENV: "1"})
    return proc.stdout


def _imported(proc: subprocess.CompletedProcess[bytes]) -> set[str]:
    return {line.split("|")[-1].strip() for line in proc.stderr.decode().splitlines() if line.startswith("import time:")}


def _cached(args: list[str], env: dict[str, str]) -> bytes:
    """The help from the cache: asserted to have come from it (click never imported)."""
    proc = _run(args, env, importtime=True)
    loaded = _imported(proc)
    assert "click" not in loaded and "pluggy" not in loaded, "the help was rendered, not read from the cache"
    return proc.stdout


@pytest.mark.parametrize("args", FORMS, ids=["bare", "-h", "--help"])
@pytest.mark.parametrize("colour", ["plain", "forced"])
def test_cached_help_is_byte_for_byte_the_rendered_help(tmp_path, args, colour):
    env = _env(tmp_path, **({"FORCE_COLOR": "1"} if colour == "forced" else {}))
    expected = _rendered(args, env)
    assert b"sessions" in expected
    assert not (tmp_path / "cache").exists(), f"{NO_CACHE_ENV}=1 wrote a cache"
    first = _run(args, env, importtime=True)  # renders and writes the entry
    assert "click" in _imported(first)
    assert first.stdout == expected
    assert _cached(args, env) == expected
    assert list((tmp_path / "cache" / "openclaw-core").iterdir()), "the entry lives under XDG_CACHE_HOME"
    assert not (tmp_path / "state").exists(), "nothing of the cache in the state dir"


def test_cache_dir_defaults_to_home_cache(tmp_path):
    env = _env(tmp_path)
    del env["XDG_CACHE_HOME"]
    _run(["--help"], env)
    assert (tmp_path / "home" / ".cache" / "openclaw-core" / "help-help.txt").is_file()
    assert _cached(["--help"], env) == _rendered(["--help"], env)


def test_installing_and_uninstalling_a_plugin_command_is_noticed(tmp_path):
    env = _env(tmp_path, OPENCLAW_DISABLE_PLUGINS="")
    site = tmp_path / "site"
    site.mkdir()
    _run(["--help"], env)
    before = _cached(["--help"], env)
    assert b"hello-from-cache-test" not in before

    make_distribution(site, "oc_cache_hello", HELLO_PLUGIN, {"hello": "oc_cache_hello"})
    installed = _run(["--help"], env).stdout
    assert b"hello-from-cache-test" in installed
    assert installed == _rendered(["--help"], env)
    assert _cached(["--help"], env) == installed

    shutil.rmtree(site / "oc_cache_hello-0.1.dist-info")
    uninstalled = _run(["--help"], env).stdout
    assert b"hello-from-cache-test" not in uninstalled
    assert uninstalled == before


def test_an_edited_entry_point_list_is_noticed(tmp_path):
    env = _env(tmp_path, OPENCLAW_DISABLE_PLUGINS="")
    site = tmp_path / "site"
    make_distribution(site, "oc_cache_hello", HELLO_PLUGIN, {"hello": "oc_cache_hello"})
    assert b"hello-from-cache-test" in _run(["--help"], env).stdout
    eps = site / "oc_cache_hello-0.1.dist-info" / "entry_points.txt"
    eps.write_text("[console_scripts]\n")  # the same dist-info dir, its openclaw entry point gone
    assert b"hello-from-cache-test" not in _run(["--help"], env).stdout


def test_terminal_width_is_part_of_the_key(tmp_path):
    env = _env(tmp_path)
    _run(["--help"], env)
    narrow = {**env, "COLUMNS": "52"}
    assert _run(["--help"], narrow).stdout == _rendered(["--help"], narrow) != _rendered(["--help"], env)
    assert _cached(["--help"], narrow) == _rendered(["--help"], narrow)
    # One entry per form: the other width renders (and is cached) again.
    assert _run(["--help"], env).stdout == _rendered(["--help"], env)
    assert _cached(["--help"], env) == _rendered(["--help"], env)


def test_a_run_that_warns_is_not_cached(tmp_path):
    # A plugin switch naming nothing installed warns on stderr: a cached answer would drop the warning.
    env = _env(tmp_path, OPENCLAW_DISABLE_PLUGINS="no-such-plugin")
    for _ in range(2):
        proc = _run(["--help"], env, importtime=True)
        assert b"no-such-plugin" in proc.stderr and "click" in _imported(proc)
    assert not (tmp_path / "cache" / "openclaw-core" / "help-help.txt").exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "bad-module-line", "binary"])
def test_a_corrupt_cache_file_is_ignored_and_replaced(tmp_path, damage):
    env = _env(tmp_path)
    expected = _rendered(["--help"], env)
    _run(["--help"], env)
    entry = tmp_path / "cache" / "openclaw-core" / "help-help.txt"
    data = entry.read_bytes()
    damaged = {
        "garbage": b"not a cache\n" + data,
        "truncated": data[: len(data) // 3],
        "empty": b"",
        "bad-module-line": data.replace(b"\n\x00\n", b"\n\x00\nnot-a-number x\n", 1),
        "binary": b"\xff\xfe" + data,
    }[damage]
    entry.write_bytes(damaged)
    proc = _run(["--help"], env, importtime=True)
    assert proc.stdout == expected
    assert "click" in _imported(proc), "a damaged entry was used"
    assert not [line for line in proc.stderr.decode().splitlines() if not line.startswith("import time:")]
    assert entry.read_bytes() != damaged, "the normal path writes a good entry again"
    assert _cached(["--help"], env) == expected


def test_an_unwritable_cache_dir_costs_nothing_but_time(tmp_path):
    env = _env(tmp_path)
    (tmp_path / "cache").write_text("a file where the cache dir would go")
    assert _run(["--help"], env).stdout == _rendered(["--help"], env)
    assert _run(["--help"], env).stderr == b""


def test_other_commands_never_read_or_write_the_cache(tmp_path):
    env = _env(tmp_path)
    assert _run(["sessions", "--json"], env).stdout.strip() != b""
    assert not (tmp_path / "cache").exists()


def test_a_terminal_and_a_pipe_get_their_own_rendering(tmp_path):
    from test_cli_colour import run_in_pty

    env = _env(tmp_path, TERM="xterm-256color")
    piped = _run(["--help"], env).stdout  # cached for a pipe: plain
    assert b"\x1b[" not in piped
    code, rendered = run_in_pty("--help", env={**env, NO_CACHE_ENV: "1"})
    assert code == 0 and "\x1b[" in rendered
    for _ in range(2):  # the first renders for the terminal, the second reads that entry
        code, text = run_in_pty("--help", env=env)
        assert code == 0 and text == rendered


def test_shell_completion_of_a_bare_openclaw_is_not_a_help(tmp_path):
    env = _env(tmp_path, _OPENCLAW_COMPLETE="bash_complete", COMP_WORDS="openclaw sess", COMP_CWORD="1")
    assert _run([], env).stdout.strip() == b"plain,sessions"
    assert not (tmp_path / "cache").exists()


def test_an_edited_plugin_module_is_noticed(tmp_path):
    # An editable install's source changes without any dist-info changing.
    env = _env(tmp_path, OPENCLAW_DISABLE_PLUGINS="")
    site = tmp_path / "site"
    make_distribution(site, "oc_cache_hello", HELLO_PLUGIN, {"hello": "oc_cache_hello"})
    _run(["--help"], env)
    assert b"hello-from-cache-test" in _cached(["--help"], env)
    module = site / "oc_cache_hello.py"
    module.write_text(module.read_text().replace("hello-from-cache-test", "renamed-by-an-edit"))
    edited = _run(["--help"], env).stdout
    assert b"renamed-by-an-edit" in edited and b"hello-from-cache-test" not in edited
