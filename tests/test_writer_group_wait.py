"""Group commit with callers that come straight back (a Gateway's clients): the
writer holds a commit for at most GROUP_WAIT so they share one commit instead
of alternating between two half-size ones (without it: 2 commits per round)."""

from __future__ import annotations

import threading

from conftest import write_store


def test_returning_callers_share_commits(store_path):
    from openclaw_core.engine.store import writer as writer_module
    from oc import get_writer

    write_store(store_path, {f"k{i}": {"sessionId": f"s{i}", "updatedAt": 1, "pad": "x" * 1500} for i in range(2000)})
    writer = get_writer(store_path)
    callers, rounds = 8, 20

    def caller(n: int) -> None:
        for i in range(rounds):
            def mutate(store, n=n, i=i):
                store[f"k{n}"]["label"] = f"{n}-{i}"
            writer.run(mutate, maintenance=None)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.mutations == callers * rounds
    # Alternating half groups would need ~2 * rounds commits; shared ones ~rounds.
    assert writer.commits <= 1.5 * rounds, (writer.commits, writer_module.GROUP_WAIT)
    store = writer.snapshot()
    assert all(store[f"k{n}"]["label"] == f"{n}-{rounds - 1}" for n in range(callers))


def test_a_lone_caller_never_waits(store_path, monkeypatch):
    import time

    from openclaw_core.engine.store import writer as writer_module
    from oc import get_writer

    monkeypatch.setattr(writer_module, "GROUP_WAIT", 0.5)  # a wait would show in the timing below
    write_store(store_path, {"k": {"sessionId": "s", "updatedAt": 1}})
    writer = get_writer(store_path)
    started = time.monotonic()
    for i in range(5):
        writer.run(lambda store, i=i: store["k"].__setitem__("label", str(i)), maintenance=None)
    assert time.monotonic() - started < 1.5
    assert writer.commits == 5
