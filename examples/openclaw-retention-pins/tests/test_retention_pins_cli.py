"""The installed plugin, as a user meets it: found through its entry point by
the real ``openclaw`` command (a subprocess), listed by ``openclaw plugins
list``, and changing what ``openclaw sessions cleanup`` does; turned off
again with ``OPENCLAW_DISABLE_PLUGINS``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from openclaw_core.js.json import stringify

OPENCLAW = str(Path(sys.executable).parent / "openclaw")
DAY_MS = 86_400_000


@pytest.fixture(autouse=True)
def installed(monkeypatch):
    """These tests are about the installed distribution (``make setup`` installs it)."""
    try:
        metadata.distribution("openclaw-retention-pins")
    except metadata.PackageNotFoundError:
        pytest.fail("openclaw-retention-pins is not installed: pip install -e examples/openclaw-retention-pins")
    monkeypatch.delenv("OPENCLAW_DISABLE_PLUGINS", raising=False)


def openclaw(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([OPENCLAW, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, stdin=subprocess.DEVNULL)


def test_plugins_list_shows_the_plugin_and_its_policy(openclaw_state_dir):
    listed = openclaw("plugins", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    plugin = next(p for p in data["plugins"] if p["name"] == "retention_pins")
    assert plugin["distribution"] == "openclaw-retention-pins" and plugin["version"] == "0.1.0"
    assert plugin["builtin"] is False
    assert plugin["hooks"] == ["openclaw_config_sections", "openclaw_entry_protected", "openclaw_maintenance_policies", "openclaw_trash"]
    order = [(p["order"], p["name"]) for p in data["maintenancePolicies"]]
    assert order.index((200, "stale-prune")) + 1 == order.index((250, "prune-cron-runs")) \
        == order.index((300, "entry-cap")) - 1
    text = openclaw("plugins", "list").stdout
    assert "retention_pins  [third-party]  openclaw-retention-pins 0.1.0" in text
    assert "   250  prune-cron-runs              (retention_pins)" in text


def test_it_changes_what_sessions_cleanup_does_until_disabled(openclaw_state_dir):
    now = int(time.time() * 1000)
    (openclaw_state_dir / "openclaw.toml").write_text('[plugins.retentionPins]\ncronRunMaxAge = "3d"\n')
    store = {
        "agent:main:main": {"sessionId": "s-main", "updatedAt": now},
        "agent:main:telegram:direct:42": {"sessionId": "s-42", "updatedAt": now - 40 * DAY_MS, "label": "pin:vip"},
        "agent:main:cron:backup:run:7": {"sessionId": "s-run7", "updatedAt": now - 5 * DAY_MS},
    }
    path = openclaw_state_dir / "agents" / "main" / "sessions" / "sessions.json"
    path.parent.mkdir(parents=True)

    def cleanup(**env: str) -> tuple[dict, list[str]]:
        path.write_text(stringify(store))
        result = openclaw("sessions", "cleanup", "--enforce", "--json", **env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout), sorted(json.loads(path.read_text()))

    with_plugin, kept = cleanup()
    assert kept == ["agent:main:main", "agent:main:telegram:direct:42"]
    assert (with_plugin["pruned"], with_plugin["afterCount"]) == (0, 2)

    without, kept = cleanup(OPENCLAW_DISABLE_PLUGINS="retention_pins")
    assert kept == ["agent:main:cron:backup:run:7", "agent:main:main"]   # the 40-day-old pin went stale
    assert (without["pruned"], without["afterCount"]) == (1, 2)
    # Disabled by its distribution name, the same.
    assert cleanup(OPENCLAW_DISABLE_PLUGINS="openclaw-retention-pins")[1] == kept
