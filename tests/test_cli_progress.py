"""Progress on long work (openclaw_core/adapters/cli/progress.py): on stderr when it is a
real terminal (a pty, a real `openclaw` process), never with --json or -q,
never when piped, and stdout byte for byte the same either way."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

from conftest import DAY_MS, OPENCLAW, now_ms, write_store


def run_with_tty_stderr(*args: str, timeout: float = 60) -> tuple[int, bytes, str]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe: (status, stdout, stderr)."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([OPENCLAW, *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                                env={**os.environ, "TERM": "xterm-256color"}, close_fds=True)
    finally:
        os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            seen += data
        elif proc.poll() is not None:
            break
    out = proc.stdout.read()
    proc.wait(10)
    proc.stdout.close()
    os.close(master)
    return proc.returncode, out, seen.decode(errors="replace")


def run_piped(*args: str) -> tuple[int, bytes, bytes]:
    proc = subprocess.run([OPENCLAW, *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def big_store(path: Path, count: int = 4000) -> None:
    """A store (over the 1 MB threshold at 4000): a third stale (40 days), each with a transcript."""
    now = now_ms()
    entries = {f"agent:main:direct:u{i}": {"sessionId": f"s{i}", "updatedAt": now - (40 if i % 3 == 0 else 1) * DAY_MS,
                                           "label": "x" * 300} for i in range(count)}
    for i in range(count):
        (path.parent / f"s{i}.jsonl").write_text("{}\n")
    write_store(path, entries)


# --- reading a big store: `openclaw sessions` ------------------------------------------------------

def test_listing_a_big_store_says_so_on_a_terminal_and_stdout_is_the_piped_one(store_path):
    big_store(store_path)
    assert store_path.stat().st_size > 1 << 20
    code, out, err = run_with_tty_stderr("sessions", "--limit", "3")
    assert code == 0
    assert f"reading {store_path} (1." in err and " MB)... done (" in err
    piped_code, piped_out, piped_err = run_piped("sessions", "--limit", "3")
    assert piped_code == 0 and piped_err == b"" and out == piped_out
    assert b"reading" not in out


def test_no_reading_line_with_json_or_quiet_or_for_a_small_store(store_path):
    big_store(store_path)
    code, out, err = run_with_tty_stderr("sessions", "--json", "--limit", "2")
    assert code == 0 and err == "" and json.loads(out)["count"] == 2
    code, out, err = run_with_tty_stderr("-q", "sessions", "--limit", "2")
    assert code == 0 and err == "" and b"Sessions listed: 2 of 4000" in out
    write_store(store_path, {"agent:main:main": {"sessionId": "s-main", "updatedAt": now_ms()}})
    code, out, err = run_with_tty_stderr("sessions")
    assert code == 0 and err == "" and b"agent:main:main" in out


# --- each maintenance stage with its counts: `openclaw sessions cleanup` ---------------------------

def _cleanup_state(base: Path, count: int) -> Path:
    state = base / "state"
    path = state / "agents" / "main" / "sessions" / "sessions.json"
    path.parent.mkdir(parents=True)
    (state / "openclaw.json").write_text(json.dumps({"session": {"maintenance": {"maxEntries": 2000}}}))
    big_store(path, count)
    return path


def test_cleanup_enforce_on_a_terminal_shows_each_stage_with_its_counts(tmp_path, monkeypatch):
    path = _cleanup_state(tmp_path / "tty", 3000)
    twin = tmp_path / "piped"
    shutil.copytree(tmp_path / "tty", twin, symlinks=True)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "tty" / "state"))
    code, out, err = run_with_tty_stderr("sessions", "cleanup", "--enforce", "--store", str(path))
    assert code == 0, err
    lines = [line.split("\x1b[2K")[-1] for line in err.replace("\r\n", "\n").split("\n")]
    assert "main: stale-prune: 1000 entries" in lines
    assert "main: entry-cap: none" in lines  # 2000 left: the cap is not exceeded
    assert "main: archive-transcripts: 1000 transcripts" in lines
    assert "main: disk-budget: none" in lines
    assert b"stale-prune" not in out
    # the same cleanup piped: no progress, and the very same stdout
    twin_path = twin / "state" / "agents" / "main" / "sessions" / "sessions.json"
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(twin / "state"))
    piped_code, piped_out, piped_err = run_piped("sessions", "cleanup", "--enforce", "--store", str(twin_path))
    assert piped_code == 0 and piped_err == b""
    assert piped_out == out.replace(str(path).encode(), str(twin_path).encode())
    assert len(json.loads(twin_path.read_text())) == len(json.loads(path.read_text())) == 2000


def test_cleanup_with_json_or_quiet_shows_no_stage_lines(tmp_path, monkeypatch):
    path = _cleanup_state(tmp_path, 300)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(tmp_path / "state"))
    code, out, err = run_with_tty_stderr("sessions", "cleanup", "--dry-run", "--json", "--store", str(path))
    assert code == 0 and err == "" and json.loads(out)["pruned"] == 100
    code, out, err = run_with_tty_stderr("-q", "sessions", "cleanup", "--enforce", "--store", str(path))
    assert code == 0 and err == "" and b"Applied maintenance" in out


def test_a_progress_callback_that_raises_never_fails_the_commit(state_dir, store_path):
    from oc import run_cleanup
    from oc import load_config

    now = now_ms()
    write_store(store_path, {"agent:main:main": {"sessionId": "s-main", "updatedAt": now},
                             "agent:main:direct:old": {"sessionId": "s-old", "updatedAt": now - 40 * DAY_MS}})
    heard: list[str] = []

    def broken_terminal(event) -> None:
        heard.append(event.stage)
        if event.stage not in ("load", "done"):  # what the writer thread calls
            raise OSError("the terminal went away")

    summary = run_cleanup(load_config(), store=str(store_path), enforce=True, progress=broken_terminal)
    assert summary["pruned"] == 1 and list(json.loads(store_path.read_text())) == ["agent:main:main"]
    assert heard.count("stale-prune") == 2  # as it started, and as it completed with its counts
