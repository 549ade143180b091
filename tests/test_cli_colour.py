"""Colour on a terminal (a real pty and a real `openclaw` process), honouring
NO_COLOR, FORCE_COLOR and --no-color; nothing when piped."""

from __future__ import annotations

import os
import select
import subprocess

from conftest import OPENCLAW, now_ms, write_store

RED = "\x1b[31m"
ESC = "\x1b["


def run_in_pty(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on one pseudo-terminal; what it wrote."""
    full_env = {**os.environ, "TERM": "xterm-256color", **(env or {})}
    for key in [k for k, v in full_env.items() if v is None]:
        del full_env[key]
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([OPENCLAW, *args], stdin=slave, stdout=slave, stderr=slave, env=full_env,
                                close_fds=True)
    finally:
        os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                proc.kill()
                raise AssertionError(f"no output within {timeout}s: {b''.join(chunks)!r}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    code = proc.wait(timeout)
    return code, b"".join(chunks).decode().replace("\r\n", "\n")


def _env_without(*keys: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in keys}


def test_errors_are_red_on_a_terminal(state_dir):
    code, text = run_in_pty("sessions", "cleanup", "--bogus")
    assert code == 1
    assert text == f"{RED}error: unknown option '--bogus'\x1b[0m\n"


def test_no_color_and_the_flag_turn_it_off(state_dir):
    code, text = run_in_pty("sessions", "cleanup", "--bogus", env={"NO_COLOR": "1"})
    assert (code, text) == (1, "error: unknown option '--bogus'\n")
    code, text = run_in_pty("--no-color", "--help")
    assert code == 0 and ESC not in text and text.startswith("Usage: openclaw [OPTIONS]")


def test_force_color_colours_a_pipe_and_wins_over_no_color(run_openclaw, state_dir):
    piped = run_openclaw("sessions", "cleanup", "--bogus")
    assert piped.stderr == "error: unknown option '--bogus'\n"
    forced = run_openclaw("sessions", "cleanup", "--bogus", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert forced.stderr == f"{RED}error: unknown option '--bogus'\x1b[0m\n"
    off = run_openclaw("sessions", "cleanup", "--bogus", env={"FORCE_COLOR": "0"})
    assert ESC not in off.stderr


def test_help_headings_and_examples_are_coloured_on_a_terminal(state_dir):
    code, text = run_in_pty("sessions", "--help")
    assert code == 0
    assert "\x1b[1mOptions:" in text and "\x1b[1mExamples:" in text
    assert "\x1b[93m--json\x1b[0m" in text
    plain = subprocess.run([OPENCLAW, "sessions", "--help"], capture_output=True, text=True,
                           env=_env_without("FORCE_COLOR", "NO_COLOR"), check=True).stdout
    assert ESC not in plain
    # Colour changes no word of the help: strip it and it is the piped page.
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", text) == plain


def test_the_listing_header_is_coloured_on_a_terminal_and_rows_stay_plain(store_path):
    write_store(store_path, {"agent:main:main": {"sessionId": "s1", "updatedAt": now_ms()}})
    code, text = run_in_pty("sessions")
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == f"\x1b[93mSession store: {store_path}\x1b[0m"
    assert lines[1] == "\x1b[93mSessions listed: 1\x1b[0m"
    assert lines[2].startswith("\x1b[91m\x1b[1mKind ")
    assert lines[3].startswith("direct agent:main:main") and ESC not in lines[3]
    piped = subprocess.run([OPENCLAW, "sessions"], capture_output=True, text=True, check=True,
                           env=_env_without("FORCE_COLOR", "NO_COLOR")).stdout
    assert ESC not in piped and piped.splitlines()[0] == f"Session store: {store_path}"
    # JSON is never coloured, even forced
    forced = subprocess.run([OPENCLAW, "sessions", "--json"], capture_output=True, text=True, check=True,
                            env={**os.environ, "FORCE_COLOR": "1"}).stdout
    assert ESC not in forced
