"""The console script as a one-shot process (openclaw_core/base/quick_exit.py): no
interpreter teardown after a finished command, exit handlers and streams still
run and flush, the ordinary exit whenever a thread still runs; the collector off
while start-up loads, on (with start-up frozen) for the command's work."""

from __future__ import annotations

import subprocess
import sys

from conftest import OPENCLAW, now_ms, write_store

# Run the console entry point (openclaw_core.app:run) after arranging what shows
# which exit the process took: the interpreter's own shutdown calls what is
# registered with threading._register_atexit (then joins the threads, then runs
# the exit handlers), and a thread still sleeping when the command ends says
# when it finishes.
PROBE = """
import atexit, os, sys, threading, time
threading._register_atexit(lambda: os.write(1, b"teardown\\n"))
atexit.register(lambda: sys.stdout.write("atexit\\n"))
def late():
    time.sleep(0.3)
    sys.stdout.write("thread done\\n")
if {thread!r}:
    threading.Thread(target=late).start()
sys.argv = ["openclaw", *{argv!r}]
sys.stdout.write("buffered, not yet flushed\\n")
from openclaw_core.app import run
run()
"""


def probe(argv: list[str], *, thread: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, thread=thread)], capture_output=True,
                          text=True, timeout=60)


def test_a_finished_command_ends_without_teardown_but_with_exit_handlers_and_flushed_output(state_dir):
    proc = probe(["sessions", "--json"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "buffered, not yet flushed"
    assert '  "count": 0,' in lines  # the command's output
    assert lines[-1] == "atexit"
    assert "teardown" not in lines


def test_the_exit_code_is_the_commands(state_dir):
    proc = probe(["sessions", "--no-such-flag"])
    assert proc.returncode == 1 and "unknown option" in proc.stderr
    assert "teardown" not in proc.stdout
    assert probe(["sessions", "--limit", "x"]).returncode == 1


def test_a_running_thread_gets_the_ordinary_exit(state_dir):
    proc = probe(["sessions", "--json"], thread=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # the interpreter's shutdown, which waited for the thread
    assert lines[-3:] == ["teardown", "thread done", "atexit"]


def test_the_collector_is_off_during_start_up_and_on_with_start_up_frozen_for_the_command(state_dir):
    code = """
import gc, sys
from openclaw_core.base import quick_exit
quick_exit.begin()
assert not gc.isenabled()
from openclaw_core import app
assert not gc.isenabled()
app.hooks()  # the plugins are loaded: start-up is done
print(gc.isenabled(), gc.get_freeze_count() > 1000)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["True", "True"], proc.stderr


def test_the_in_process_cli_leaves_the_collector_alone(cli, state_dir):
    import gc

    frozen = gc.get_freeze_count()
    assert cli("sessions", "--json").exit_code == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_an_sqlite_store_keeps_no_side_files_after_the_real_script(state_dir, store_path):
    write_store(store_path, {f"agent:main:s{i}": {"sessionId": f"s{i}", "updatedAt": now_ms() - i}
                             for i in range(3)})
    (state_dir / "openclaw.json").write_text('{"session": {"backend": "sqlite"}}')
    migrated = subprocess.run([OPENCLAW, "store", "migrate", "--from", "file", "--to", "sqlite"],
                              capture_output=True, text=True, timeout=60)
    assert migrated.returncode == 0, migrated.stderr
    for args in (["sessions", "--json"], ["sessions", "cleanup", "--enforce", "--json"]):
        proc = subprocess.run([OPENCLAW, *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert '"count": 3' in proc.stdout or '"afterCount": 3' in proc.stdout
        side = sorted(p.name for p in store_path.parent.iterdir() if p.name.startswith("sessions.sqlite"))
        assert side == ["sessions.sqlite"], side  # the connection was closed: WAL checkpointed, -wal/-shm gone
