"""Third-party plugins installed beside the core do not leak into its tests, and
the kill switch says when it names nothing (issue 13 item 6).

The throw-away plugin is a real distribution (dist-info with an ``openclaw``
entry point) on a path given to Python; it protects every entry from
maintenance, so any core test that expects a prune fails while it is on."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import DAY_MS, OPENCLAW, REPO, enable_only, now_ms, write_store

PROTECT_ALL = """
    from openclaw_core import hookimpl

    @hookimpl(tryfirst=True)
    def openclaw_entry_protected(key, entry, store_path):
        return True  # keep everything: a core test expecting a prune would fail
"""


def make_throwaway(site: Path) -> Path:
    site.mkdir(parents=True, exist_ok=True)
    (site / "oc_keep_all.py").write_text(textwrap.dedent(PROTECT_ALL))
    info = site / "oc_keep_all-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: oc-keep-all\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[openclaw]\nkeep_all = oc_keep_all\n")
    return site


def _stale_store(state: Path) -> Path:
    t = now_ms()
    path = state / "agents" / "main" / "sessions" / "sessions.json"
    write_store(path, {"agent:main:main": {"sessionId": "s-main", "updatedAt": t},
                       "agent:main:telegram:direct:1": {"sessionId": "s-old", "updatedAt": t - 40 * DAY_MS}})
    (state / "openclaw.toml").write_text('[session.maintenance]\nmode = "enforce"\npruneAfter = "30d"\n')
    return path


def test_an_installed_third_party_plugin_is_off_in_tests_until_one_enables_it(tmp_path, monkeypatch, cli,
                                                                               run_openclaw):
    site = make_throwaway(tmp_path / "site")
    state = tmp_path / "state"
    store = _stale_store(state)
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    # Installed for this process too (on sys.path, so importlib.metadata finds it).
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    from openclaw_core.app import get_plugin_manager

    assert not get_plugin_manager().has_plugin("keep_all")
    result = cli("sessions", "cleanup", "--enforce", "--store", str(store), "--json")
    assert result.exit_code == 0 and result.json()["pruned"] == 1, result
    # A subprocess inherits the isolation.
    env = {"PYTHONPATH": str(site)}
    listed = json.loads(run_openclaw("plugins", "list", "--json", env=env).stdout)
    assert "keep_all" not in {p["name"] for p in listed["plugins"]}
    # A test that wants it turns it on, and only it.
    on = {**env, "OPENCLAW_DISABLE_PLUGINS": enable_only("keep_all")}
    listed = json.loads(run_openclaw("plugins", "list", "--json", env=on).stdout)
    names = {p["name"]: p for p in listed["plugins"]}
    assert names["keep_all"]["builtin"] is False
    assert all(p["builtin"] or p["name"] == "keep_all" for p in listed["plugins"])
    write_store(store, {"agent:main:telegram:direct:1": {"sessionId": "s-old", "updatedAt": now_ms() - 40 * DAY_MS}})
    kept = run_openclaw("sessions", "cleanup", "--enforce", "--store", str(store), "--json", env=on)
    assert kept.exit_code == 0 and json.loads(kept.stdout)["pruned"] == 0, kept


@pytest.mark.slow
def test_core_tests_pass_with_a_third_party_plugin_installed(tmp_path):
    """Run a few core tests that prune, in a pytest of their own, with the plugin installed."""
    site = make_throwaway(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    env.pop("OPENCLAW_DISABLE_PLUGINS", None)  # as on a developer's machine
    check = subprocess.run([OPENCLAW, "plugins", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert "keep_all" in check.stdout  # it is really installed for that run
    tests = ["tests/test_cleanup_cli.py::test_no_gateway_falls_back_to_the_offline_path",
             "tests/test_cleanup_cli.py::test_json_summary_key_order_and_values",
             "tests/test_cleanup_cli.py::test_text_output_and_log_lines_go_where_the_reference_puts_them"]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_disable_names_that_match_no_plugin_are_reported(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OPENCLAW_STATE_DIR": str(tmp_path / "state"),
           "OPENCLAW_DISABLE_PLUGINS": "trash, no-such-plugin,retention_pin,third-party,openclaw-retention-pins"}
    result = subprocess.run([OPENCLAW, "plugins", "list", "--json"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        'openclaw: warning: OPENCLAW_DISABLE_PLUGINS: no installed plugin or distribution is named '
        '"no-such-plugin", "retention_pin" (ignored)']
    quiet = subprocess.run([OPENCLAW, "plugins", "list"], capture_output=True, text=True, timeout=60,
                           env={**env, "OPENCLAW_DISABLE_PLUGINS": "trash,third-party"})
    assert quiet.returncode == 0 and quiet.stderr == ""
