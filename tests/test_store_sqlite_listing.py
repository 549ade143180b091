"""Reads that do not load the store, on SQLite: ``sessions --limit N`` from the
``updatedAt`` index (the file store's output exactly) and one entry's lookup."""

from __future__ import annotations

import json

import pytest
from backends import sqlite_config, write_config
from conftest import DAY_MS, now_ms, write_store

from openclaw_core.app import load_session_entry
from oc import get_writer

MIN = 60_000


def entries(t: int) -> dict:
    return {
        "agent:main:old": {"sessionId": "o", "updatedAt": t - 3 * DAY_MS},
        "agent:main:tie-b": {"sessionId": "b", "updatedAt": t - 5 * MIN, "label": "second of the tie"},
        "agent:main:none": {"sessionId": "n"},
        "agent:main:tie-a": {"sessionId": "a", "updatedAt": t - 5 * MIN, "model": "gpt-5.5"},
        "12": {"sessionId": "i12", "updatedAt": t - 5 * MIN},  # an index key: first in store order
        "agent:main:string": {"sessionId": "s", "updatedAt": str(t - 2 * MIN)},  # sorts as a number, not --active
        "agent:main:new": {"sessionId": "w", "updatedAt": t - MIN, "totalTokens": 10},
        "agent:work:cross": {"sessionId": "c", "updatedAt": t - 30 * MIN, "chatType": "group"},
        "3": {"sessionId": "i3", "updatedAt": t - 5 * MIN},
    }


def listing(cli, *args) -> tuple[dict | str, int]:
    from openclaw_core.engine.store.writer import close_writers

    close_writers()  # a cached store would be listed from memory: read the backend
    result = cli("sessions", *args)
    assert result.exit_code == 0, result
    if "--json" not in args:
        return result.stdout, 0
    doc = result.json()
    for row in doc["sessions"]:
        row.pop("ageMs")  # milliseconds apart between the two runs
    return doc, 0


ARGS = [["--limit", "3", "--json"], ["--limit", "4", "--json"], ["--limit", "1", "--json"],
        ["--limit", "100", "--json"], ["--limit", "6", "--active", "10", "--json"], ["--limit", "3"],
        ["--limit", "2", "--all-agents", "--json"], ["--limit", "all", "--json"]]


@pytest.fixture
def two_backends(state_dir, cli):
    """The same stores on the file store, then moved to SQLite: (file outputs, switch)."""
    agents = {"agents": {"list": [{"id": "main"}, {"id": "work"}]}}
    write_config(state_dir, agents)
    t = now_ms()
    main = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    write_store(main, entries(t))
    write_store(state_dir / "agents" / "work" / "sessions" / "sessions.json",
                {"agent:work:w1": {"sessionId": "w1", "updatedAt": t - 5 * MIN},
                 "agent:work:w2": {"sessionId": "w2", "updatedAt": t - 2 * DAY_MS}})

    def to_sqlite():
        assert cli("store", "migrate", "--to", "sqlite", "--all-agents").exit_code == 0
        write_config(state_dir, agents | sqlite_config())

    return main, to_sqlite


@pytest.mark.parametrize("args", ARGS, ids=[" ".join(a) for a in ARGS])
def test_sessions_limit_on_sqlite_prints_what_the_file_store_prints(two_backends, cli, args):
    main, to_sqlite = two_backends
    on_file = listing(cli, *args)
    to_sqlite()
    assert listing(cli, *args) == on_file


def test_a_limited_listing_reads_the_index_not_the_store(two_backends, capsysbinary):
    import click

    from openclaw_core import app
    from openclaw_core.adapters.cli import build_cli
    from openclaw_core.adapters.cli.sessions_list import run_list

    main, to_sqlite = two_backends
    to_sqlite()
    capsysbinary.readouterr()
    with click.Context(build_cli(app.hooks)):  # run_list asks the CLI's context for its hooks
        run_list(limit="2", as_json=True)
        doc = json.loads(capsysbinary.readouterr().out)
        assert [row["key"] for row in doc["sessions"]] == ["agent:main:new", "agent:main:string"]
        assert doc["totalCount"] == 9 and doc["hasMore"] is True
        assert get_writer(main)._state is None  # nothing was loaded: the rows came from the index
        run_list(limit="all", as_json=True)  # --limit all reads everything, in one read-only load
        assert len(json.loads(capsysbinary.readouterr().out)["sessions"]) == 9


def test_an_updated_at_that_sorts_as_nan_falls_back_to_the_whole_store(two_backends, cli):
    main, to_sqlite = two_backends
    from openclaw_core import update_session_store

    def add_nan(s):
        s["agent:main:nan"] = {"sessionId": "x", "updatedAt": "soon"}

    update_session_store(main, add_nan, skip_maintenance=True)
    on_file = [listing(cli, "--limit", str(n), "--json") for n in (1, 3, 5)]
    to_sqlite()
    assert [listing(cli, "--limit", str(n), "--json") for n in (1, 3, 5)] == on_file


def test_one_entry_is_looked_up_without_loading_the_store(two_backends):
    main, to_sqlite = two_backends
    to_sqlite()
    entry = load_session_entry(main, "agent:main:tie-b")
    assert entry == {"sessionId": "b", "updatedAt": entry["updatedAt"], "label": "second of the tie"}
    assert load_session_entry(main, "agent:main:ghost") is None
    assert load_session_entry(main, "AGENT:MAIN:TIE-B") is None  # exact key
    assert get_writer(main)._state is None
    entry["label"] = "changed"  # a copy: the store is not touched
    assert load_session_entry(main, "agent:main:tie-b")["label"] == "second of the tie"


def test_load_session_entry_on_the_file_store_reads_the_store(store_path):
    write_store(store_path, {"agent:main:a": {"sessionId": "a", "updatedAt": 5}})
    assert load_session_entry(store_path, "agent:main:a") == {"sessionId": "a", "updatedAt": 5}
    assert load_session_entry(store_path, "agent:main:b") is None


def test_an_index_key_added_later_still_lists_first_among_equals(two_backends, cli):
    """Rows keep their insertion position; JavaScript's order puts integer-like keys first."""
    from openclaw_core import update_session_store

    main, to_sqlite = two_backends
    original = main.read_bytes()
    t = json.loads(original)["3"]["updatedAt"]

    def add(s):
        s["5"] = {"sessionId": "i5", "updatedAt": t}

    update_session_store(main, add, skip_maintenance=True)
    on_file = listing(cli, "--limit", "4", "--json")
    main.write_bytes(original)
    to_sqlite()
    update_session_store(main, add, skip_maintenance=True)
    on_sqlite = listing(cli, "--limit", "4", "--json")
    assert [row["key"] for row in on_sqlite[0]["sessions"]] == ["agent:main:new", "agent:main:string", "3", "5"]
    assert on_sqlite == on_file
