"""config.* and agents.create/update against our real Gateway, on real config
files (JSON as OpenClaw writes it, and a user's TOML with comments)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from gateway_support import handshake, request, start_gateway

REDACTED = "__OPENCLAW_REDACTED__"
SECRET = "gw-secret-token-0123456789"

JSON_CONFIG = {
    "gateway": {"mode": "local", "auth": {"mode": "token", "token": SECRET}},
    "agents": {"list": [{"id": "main", "default": True, "workspace": "~/ws-main"}, {"id": "ops", "name": "Ops"}]},
    "session": {"maintenance": {"mode": "warn", "pruneAfter": "30d", "maxEntries": 50}},
    "models": {"providers": {"acme": {"apiKey": "sk-acme-SECRET", "baseUrl": "https://api.acme.example"}}},
}

TOML_CONFIG = f"""\
# My Gateway: keep this comment
[gateway]
mode = "local"  # local only
auth = {{ mode = "token", token = "{SECRET}" }}

[session.maintenance]
# how long to keep chats
mode = "warn"
pruneAfter = "30d"
maxEntries = 50

[[agents.list]]
id = "main"
default = true

[[agents.list]]
id = "ops"  # the ops agent
name = "Ops"
"""


def _state(tmp_path: Path, fmt: str) -> tuple[Path, Path, dict[str, str]]:
    home = tmp_path / "home"
    state = home / ".openclaw"
    state.mkdir(parents=True)
    if fmt == "json":
        path = state / "openclaw.json"
        path.write_text(json.dumps(JSON_CONFIG, indent=2) + "\n")
    else:
        path = state / "openclaw.toml"
        path.write_text(TOML_CONFIG)
    os.chmod(path, 0o600)
    env = {"HOME": str(home), "OPENCLAW_CONFIG_PATH": str(path)}
    return state, path, env


@pytest.fixture
def json_gw(tmp_path, free_port):
    state, path, env = _state(tmp_path, "json")
    gw = start_gateway(state, free_port, extra_env=env)
    yield gw, path
    gw.stop()


@pytest.fixture
def toml_gw(tmp_path, free_port):
    state, path, env = _state(tmp_path, "toml")
    gw = start_gateway(state, free_port, extra_env=env)
    yield gw, path
    gw.stop()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _call(gw, method: str, params=None, scopes=None) -> dict:
    ws, hello = handshake(gw.port, scopes=scopes or ["operator.admin"])
    assert hello["ok"], hello
    try:
        return request(ws, method, params)
    finally:
        ws.close()


def _error(reply: dict) -> str:
    assert not reply["ok"], reply
    return reply["error"]["message"]


# --- config.get ----------------------------------------------------------------------------------

def test_config_get_has_the_reference_shape_and_hides_every_secret(json_gw):
    gw, path = json_gw
    reply = _call(gw, "config.get", scopes=["operator.read"])
    assert reply["ok"], reply
    payload = reply["payload"]
    assert list(payload) == ["path", "exists", "raw", "parsed", "sourceConfig", "resolved", "valid",
                             "runtimeConfig", "config", "hash", "issues", "warnings", "legacyIssues"]
    assert payload["hash"] == _digest(path) and payload["path"] == str(path)
    assert payload["raw"] is None and payload["valid"] is True and payload["exists"] is True
    assert (payload["issues"], payload["warnings"], payload["legacyIssues"]) == ([], [], [])
    assert SECRET not in json.dumps(payload) and "sk-acme" not in json.dumps(payload)
    for view in ("parsed", "sourceConfig", "resolved", "runtimeConfig", "config"):
        assert payload[view]["gateway"]["auth"]["token"] == REDACTED, view
        assert payload[view]["models"]["providers"]["acme"]["apiKey"] == REDACTED, view
    assert payload["parsed"]["agents"]["list"][0]["workspace"] == "~/ws-main"  # as written
    runtime = payload["runtimeConfig"]
    home = path.parent.parent
    assert runtime["agents"]["list"][0]["workspace"] == str(home / "ws-main")  # as the runtime resolves it
    assert runtime["agents"]["defaults"] == {"maxConcurrent": 4, "subagents": {"maxConcurrent": 8}}
    assert "commands" not in payload["parsed"] and runtime["commands"]["native"] == "auto"


def test_config_get_of_a_toml_config(toml_gw):
    gw, path = toml_gw
    payload = _call(gw, "config.get", scopes=["operator.read"])["payload"]
    assert payload["hash"] == _digest(path) and payload["path"] == str(path)
    assert payload["parsed"]["session"]["maintenance"]["maxEntries"] == 50
    assert payload["parsed"]["gateway"]["auth"]["token"] == REDACTED and SECRET not in json.dumps(payload)


# --- config.set / config.apply / config.patch: the base hash, validation, redaction markers -------

def test_config_set_needs_the_current_hash_and_keeps_the_secret_it_never_saw(json_gw):
    gw, path = json_gw
    before = path.read_bytes()
    new = json.loads(json.dumps(JSON_CONFIG))
    new["gateway"]["auth"]["token"] = REDACTED           # what config.get showed
    new["models"]["providers"]["acme"]["apiKey"] = REDACTED
    new["session"]["maintenance"]["maxEntries"] = 20
    raw = json.dumps(new)
    assert _error(_call(gw, "config.set", {"raw": raw})) == "config base hash required; re-run config.get and retry"
    assert _error(_call(gw, "config.set", {"raw": raw, "baseHash": "0" * 64})) == (
        "config changed since last load; re-run config.get and retry")
    assert path.read_bytes() == before
    reply = _call(gw, "config.set", {"raw": raw, "baseHash": _digest(path)})
    assert reply["ok"], reply
    on_disk = json.loads(path.read_text())
    assert on_disk["gateway"]["auth"]["token"] == SECRET                      # restored from the file
    assert on_disk["models"]["providers"]["acme"]["apiKey"] == "sk-acme-SECRET"
    assert on_disk["session"]["maintenance"]["maxEntries"] == 20
    assert on_disk["meta"]["lastTouchedVersion"] == "2026.5.4"               # the one config writer
    assert os.stat(path).st_mode & 0o777 == 0o600 and Path(f"{path}.bak").read_bytes() == before
    payload = reply["payload"]
    assert payload["ok"] is True and payload["path"] == str(path)
    assert payload["config"]["gateway"]["auth"]["token"] == REDACTED and SECRET not in json.dumps(payload)
    # The old hash is stale now: a second writer with it loses, and nothing changes.
    after = path.read_bytes()
    assert _error(_call(gw, "config.set", {"raw": raw, "baseHash": hashlib.sha256(before).hexdigest()})) == (
        "config changed since last load; re-run config.get and retry")
    assert path.read_bytes() == after


def test_a_write_that_would_make_the_config_invalid_changes_nothing(json_gw):
    gw, path = json_gw
    before = path.read_bytes()
    bad = json.loads(json.dumps(JSON_CONFIG))
    bad["session"]["bogus"] = 1
    reply = _call(gw, "config.set", {"raw": json.dumps(bad), "baseHash": _digest(path)})
    assert _error(reply) == 'invalid config: session: Unrecognized key: "bogus"'
    assert reply["error"]["details"] == {"issues": [{"path": "session", "message": 'Unrecognized key: "bogus"'}]}
    patch = _call(gw, "config.patch", {"raw": json.dumps({"gateway": {"port": 0}}), "baseHash": _digest(path)})
    assert _error(patch).startswith("invalid config: gateway.port:")
    assert _error(_call(gw, "config.patch", {"raw": "[1]", "baseHash": _digest(path)})) == (
        "config.patch raw must be an object")
    assert path.read_bytes() == before and not Path(f"{path}.bak").exists()


def test_a_marker_with_nothing_to_restore_is_refused(json_gw):
    gw, path = json_gw
    before = path.read_bytes()
    reply = _call(gw, "config.set", {"raw": json.dumps({**JSON_CONFIG, "talk": {"apiKey": REDACTED}}),
                                     "baseHash": _digest(path)})
    assert _error(reply) == f'Sentinel value "{REDACTED}" in key talk.apiKey is not valid as real data'
    assert path.read_bytes() == before


def test_a_write_that_drops_most_of_the_config_is_refused(json_gw):
    gw, path = json_gw
    big = json.loads(json.dumps(JSON_CONFIG))
    big["agents"]["list"] += [{"id": f"agent-{i}", "name": f"Agent number {i}"} for i in range(20)]
    path.write_text(json.dumps(big, indent=2) + "\n")
    before = path.read_bytes()
    reply = _call(gw, "config.set", {"raw": json.dumps({"gateway": {"mode": "local"}}), "baseHash": _digest(path)})
    assert reply["error"]["code"] == "UNAVAILABLE"
    assert "Config write rejected" in _error(reply) and "size-drop:" in _error(reply)
    reply = _call(gw, "config.patch", {"raw": json.dumps({"gateway": {"mode": None}}), "baseHash": _digest(path)})
    assert "gateway-mode-removed" in _error(reply)
    assert path.read_bytes() == before


def test_config_patch_edits_a_toml_config_in_place(toml_gw):
    gw, path = toml_gw
    patch = {"session": {"maintenance": {"mode": "enforce", "maxEntries": None}},
             "agents": {"list": [{"id": "ops", "name": "Operations"}, {"id": "lab"}]}}
    reply = _call(gw, "config.patch", {"raw": json.dumps(patch), "baseHash": _digest(path)})
    assert reply["ok"], reply
    text = path.read_text()
    for comment in ("# My Gateway: keep this comment", "# local only", "# how long to keep chats",
                    "# the ops agent"):
        assert comment in text, text
    assert 'mode = "enforce"' in text and "maxEntries" not in text and 'name = "Operations"' in text
    assert 'id = "lab"' in text and SECRET in text
    assert "meta" not in text  # a user's TOML gets no meta stamp
    payload = reply["payload"]
    assert payload["sentinel"]["payload"]["kind"] == "config-patch"
    sentinel = Path(payload["sentinel"]["path"])
    assert sentinel == gw.state_dir / "restart-sentinel.json" and os.stat(sentinel).st_mode & 0o777 == 0o600
    assert json.loads(sentinel.read_text())["payload"]["stats"] == {"mode": "config.patch", "root": str(path)}
    # The same patch again changes nothing: a noop, the file untouched.
    before = path.read_bytes()
    again = _call(gw, "config.patch", {"raw": json.dumps({"session": {"maintenance": {"mode": "enforce"}}}),
                                       "baseHash": _digest(path)})
    assert again["payload"]["noop"] is True and path.read_bytes() == before


def test_config_patch_and_apply_are_rate_limited_as_in_the_reference(json_gw):
    gw, path = json_gw
    ws, _ = handshake(gw.port)
    try:
        for _ in range(3):
            assert request(ws, "config.patch", {"raw": "{}", "baseHash": _digest(path)})["ok"]
        reply = request(ws, "config.apply", {"raw": json.dumps(JSON_CONFIG), "baseHash": _digest(path)})
        assert reply["error"]["code"] == "UNAVAILABLE" and reply["error"]["retryable"] is True
        assert reply["error"]["message"].startswith("rate limit exceeded for config.apply; retry after ")
        assert reply["error"]["details"] == {"method": "config.apply", "limit": "3 per 60s"}
        # config.set is not a control-plane write: still served.
        assert request(ws, "config.set", {"raw": json.dumps(JSON_CONFIG), "baseHash": _digest(path)})["ok"]
    finally:
        ws.close()


def test_config_apply_replaces_the_config(json_gw):
    gw, path = json_gw
    new = json.loads(json.dumps(JSON_CONFIG))
    new["gateway"]["auth"]["token"] = REDACTED
    new["agents"]["list"].pop()
    reply = _call(gw, "config.apply", {"raw": json.dumps(new), "baseHash": _digest(path), "note": "drop ops"})
    assert reply["ok"], reply
    assert reply["payload"]["sentinel"]["payload"]["message"] == "drop ops"
    on_disk = json.loads(path.read_text())
    assert [a["id"] for a in on_disk["agents"]["list"]] == ["main"] and on_disk["gateway"]["auth"]["token"] == SECRET


def test_config_writes_need_admin_and_reads_need_read(json_gw):
    gw, path = json_gw
    for method, params in (("config.set", {"raw": "{}"}), ("config.patch", {"raw": "{}"}),
                           ("config.apply", {"raw": "{}"}), ("config.schema", {}),
                           ("agents.create", {"name": "x", "workspace": "/tmp/x"}),
                           ("agents.update", {"agentId": "ops"})):
        assert _error(_call(gw, method, params, scopes=["operator.write"])) == "missing scope: operator.admin", method
    assert _call(gw, "config.schema.lookup", {"path": "gateway"}, scopes=["operator.read"])["ok"]


# --- config.schema / config.schema.lookup ------------------------------------------------------------

def test_config_schema_is_generated_from_the_strict_key_tables(json_gw):
    from openclaw_core.config import schema as cs
    from openclaw_core.config.fields import MAINTENANCE_KEYS

    gw, _ = json_gw
    payload = _call(gw, "config.schema")["payload"]
    schema = payload["schema"]
    assert list(schema["properties"]) == list(cs.ROOT_KEYS) and schema["additionalProperties"] is False
    maintenance = schema["properties"]["session"]["properties"]["maintenance"]
    assert list(maintenance["properties"]) == list(MAINTENANCE_KEYS) and maintenance["additionalProperties"] is False
    assert maintenance["properties"]["mode"]["enum"] == ["enforce", "warn"]
    agent = schema["properties"]["agents"]["properties"]["list"]["items"]
    assert list(agent["properties"]) == list(cs.AGENT_KEYS)
    assert schema["properties"]["models"] == {}  # a section we do not look into accepts anything
    assert payload["uiHints"]["gateway.auth.token"] == {"sensitive": True}


def test_config_schema_shows_what_an_installed_plugin_declares(tmp_path, free_port, monkeypatch):
    from conftest import enable_only
    from openclaw_core import app as plugins
    from openclaw_core.config.schema import declared_sections

    monkeypatch.setenv("OPENCLAW_DISABLE_PLUGINS", enable_only("openclaw-retention-pins"))
    plugins.set_plugin_manager(None)
    sections = {p: s for p, s in declared_sections(plugins.hooks()).items() if p.startswith("plugins.")}
    if not sections:
        pytest.skip("examples/openclaw-retention-pins (which declares a section) is not installed")
    state, _, env = _state(tmp_path, "json")
    gw = start_gateway(state, free_port, extra_env=env)
    try:
        for dotted, section in sections.items():
            reply = _call(gw, "config.schema.lookup", {"path": dotted}, scopes=["operator.read"])
            assert reply["ok"], reply
            assert [c["key"] for c in reply["payload"]["children"]] == list(section.keys)
            assert reply["payload"]["schema"]["additionalProperties"] is False
    finally:
        gw.stop()


def test_config_schema_lookup(json_gw):
    gw, _ = json_gw
    reply = _call(gw, "config.schema.lookup", {"path": "agents.list"}, scopes=["operator.read"])["payload"]
    assert reply["path"] == "agents.list" and reply["schema"] == {"type": "array"}
    assert reply["children"] == [{"key": "*", "path": "agents.list.*", "type": "object", "required": False,
                                  "hasChildren": True}]
    token = _call(gw, "config.schema.lookup", {"path": "gateway.auth.token"})["payload"]
    assert token["hint"] == {"sensitive": True} and token["children"] == []
    assert _error(_call(gw, "config.schema.lookup", {"path": "nope.x"})) == "config schema path not found"


# --- agents.create / agents.update ----------------------------------------------------------------------

def test_agents_create_and_update(json_gw):
    gw, path = json_gw
    home = path.parent.parent
    reply = _call(gw, "agents.create", {"name": "Scout", "workspace": "~/ws-scout", "emoji": "x"})
    assert reply["payload"] == {"ok": True, "agentId": "scout", "name": "Scout", "workspace": str(home / "ws-scout")}
    entry = json.loads(path.read_text())["agents"]["list"][-1]
    assert entry == {"id": "scout", "name": "Scout", "workspace": str(home / "ws-scout"),
                     "identity": {"name": "Scout", "emoji": "x"},
                     "agentDir": str(gw.state_dir / "agents" / "scout" / "agent")}
    assert (home / "ws-scout").is_dir() and (gw.state_dir / "agents" / "scout" / "sessions").is_dir()
    assert _error(_call(gw, "agents.create", {"name": "scout", "workspace": "~/x"})) == 'agent "scout" already exists'
    assert _error(_call(gw, "agents.create", {"name": "Main", "workspace": "~/x"})) == '"main" is reserved'
    assert _error(_call(gw, "agents.create", {"name": "x"})) == (
        "invalid agents.create params: must have required property 'workspace'")
    reply = _call(gw, "agents.update", {"agentId": "Scout", "model": "openai/gpt-5", "name": "Scouty"})
    assert reply["payload"] == {"ok": True, "agentId": "scout"}
    entry = json.loads(path.read_text())["agents"]["list"][-1]
    assert entry["name"] == "Scouty" and entry["model"] == "openai/gpt-5"
    assert entry["identity"] == {"name": "Scouty", "emoji": "x"}
    assert _error(_call(gw, "agents.update", {"agentId": "nope"})) == 'agent "nope" not found'
    # The Gateway sees its own write: agents.list has the new agent.
    listed = _call(gw, "agents.list", scopes=["operator.read"])["payload"]["agents"]
    assert [a["id"] for a in listed][-1] == "scout"


def test_agents_create_keeps_a_toml_configs_comments(toml_gw):
    gw, path = toml_gw
    assert _call(gw, "agents.create", {"name": "lab", "workspace": str(path.parent / "ws-lab")})["ok"]
    assert _call(gw, "agents.update", {"agentId": "ops", "model": "acme/large"})["ok"]
    text = path.read_text()
    assert "# My Gateway: keep this comment" in text and "# the ops agent" in text
    assert 'id = "lab"' in text and 'model = "acme/large"' in text


def test_agents_create_refuses_a_workspace_outside_home_and_state(json_gw, tmp_path):
    gw, path = json_gw
    before = path.read_bytes()
    outside = tmp_path / "elsewhere"
    for workspace in ("relative/ws", str(outside), "~/../../escape"):
        reply = _call(gw, "agents.create", {"name": "stray", "workspace": workspace})
        assert not reply["ok"] and "workspace" in _error(reply), (workspace, reply)
    assert _error(_call(gw, "agents.update", {"agentId": "ops", "workspace": str(outside)})).endswith(
        "is outside the home and state directories")
    assert path.read_bytes() == before and not outside.exists()


def test_config_get_over_protocol_4_has_the_later_gateways_keys(json_gw):
    """Keys as recorded from 2026.9.6 (tests/fixtures/gateway-v4, step 09-config-get)."""
    recorded = json.loads((Path(__file__).parent / "fixtures" / "gateway-v4" / "frames-2026.9.6.json").read_text())
    step = next(s for s in recorded["steps"] if s["step"] == "09-config-get")
    expected = next(f["frame"]["payload"] for f in step["frames"]
                    if f["frame"].get("type") == "res" and "exists" in (f["frame"].get("payload") or {}))
    gw, path = json_gw
    ws, hello = handshake(gw.port, minProtocol=4, maxProtocol=4)
    try:
        assert hello["payload"]["protocol"] == 4
        payload = request(ws, "config.get")["payload"]
    finally:
        ws.close()
    assert list(payload) == list(expected)
    assert payload["configRevisionHash"] == payload["appliedConfigHash"] == payload["hash"] == _digest(path)
    assert SECRET not in json.dumps(payload)
    # A write with the hash a v4 client got is accepted.
    assert _call(gw, "config.patch", {"raw": "{}", "baseHash": payload["configRevisionHash"]})["ok"]


def test_a_config_broken_on_disk_is_reported_and_not_written_over(json_gw):
    gw, path = json_gw
    path.write_text('{"session": {"scope": "nobody"}, gateway: {mode: "local"}}\n')  # JSON5, invalid value
    before = path.read_bytes()
    payload = _call(gw, "config.get", scopes=["operator.read"])["payload"]
    assert payload["valid"] is False and payload["parsed"] is None and payload["config"] == {}
    assert payload["hash"] == _digest(path)
    assert payload["issues"] == [{"path": "session.scope", "message": 'Invalid input (allowed: "per-sender", "global")'}]
    assert _error(_call(gw, "config.patch", {"raw": "{}"})) == "config base hash required; re-run config.get and retry"
    assert _error(_call(gw, "config.patch", {"raw": "{}", "baseHash": _digest(path)})) == (
        "invalid config; fix before patching")
    assert _error(_call(gw, "config.set", {"raw": json.dumps(JSON_CONFIG), "baseHash": _digest(path)})) == (
        f"invalid config at {path}; fix the file before replacing it")
    path.write_text("{not json5")
    assert _call(gw, "config.get")["payload"]["valid"] is False
    assert path.read_text() == "{not json5"
    path.write_bytes(before)
    assert path.read_bytes() == before
