"""Crash safety: a writer killed with SIGKILL at a random moment, 100 times,
never leaves a store that fails to parse, never loses an acknowledged mutation,
and the temp files a killed writer leaves are removed by the next writer before
it writes anything.

The writer is tests/crash_worker.py (4 threads of numbered mutations on a
1,000-entry ~1.7 MB store through the public API, so commits are grouped).
The kill moments come from a fixed list of seeds; each run continues the
numbering so acknowledgements of every run are checked against the same store.
The Gateway variant is in tests/test_crash_gateway.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fault_support import STORE_ENTRIES, base_key, make_state, strict_load, temp_files

WORKER = Path(__file__).resolve().parent / "crash_worker.py"
SEEDS = list(range(1000, 1100))  # 100 kills; fixed so a failure can be replayed
SEQ_STRIDE = 1_000_000            # run i numbers its mutations from i * SEQ_STRIDE


@dataclass
class Run:
    """What one killed worker printed, in the order it printed it."""

    ready: threading.Event = field(default_factory=threading.Event)
    lines: list[str] = field(default_factory=list)
    position: dict[str, int] = field(default_factory=dict)  # "go 12" / "ack 12" -> line number

    def feed(self, line: str) -> None:
        self.position.setdefault(line, len(self.lines))
        self.lines.append(line)
        if line == "ready":
            self.ready.set()

    def acked(self) -> list[int]:
        return [int(line[4:]) for line in self.lines if line.startswith("ack ")]

    def before(self, first: str, second: str) -> bool:
        """``first`` was printed and ``second`` was not printed before it."""
        return first in self.position and self.position[first] < self.position.get(second, len(self.lines) + 1)


def spawn(store: Path, first_seq: int) -> tuple[subprocess.Popen, Run, threading.Thread]:
    env = dict(os.environ, OPENCLAW_STATE_DIR=str(store.parents[3]))
    proc = subprocess.Popen([sys.executable, str(WORKER), str(store), str(first_seq)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run = Run()

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            run.feed(raw.decode().strip())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return proc, run, reader


def check_after_kill(store: Path, run: Run, first_seq: int) -> dict:
    """Everything acknowledged is in the store; returns the loaded entries."""
    entries = strict_load(store)
    missing_base = [base_key(i) for i in range(STORE_ENTRIES) if base_key(i) not in entries]
    assert not missing_base, f"base entries lost: {missing_base[:5]}"
    for n in run.acked():
        if n % 10 == 0:
            key = f"agent:main:crash:add:{n}"
            delete = f"go {n + 25}"
            if delete not in run.position:  # nobody asked to delete it: it must be there
                assert key in entries, f"acknowledged add {n} lost"
        elif n % 10 == 5:
            target = n - 25
            # The add was durable before the delete was submitted: the delete saw it.
            if target >= first_seq and run.before(f"ack {target}", f"go {n}"):
                assert f"agent:main:crash:add:{target}" not in entries, f"acknowledged delete {n} lost"
        else:
            seqs = entries[base_key(n % STORE_ENTRIES)].get("crashSeqs", [])
            assert n in seqs, f"acknowledged patch {n} lost"
    return entries


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_no_acknowledged_mutation(tmp_path):
    store = make_state(tmp_path)
    leftovers: set[str] = set()   # temps of killed writers not yet seen cleaned
    stats = {"kills": 0, "acked": 0, "kills_leaving_temps": 0, "temps_cleaned": 0, "killed_before_ready": 0}
    for index, seed in enumerate(SEEDS):
        rng = random.Random(seed)
        first_seq = index * SEQ_STRIDE
        proc, run, reader = spawn(store, first_seq)
        try:
            early = rng.random() < 0.1  # now and then die while starting (loading, first lock)
            if early:
                time.sleep(rng.uniform(0.0, 0.25))
            else:
                assert run.ready.wait(30), f"worker never became ready: {proc.stderr.read().decode()[-2000:]}"
                gone = {name for name in leftovers if not (store.parent / name).exists()}
                assert gone == leftovers, f"temps a killed writer left were not cleaned: {leftovers - gone}"
                stats["temps_cleaned"] += len(gone)
                leftovers.clear()
                time.sleep(rng.uniform(0.0, 0.2))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            reader.join(10)
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, f"worker ended on its own: {proc.returncode}"
        stats["kills"] += 1
        stats["killed_before_ready"] += not run.ready.is_set()
        stats["acked"] += len(run.acked())
        check_after_kill(store, run, first_seq)
        left = temp_files(store)
        stats["kills_leaving_temps"] += bool(left - leftovers)
        leftovers |= left
    # The next writer to open the store removes the last leftovers before it writes.
    proc, run, reader = spawn(store, len(SEEDS) * SEQ_STRIDE)
    try:
        assert run.ready.wait(30)
        assert not temp_files(store) & leftovers, "the last killed writer's temps survived the next open"
    finally:
        proc.kill()
        proc.wait(10)
        proc.stderr.close()
    stats["temps_cleaned"] += len(leftovers)
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    print(f"\ncrash loop: {stats}")
    # The loop must have exercised what it claims: many acknowledgements, and
    # kills that landed while a temp file was being written.
    assert stats["acked"] >= 1000
    assert stats["kills_leaving_temps"] >= 1
    assert stats["temps_cleaned"] >= stats["kills_leaving_temps"]
