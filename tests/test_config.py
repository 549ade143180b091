"""Config and paths: resolution exactly as the spec says, strict validation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from openclaw_core.config import paths
from openclaw_core.config.model import save_config
from oc import load_config
from openclaw_core.base.errors import ConfigError
from openclaw_core.engine.maintenance import MaintenanceSettings, entry_high_water
from openclaw_core.base.units import UnitError, parse_bytes, parse_duration_ms


@pytest.mark.parametrize(("text", "unit", "ms"), [
    ("30d", "d", 2_592_000_000), ("7", "d", 604_800_000), (7, "d", 604_800_000), ("1h30m", "ms", 5_400_000),
    ("1D12H", "ms", 129_600_000), ("1.5d", "ms", 129_600_000), (" 90M ", "ms", 5_400_000), ("250ms", "ms", 250),
    ("0.0005s", "ms", 1), (7.0, "d", 604_800_000), ("0", "d", 0),
])
def test_durations(text, unit, ms):
    assert parse_duration_ms(text, unit) == ms


@pytest.mark.parametrize("text", ["2w", "1h30", "off", "", "-1", "1 h", ".5d", "5.d", "d", True, None, "1h-30m"])
def test_invalid_durations(text):
    with pytest.raises(UnitError, match=r"invalid duration \(use ms, s, m, h, d\)"):
        parse_duration_ms(text, "d")


@pytest.mark.parametrize(("text", "size"), [
    ("10kb", 10240), ("10K", 10240), ("1mb", 1048576), ("2G", 2 * 1024**3), ("1tb", 1024**4), (900, 900),
    ("900", 900), ("9.771KB", 10006), ("0.5b", 1),
])
def test_sizes(text, size):
    assert parse_bytes(text) == size


@pytest.mark.parametrize("text", ["10 kb", "1mib", "abc", "-5", "1kb2", ""])
def test_invalid_sizes(text):
    with pytest.raises(UnitError, match=r"invalid size \(use b, kb, mb, gb, tb\)"):
        parse_bytes(text)


def test_high_water_boundaries():
    assert [entry_high_water(n) for n in (2, 49, 50, 500, 1000, 0, -1, 1.5)] == [3, 50, 75, 550, 1100, 1, 1, 1]


def test_maintenance_settings_resolve_like_the_reference():
    s = MaintenanceSettings.resolve(None)
    assert (s.mode, s.prune_after_ms, s.max_entries, s.reset_archive_retention_ms, s.max_disk_bytes,
            s.high_water_bytes) == ("enforce", 30 * 86_400_000, 500, 30 * 86_400_000, None, None)
    s = MaintenanceSettings.resolve({"pruneAfter": 7, "maxDiskBytes": "10kb", "resetArchiveRetention": False})
    assert (s.prune_after_ms, s.max_disk_bytes, s.high_water_bytes, s.reset_archive_retention_ms) == (
        7 * 86_400_000, 10240, 8192, None)
    s = MaintenanceSettings.resolve({"maxDiskBytes": 10000, "highWaterBytes": 20000, "pruneDays": 3})
    assert (s.high_water_bytes, s.prune_after_ms) == (10000, 3 * 86_400_000)


def test_state_dir_and_home_resolution(tmp_path):
    env = {"HOME": str(tmp_path / "h")}
    assert paths.resolve_state_dir(env) == tmp_path / "h" / ".openclaw"
    (tmp_path / "h" / ".clawdbot").mkdir(parents=True)
    assert paths.resolve_state_dir(env) == tmp_path / "h" / ".clawdbot"
    (tmp_path / "h" / ".openclaw").mkdir()
    assert paths.resolve_state_dir(env) == tmp_path / "h" / ".openclaw"
    env = {"HOME": str(tmp_path / "h"), "OPENCLAW_HOME": "~/other"}
    assert paths.resolve_home(env) == tmp_path / "h" / "other"
    env = {"HOME": "undefined", "USERPROFILE": str(tmp_path / "u")}
    assert paths.resolve_home(env) == tmp_path / "u"
    env = {"HOME": str(tmp_path / "h"), "OPENCLAW_STATE_DIR": "~/s"}
    assert paths.resolve_state_dir(env) == tmp_path / "h" / "s"


def test_store_path_template_and_agent_id_cannot_escape(tmp_path):
    state = tmp_path / "state"
    env = {"HOME": str(tmp_path / "h")}
    assert paths.resolve_store_path(None, "../../etc", state, env) == state / "agents" / "etc" / "sessions" / "sessions.json"
    assert paths.resolve_store_path("~/stores/{agentId}/s.json", "Work", state, env) == tmp_path / "h" / "stores" / "work" / "s.json"
    assert paths.resolve_store_path("/x/shared.json", "a", state, env) == Path("/x/shared.json")


def test_config_prefers_toml_then_openclaw_json(state_dir):
    (state_dir / "openclaw.json").write_text('{\n  // OpenClaw writes JSON5\n  "session": {"store": "/a/{agentId}.json",},\n}\n')
    cfg = load_config()
    assert (cfg.format, cfg.session_store) == ("json", "/a/{agentId}.json")
    (state_dir / "openclaw.toml").write_text('[session]\nstore = "/b/{agentId}.json"\n')
    cfg = load_config()
    assert (cfg.format, cfg.session_store, cfg.path.name) == ("toml", "/b/{agentId}.json", "openclaw.toml")


def test_config_path_override(tmp_path, monkeypatch):
    custom = tmp_path / "custom.toml"
    custom.write_text("[gateway]\nport = 19000\n")
    monkeypatch.setenv("OPENCLAW_CONFIG_PATH", str(custom))
    assert load_config().gateway_port() == 19000


@pytest.mark.parametrize(("maintenance", "message"), [
    ({"bogus": 1}, 'session.maintenance: Unrecognized key: "bogus"'),
    ({"pruneAfter": "2w"}, "session.maintenance.pruneAfter: invalid duration (use ms, s, m, h, d)"),
    ({"maxEntries": 0}, "session.maintenance.maxEntries: Too small: expected number to be >0"),
    ({"maxEntries": 1.5}, "session.maintenance.maxEntries: Invalid input: expected int, received number"),
    ({"maxEntries": "10"}, "session.maintenance.maxEntries: Invalid input: expected number, received string"),
    ({"pruneDays": 1e300}, "session.maintenance.pruneDays: Too big: expected int to be <=9007199254740991"),
    ({"maxDiskBytes": "10 kb"}, "session.maintenance.maxDiskBytes: invalid size (use b, kb, mb, gb, tb)"),
    ({"mode": "WARN"}, 'session.maintenance.mode: Invalid option: expected one of "enforce"|"warn"'),
    ({"resetArchiveRetention": True}, "session.maintenance.resetArchiveRetention: Invalid input"),
    ({"pruneAfter": None}, "session.maintenance.pruneAfter: Invalid input"),
    ({"a": 1, "b": 2}, 'session.maintenance: Unrecognized keys: "a", "b"'),
])
def test_invalid_maintenance_config_is_an_error_naming_the_key(state_dir, maintenance, message):
    (state_dir / "openclaw.json").write_text(json.dumps({"session": {"maintenance": maintenance}}))
    with pytest.raises(ConfigError) as err:
        load_config()
    assert message in str(err.value)
    assert str(state_dir / "openclaw.json") in str(err.value)


def test_rotate_bytes_is_accepted_and_ignored(state_dir):
    (state_dir / "openclaw.json").write_text(json.dumps({"session": {"maintenance": {"rotateBytes": "10mb"}}}))
    assert load_config().get("session.maintenance.rotateBytes") == "10mb"


def test_invalid_config_exits_1_and_touches_nothing(state_dir, cli):
    store = state_dir / "agents" / "main" / "sessions" / "sessions.json"
    store.parent.mkdir(parents=True)
    store.write_text('{"agent:main:main": {"sessionId": "x", "updatedAt": 1}}')
    (state_dir / "openclaw.toml").write_text('[session.maintenance]\npruneAfter = "2w"\n')
    before = store.read_bytes()
    result = cli("sessions", "cleanup", "--enforce", "--store", str(store))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Config invalid", f"File: {state_dir / 'openclaw.toml'}", "Problem:",
        "  - session.maintenance.pruneAfter: invalid duration (use ms, s, m, h, d)"]
    assert store.read_bytes() == before


def test_save_config_round_trips_toml_and_keeps_a_backup(state_dir):
    cfg = load_config()
    data = {"agents": {"list": [{"id": "main", "default": True}]}, "session": {"maintenance": {"pruneAfter": "7d"}},
            "channels": {"telegram": {"token": None, "enabled": True}}}
    dropped = save_config(cfg, data)
    assert dropped == ["channels.telegram.token"]
    assert load_config().get("session.maintenance.pruneAfter") == "7d"
    save_config(load_config(), {"agents": {"list": []}})
    assert (state_dir / "openclaw.toml.bak").exists()
    assert oct(os.stat(state_dir / "openclaw.toml").st_mode & 0o777) == "0o600"


def test_save_config_refuses_an_invalid_config(state_dir):
    cfg = load_config()
    with pytest.raises(ConfigError):
        save_config(cfg, {"session": {"maintenance": {"pruneAfter": "soon"}}})
    assert not (state_dir / "openclaw.toml").exists()


def test_config_migrate_converts_json_to_toml(state_dir, cli):
    (state_dir / "openclaw.json").write_text(json.dumps({
        "agents": {"list": [{"id": "main", "default": True}, {"id": "work"}]},
        "session": {"maintenance": {"pruneAfter": "7d", "maxEntries": 50}},
        "gateway": {"auth": {"mode": "token", "token": "t"}, "remote": None},
    }))
    result = cli("config", "migrate")
    assert result.exit_code == 0, result
    assert "left out gateway.remote (null)" in result.stdout
    cfg = load_config()
    assert cfg.format == "toml"
    assert cfg.agent_ids() == ["main", "work"]
    assert cfg.get("session.maintenance.maxEntries") == 50
    again = cli("config", "migrate")
    assert again.exit_code == 1 and "already TOML" in again.stderr


def test_problems_come_in_the_reference_order_and_refinements_wait(state_dir):
    (state_dir / "openclaw.json").write_text(json.dumps({"session": {
        "maintenance": {"zz": 1, "pruneAfter": "2w", "mode": "x", "maxEntries": 0, "aa": 2},
        "store": 5}, "agents": {"list": [{"name": "x"}]}}))
    with pytest.raises(ConfigError) as err:
        load_config()
    assert err.value.problems == [
        "agents.list.0.id: Invalid input: expected string, received undefined",
        "session.store: Invalid input: expected string, received number",
        'session.maintenance.mode: Invalid option: expected one of "enforce"|"warn"',
        "session.maintenance.maxEntries: Too small: expected number to be >0",
        'session.maintenance: Unrecognized keys: "zz", "aa"',
    ]  # pruneAfter's duration check waits until the rest of the object is valid


def test_config_file_path_under_home_prints_with_a_tilde(tmp_path, monkeypatch):
    home = tmp_path / "h"
    (home / ".openclaw").mkdir(parents=True)
    (home / ".openclaw" / "openclaw.json").write_text("{ session: { ")
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(ConfigError) as err:
        load_config()
    lines = str(err.value).splitlines()
    assert lines[1] == "File: ~/.openclaw/openclaw.json"
    assert lines[3].startswith("  - <root>: JSON5 parse failed:")


def test_env_substitution_in_config_strings(state_dir, monkeypatch):
    monkeypatch.setenv("STORES", "/srv/stores")
    (state_dir / "openclaw.json").write_text(json.dumps({"session": {"store": "${STORES}/{agentId}.json"},
                                                          "channels": {"x": ["$${STORES}", "${NOT_SET_VAR}/y", "${lower}"]}}))
    cfg = load_config()
    assert cfg.session_store == "/srv/stores/{agentId}.json"
    assert cfg.get("channels.x") == ["${STORES}", "${NOT_SET_VAR}/y", "${lower}"]
    assert cfg.data["session"]["store"] == "${STORES}/{agentId}.json"  # the file's text is kept


def test_current_config_is_reread_only_when_the_file_or_environment_changes(state_dir, monkeypatch):
    from oc import current_config

    path = state_dir / "openclaw.toml"
    path.write_text('[session.maintenance]\npruneAfter = "7d"\n')
    first = current_config()
    assert current_config() is first
    path.write_text('[session.maintenance]\npruneAfter = "19d"\n')
    second = current_config()
    assert second is not first and second.get("session.maintenance.pruneAfter") == "19d"
    monkeypatch.setenv("OPENCLAW_GATEWAY_TOKEN", "t")
    assert current_config() is not second


@pytest.mark.parametrize("text, plain", [
    ('\ufeff{"session": {"mainKey": "main"}, "agents": {"list": [{"id": "w", "name": "W \\ud83d\\ude00"}]}}', True),
    ('\ufeff// JSON5\n{session: {mainKey: "main"}, agents: {list: [{id: "w", name: "W \\ud83d\\ude00",},],},}', False),
])
def test_a_config_with_a_byte_order_mark_is_read_plain_or_json5(tmp_path, monkeypatch, text, plain):
    # The BOM is dropped once, before either parser (plain JSON stays on the C
    # parser); an escaped pair is one character, as JS reads it.
    from openclaw_core.config import model

    if plain:
        monkeypatch.setattr(model, "_json5", lambda *args: pytest.fail("plain JSON went to the json5 parser"))
    data = model.parse_config_text(text, "json", tmp_path / "openclaw.json")
    assert data["session"] == {"mainKey": "main"} and data["agents"]["list"][0]["name"] == "W \U0001F600"
