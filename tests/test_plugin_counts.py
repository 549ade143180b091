"""A third-party policy's counts (``ctx.report.extra``) in ``sessions cleanup``'s
summaries (issue 17): a ``Plugin policy <name>: <n>`` line in the text, and
``"x-openclaw-core": {"policies": {...}}`` in each store's JSON summary, a key
the reference never uses. Shown with the example plugin
(examples/openclaw-retention-pins, installed by ``make setup``); without a
third-party plugin the output stays the reference's (tests/test_cleanup_reference.py)."""

from __future__ import annotations

import json

import pytest

from conftest import DAY_MS, enable_only, now_ms, write_store


@pytest.fixture
def pins_state(state_dir, store_path, monkeypatch):
    monkeypatch.setenv("OPENCLAW_DISABLE_PLUGINS", enable_only("openclaw-retention-pins"))
    (state_dir / "openclaw.toml").write_text(
        '[session.maintenance]\nmode = "enforce"\n\n[plugins.retentionPins]\ncronRunMaxAge = "3d"\n')
    now = now_ms()
    write_store(store_path, {
        "agent:main:main": {"sessionId": "s-main", "updatedAt": now},
        "agent:main:telegram:direct:7": {"sessionId": "s-7", "updatedAt": now - 40 * DAY_MS},
        "agent:main:cron:backup:run:7": {"sessionId": "s-run7", "updatedAt": now - 5 * DAY_MS},
        "agent:main:cron:backup:run:8": {"sessionId": "s-run8", "updatedAt": now - 4 * DAY_MS},
    })
    return store_path


def test_the_json_summary_has_the_policy_count_beside_the_built_in_ones(cli, pins_state):
    for args in (("--dry-run",), ("--enforce",)):
        result = cli("sessions", "cleanup", *args, "--json")
        assert result.exit_code == 0, result
        summary = result.json()
        assert summary["x-openclaw-core"] == {"policies": {"prune-cron-runs": 2}}
        # the totals add up: 4 -> 1 is one stale entry and two cron runs
        assert (summary["beforeCount"], summary["afterCount"], summary["pruned"]) == (4, 1, 1)
        # the reference's keys come first and unchanged; ours is last
        assert list(summary)[-1] == "x-openclaw-core"
    assert sorted(json.loads(pins_state.read_text())) == ["agent:main:main"]


def test_the_text_summaries_show_the_policy_count(cli, pins_state):
    preview = cli("sessions", "cleanup", "--dry-run")
    assert preview.exit_code == 0, preview
    lines = preview.stdout.splitlines()
    at = lines.index("Would cap overflow: 0")
    assert lines[at - 2:at + 2] == ["Would prune missing transcripts: 0", "Would prune stale: 1",
                                    "Would cap overflow: 0", "Plugin policy prune-cron-runs: 2"]
    assert "Entries: 4 -> 1 (remove 3)" in lines
    applied = cli("sessions", "cleanup", "--enforce")
    assert applied.exit_code == 0, applied
    lines = applied.stdout.splitlines()
    at = lines.index("Applied maintenance. Current entries: 1")
    assert lines[at + 1] == "Plugin policy prune-cron-runs: 2"


def test_all_agents_json_has_it_per_store(cli, pins_state):
    work = pins_state.parent.parent.parent / "work" / "sessions" / "sessions.json"
    write_store(work, {"agent:work:main": {"sessionId": "s-w", "updatedAt": now_ms()}})
    config = pins_state.parent.parent.parent.parent / "openclaw.toml"
    config.write_text(config.read_text() + '\n[[agents.list]]\nid = "main"\n\n[[agents.list]]\nid = "work"\n')
    result = cli("sessions", "cleanup", "--dry-run", "--all-agents", "--json")
    assert result.exit_code == 0, result
    stores = result.json()["stores"]
    assert {s["agentId"]: s["x-openclaw-core"] for s in stores} == {
        "main": {"policies": {"prune-cron-runs": 2}}, "work": {"policies": {"prune-cron-runs": 0}}}
    assert "x-openclaw-core" not in result.json()


def test_no_key_and_no_line_without_a_plugin(cli, pins_state, monkeypatch):
    monkeypatch.setenv("OPENCLAW_DISABLE_PLUGINS", "third-party")
    (pins_state.parent.parent.parent.parent / "openclaw.toml").write_text('[session.maintenance]\nmode = "enforce"\n')
    result = cli("sessions", "cleanup", "--dry-run", "--json")
    assert "x-openclaw-core" not in result.json()
    assert "Plugin policy" not in cli("sessions", "cleanup", "--dry-run").stdout


def test_through_the_gateway_too(cli, pins_state, free_port, monkeypatch):
    """The Gateway's sessions.cleanup answer carries the same summary; the CLI prints its line."""
    from gateway_support import TOKEN, start_gateway

    state_dir = pins_state.parent.parent.parent.parent
    gateway = start_gateway(state_dir, free_port)
    try:
        monkeypatch.setenv("OPENCLAW_GATEWAY_PORT", str(free_port))
        monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", TOKEN)
        result = cli("sessions", "cleanup", "--enforce")
        assert result.exit_code == 0, result
        lines = result.stdout.splitlines()
        assert lines[-3:] == ["Applied maintenance. Current entries: 1", "Plugin policy prune-cron-runs: 2",
                              f"(via Gateway ws://127.0.0.1:{free_port})"]
    finally:
        gateway.stop()
    assert sorted(json.loads(pins_state.read_text())) == ["agent:main:main"]
