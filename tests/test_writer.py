"""The single writer: FIFO, group commit, no lost update, outside changes seen."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from conftest import now_ms, write_store

from openclaw_core import hookimpl, update_session_store, update_session_store_entry
from oc import get_writer


def test_eight_threads_times_two_hundred_entry_updates_lose_nothing(store_path):
    write_store(store_path, {"agent:main:counter": {"sessionId": "c", "updatedAt": now_ms()}})
    threads, per_thread = 8, 200
    errors = []

    def worker(t: int) -> None:
        field = f"n{t}"
        try:
            for _ in range(per_thread):
                update_session_store_entry(store_path, "agent:main:counter",
                                           lambda e, f=field: {f: e.get(f, 0) + 1})
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    entry = json.loads(store_path.read_text())["agent:main:counter"]
    assert [entry[f"n{t}"] for t in range(threads)] == [per_thread] * threads
    writer = get_writer(store_path)
    assert writer.mutations == threads * per_thread
    # group commit: fewer durable writes than acknowledged mutations
    assert writer.commits < writer.mutations


def test_mutations_queued_behind_a_running_one_share_one_write(store_path):
    write_store(store_path, {})
    writer = get_writer(store_path)
    release = threading.Event()
    started = threading.Event()

    def slow(store):
        started.set()
        release.wait(10)
        store["agent:main:first"] = {"sessionId": "first"}

    first = writer.submit(slow)
    started.wait(5)
    commits_before = writer.commits
    rest = [writer.submit(lambda s, i=i: s.__setitem__(f"agent:main:k{i}", {"sessionId": f"k{i}"}))
            for i in range(50)]
    release.set()
    first.result(10)
    for future in rest:
        future.result(10)
    assert writer.commits - commits_before == 2  # the slow one, then the 50 together
    assert len(json.loads(store_path.read_text())) == 51


def test_fifo_order_and_a_failing_mutation_fails_alone_inside_a_group(store_path):
    write_store(store_path, {})
    writer = get_writer(store_path)
    release = threading.Event()
    order = []
    blocker = writer.submit(lambda s: release.wait(10))

    def append(i):
        def fn(store):
            order.append(i)
            if i == 3:
                store["agent:main:bad"] = {"sessionId": "bad"}
                raise ValueError("three")
            store[f"agent:main:k{i}"] = {"sessionId": str(i)}
        return fn

    futures = [writer.submit(append(i)) for i in range(6)]
    release.set()
    blocker.result(10)
    outcomes = []
    for future in futures:
        try:
            future.result(10)
            outcomes.append("ok")
        except ValueError:
            outcomes.append("failed")
    assert order == list(range(6))
    assert outcomes == ["ok", "ok", "ok", "failed", "ok", "ok"]
    assert list(json.loads(store_path.read_text())) == [f"agent:main:k{i}" for i in (0, 1, 2, 4, 5)]


def test_a_process_that_rewrites_the_file_between_two_mutations_keeps_its_change(store_path):
    write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    update_session_store_entry(store_path, "agent:main:a", lambda e: {"label": "first"})
    script = (
        "import json,sys; p=sys.argv[1]; d=json.load(open(p));"
        "d['agent:main:outside']={'sessionId':'o','updatedAt':%d};"
        "d['agent:main:a']['outsideEdit']=True;"
        "open(p,'w').write(json.dumps(d))" % now_ms()
    )
    subprocess.run([sys.executable, "-c", script, str(store_path)], check=True)
    update_session_store_entry(store_path, "agent:main:a", lambda e: {"label": "second"})
    saved = json.loads(store_path.read_text())
    assert saved["agent:main:outside"]["sessionId"] == "o"
    assert saved["agent:main:a"]["outsideEdit"] is True
    assert saved["agent:main:a"]["label"] == "second"


def test_watchdog_drops_the_cache_when_the_file_changes_outside(store_path):
    write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    writer = get_writer(store_path)
    assert writer._watch
    update_session_store(store_path, lambda s: s["agent:main:a"].update(n=1))
    assert writer._state is not None
    time.sleep(0.3)  # our own write's events must not drop the cache...
    assert writer._state is not None
    store_path.write_text(json.dumps({"agent:main:b": {"sessionId": "b"}}))  # ...an editor's must
    deadline = time.monotonic() + 5
    while writer._state is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writer._state is None
    assert list(writer.snapshot()) == ["agent:main:b"]


class _Recorder:
    def __init__(self) -> None:
        self.seen = []
        self.committed = []
        self.refuse = False

    @hookimpl(wrapper=True)
    def openclaw_store_commit(self, commit):
        if self.refuse:
            raise PermissionError("refused by policy")
        self.seen.append(("before", sorted(commit.changed_keys), sorted(commit.removed_keys), commit.written))
        result = yield
        self.seen.append(("after", commit.written))
        return result

    @hookimpl
    def openclaw_store_committed(self, store_path, changed_keys, removed_keys):
        self.committed.append((store_path, sorted(changed_keys), sorted(removed_keys)))


def test_hook_store_commit_wraps_every_write_and_can_refuse_it(store_path, register_openclaw_plugin):
    raw = write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    recorder = register_openclaw_plugin(_Recorder(), "recorder")

    def change(store):
        del store["agent:main:a"]
        store["agent:main:b"] = {"sessionId": "b", "updatedAt": now_ms()}

    recorder.refuse = True
    with pytest.raises(PermissionError):
        update_session_store(store_path, change)
    assert store_path.read_bytes() == raw
    recorder.refuse = False
    update_session_store(store_path, change)
    assert recorder.seen == [("before", ["agent:main:b"], ["agent:main:a"], False), ("after", True)]


def test_hook_store_committed_reports_changed_and_removed_keys(store_path, register_openclaw_plugin):
    write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": now_ms()}})
    recorder = register_openclaw_plugin(_Recorder(), "recorder")
    update_session_store(store_path, lambda s: s.__delitem__("agent:main:a"))
    update_session_store(store_path, lambda s: None)  # no change: no notification
    assert recorder.committed == [(str(store_path), [], ["agent:main:a"])]


def test_a_failing_committed_listener_does_not_fail_a_durable_write(store_path, register_openclaw_plugin, capfd):
    class Failing:
        @hookimpl
        def openclaw_store_committed(self, store_path, changed_keys, removed_keys):
            raise RuntimeError("listener down")

    write_store(store_path, {})
    register_openclaw_plugin(Failing(), "failing-listener")
    assert update_session_store(store_path, lambda s: s.__setitem__("agent:main:a", {"sessionId": "a"}) or "done") == "done"
    assert "agent:main:a" in json.loads(store_path.read_text())
    assert 'plugin "failing-listener" failed in openclaw_store_committed: RuntimeError: listener down' in capfd.readouterr().err
