"""Our Gateway replays the config.*/agents.create/agents.update steps the real
2026.5.4 Gateway answered (tests/fixtures/gateway-config/, recorded by
``OPENCLAW_RECORD_GATEWAY_CONFIG=1 pytest tests/test_gateway_config_interop.py``)
and answers the same: payload or error message, and the same config file after
each step. Needs no reference install, only the experiment's case.json."""

from __future__ import annotations

import hashlib
import json

import pytest

from gateway_config_steps import (
    CASE,
    FIXTURES,
    SAME,
    STEPS,
    TOKEN,
    error_line,
    lookup_shape,
    normalise,
    schema_keys,
    with_hash,
)
from gateway_support import handshake, request, start_gateway

pytestmark = [
    pytest.mark.skipif(not (CASE / "case.json").exists(), reason=f"{CASE} (the recorded experiment) is missing"),
    pytest.mark.skipif(not (FIXTURES / "get.json").exists(), reason=f"no recorded answers in {FIXTURES}"),
]


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """{step: (answer as the CLI shows it, config after)} from our Gateway."""
    import subprocess
    import sys

    from conftest import REFERENCE, THIRD_PARTY, _free_port

    home = tmp_path_factory.mktemp("config-replay") / "home"
    (home / ".openclaw").mkdir(parents=True)
    subprocess.run([sys.executable, str(REFERENCE / "tools" / "build_case.py"), str(CASE / "case.json"),
                    str(home / ".openclaw"), "--home", str(home)], check=True, capture_output=True)
    config = home / ".openclaw" / "openclaw.json"
    # Module-scoped: set up before the per-test isolation, so the Gateway's env is given whole.
    gw = start_gateway(home / ".openclaw", _free_port(), token=None,
                       extra_env={"OPENCLAW_STATE_DIR": "", "OPENCLAW_HOME": "", "HOME": str(home),
                                  "XDG_DATA_HOME": str(home / ".local" / "share"),
                                  "OPENCLAW_DISABLE_PLUGINS": THIRD_PARTY})
    results = {}
    try:
        for name, method, params in STEPS:
            ws, hello = handshake(gw.port, token=TOKEN)
            assert hello["ok"], hello
            try:
                reply = request(ws, method, with_hash(params, hashlib.sha256(config.read_bytes()).hexdigest()))
            finally:
                ws.close()
            answer = {"rc": 0 if reply["ok"] else 1,
                      "payload": normalise(reply["payload"], home) if reply["ok"] else None,
                      # the CLI prints an error as `Gateway call failed: GatewayClientRequestError: <message>`
                      "error": "" if reply["ok"] else
                      error_line(f"Gateway call failed: GatewayClientRequestError: {reply['error']['message']}")}
            results[name] = (answer, normalise(json.loads(config.read_text()), home))
    finally:
        gw.stop()
    return results


def _recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.mark.parametrize("step", SAME)
def test_answers_and_config_file_as_recorded(replay, step):
    answer, config_after = replay[step]
    recorded = _recorded(step)
    assert answer == {k: recorded[k] for k in ("rc", "payload", "error")}
    assert config_after == recorded["configAfter"]


def test_schema_keys_as_recorded_where_we_are_strict(replay):
    from openclaw_core.config.schema import declared_sections

    answer, _ = replay["schema"]
    recorded = _recorded("schema")["payload"]
    assert sorted(answer["payload"]) == recorded["keys"]
    ours = schema_keys(answer["payload"]["schema"])
    ours_only = {"": {"$schema"}, "session": {"backend"}}
    for dotted in declared_sections(__import__("openclaw_core.app").app.hooks()):  # our plugins' sections (plugins.retentionPins, session.postgres ...)
        parent, _, name = dotted.rpartition(".")
        ours_only.setdefault(parent, set()).add(name)
    for dotted, keys in recorded["schemaKeys"].items():
        assert set(ours[dotted]) - ours_only.get(dotted, set()) == set(keys), dotted
    # Every secret the reference marks in what we are strict about, we mark too.
    ours_sensitive = {k for k, v in answer["payload"]["uiHints"].items() if v.get("sensitive")}
    strict = [p for p in recorded["sensitive"] if p.split(".")[0] in ("gateway", "session")]
    assert set(strict) <= ours_sensitive, set(strict) - ours_sensitive


@pytest.mark.parametrize("step", ["lookup", "lookup-list"])
def test_schema_lookup_as_recorded(replay, step):
    answer, _ = replay[step]
    assert lookup_shape(answer["payload"]) == _recorded(step)["payload"]
