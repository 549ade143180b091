"""Where the Gateway listens and where clients look for it: OpenClaw's precedence."""

from __future__ import annotations

import json

import pytest


def config_with(tmp_path, data, **env):
    from oc import load_config

    (tmp_path / "openclaw.json").write_text(json.dumps(data))
    return load_config({"OPENCLAW_STATE_DIR": str(tmp_path), "HOME": str(tmp_path), **env})


def test_port_precedence(tmp_path):
    from openclaw_core.engine.wire.endpoint import resolve_port

    assert resolve_port(config_with(tmp_path, {})) == 18789
    assert resolve_port(config_with(tmp_path, {"gateway": {"port": 19001}})) == 19001
    assert resolve_port(config_with(tmp_path, {"gateway": {"port": 19001}}, OPENCLAW_GATEWAY_PORT="19002")) == 19002
    assert resolve_port(config_with(tmp_path, {"gateway": {"port": 19001}}, OPENCLAW_GATEWAY_PORT="19002"), 19003) == 19003


def test_bad_port_values_are_errors(tmp_path):
    from openclaw_core.base.errors import ConfigError, UsageError
    from openclaw_core.engine.wire.endpoint import resolve_port

    with pytest.raises(ConfigError, match="OPENCLAW_GATEWAY_PORT: not a port number"):
        resolve_port(config_with(tmp_path, {}, OPENCLAW_GATEWAY_PORT="http"))
    with pytest.raises(UsageError, match="--port: out of range"):
        resolve_port(config_with(tmp_path, {}), 70000)


def test_bind_and_token_and_url(tmp_path):
    from openclaw_core.engine.wire.endpoint import is_loopback_host, resolve_bind, resolve_token, resolve_url
    from openclaw_core.adapters.gateway.server import resolve_bind_hosts

    config = config_with(tmp_path, {"gateway": {"auth": {"token": "from-config"}, "port": 19005}})
    assert resolve_bind(config) == "loopback" and resolve_bind_hosts("loopback") == ["127.0.0.1", "::1"]
    assert resolve_bind(config, "lan") == "lan" and resolve_bind_hosts("lan") == ["0.0.0.0"]
    assert resolve_bind(config, "[::1]") == "::1"
    assert resolve_bind(config_with(tmp_path, {"gateway": {"bind": "custom", "customBindHost": "127.0.0.5"}})) == "127.0.0.5"
    assert is_loopback_host("127.0.0.5") and is_loopback_host("::1") and not is_loopback_host("0.0.0.0")
    assert resolve_token(config) == "from-config"
    assert resolve_token(config_with(tmp_path, {"gateway": {"auth": {"token": "c"}}}, OPENCLAW_GATEWAY_TOKEN="env")) == "env"
    assert resolve_url(config) == "ws://127.0.0.1:19005"
    remote = config_with(tmp_path, {"gateway": {"mode": "remote", "remote": {"url": "wss://gw.example:443", "token": "r"}}})
    assert resolve_url(remote) == "wss://gw.example:443" and resolve_token(remote) == "r"


def test_sigint_stops_cleanly(tmp_path, free_port):
    import signal

    from gateway_support import handshake, request, start_gateway

    gw = start_gateway(tmp_path, free_port)
    ws, _ = handshake(gw.port)
    assert request(ws, "sessions.patch", {"key": "main", "label": "before-sigint"})["ok"]
    assert gw.stop(signal.SIGINT) == 0
    assert "[gateway] stopped" in gw.log()
    store = json.loads((tmp_path / "agents" / "main" / "sessions" / "sessions.json").read_text())
    assert store["agent:main:main"]["label"] == "before-sigint"
