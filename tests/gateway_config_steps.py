"""The config.*/agents.create/agents.update steps run against the reference's Gateway
and ours (tests/test_gateway_config_interop.py) and replayed against ours from the
recorded answers (tests/test_gateway_config_fixtures.py, tests/fixtures/gateway-config/),
and how their results are normalised."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import REFERENCE

CASE = REFERENCE / "cases" / "30-gateway"
FIXTURES = Path(__file__).parent / "fixtures" / "gateway-config"
REDACTED = "__OPENCLAW_REDACTED__"
TOKEN = "oracle-test-token-0123456789"  # the experiment's gateway.auth.token
HASH = "$HASH"  # in params: the SHA-256 of the config file when the step starts


def full_config(**maintenance: object) -> dict:
    """The experiment's config as a client edits what config.get showed it (token redacted)."""
    if not (CASE / "case.json").exists():  # the tests that replay it skip (pytestmark); their module still imports
        return {}
    config = json.loads((CASE / "case.json").read_text())["config"]
    config["gateway"]["auth"]["token"] = REDACTED
    config["session"]["maintenance"].update(maintenance)
    return config


# The first call is an admin one: the reference pairs the CLI's device with the scopes
# of its first connection and holds a later upgrade for approval.
STEPS: list[tuple[str, str, dict | None]] = [
    ("schema", "config.schema", None),
    ("get", "config.get", None),
    ("lookup", "config.schema.lookup", {"path": "session.maintenance"}),
    ("lookup-list", "config.schema.lookup", {"path": "agents.list"}),
    ("lookup-missing", "config.schema.lookup", {"path": "nope.x"}),
    ("set-no-hash", "config.set", {"raw": "{}"}),
    ("set-stale-hash", "config.set", {"raw": "{}", "baseHash": "abc"}),
    ("set-extra-param", "config.set", {"raw": "{}", "baseHash": HASH, "bogus": 1}),
    ("patch-invalid", "config.patch", {"raw": json.dumps({"session": {"bogus": 1}}), "baseHash": HASH}),
    ("patch", "config.patch", {"raw": json.dumps({"session": {"maintenance": {"mode": "enforce", "maxEntries": None}},
                                                  "agents": {"list": [{"id": "lab", "name": "Lab"}]}}),
                               "baseHash": HASH}),
    ("patch-noop", "config.patch", {"raw": json.dumps({"session": {"maintenance": {"mode": "enforce"}}}),
                                    "baseHash": HASH}),
    ("patch-rate-limited", "config.patch", {"raw": "{}", "baseHash": HASH}),
    ("set", "config.set", {"raw": json.dumps(full_config(maxEntries=5)), "baseHash": HASH}),
    ("create", "agents.create", {"name": "Scout", "workspace": "~/ws-scout", "emoji": "x"}),
    ("create-again", "agents.create", {"name": "scout", "workspace": "~/ws-scout"}),
    ("create-main", "agents.create", {"name": "main", "workspace": "~/ws-main"}),
    ("create-no-workspace", "agents.create", {"name": "x"}),
    ("update", "agents.update", {"agentId": "Scout", "model": "openai/gpt-5", "name": "Scouty"}),
    ("update-unknown", "agents.update", {"agentId": "nope"}),
    ("get-after", "config.get", None),
]
#: Compared whole; the schema and lookups carry the reference's prose (labels, help), compared by shape.
SAME = [name for name, _, _ in STEPS if name not in ("schema", "lookup", "lookup-list")]
#: Where the schema is strict, the objects whose keys are compared.
STRICT_PATHS = ("", "session", "session.maintenance", "gateway", "gateway.auth", "gateway.remote", "agents",
                "agents.defaults", "agents.list.*", "plugins")


def cli_argv(method: str, params: dict | None) -> list[str]:
    argv = ["gateway", "call", method, "--json"]
    if params is not None:
        argv += ["--params", json.dumps(params)]
    return argv


def with_hash(params: dict | None, digest: str) -> dict | None:
    if params is None:
        return None
    return {k: (digest if v == HASH else v) for k, v in params.items()}


def normalise(value: Any, home: Path) -> Any:
    """The home dir as ``$HOME``; hashes, times and stamps as ``<name>``."""
    value = json.loads(json.dumps(value).replace(str(home), "$HOME"))

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: (f"<{k}>" if k in ("hash", "ts", "lastTouchedAt", "generatedAt") and v is not None
                        else walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(value)


def error_line(message: str) -> str:
    return re.sub(r"retry after \d+s", "retry after Ns", message)


def schema_keys(schema: dict) -> dict[str, list[str]]:
    """The property names of the strict objects (the schema itself is 2.9 MB of prose)."""
    out = {}
    for dotted in STRICT_PATHS:
        node = schema
        for part in dotted.split(".") if dotted else []:
            node = node["items"] if part == "*" else node["properties"][part]
        out[dotted] = sorted(node["properties"])
    return out


def lookup_shape(payload: dict) -> dict:
    return {"path": payload["path"], "type": payload["schema"].get("type"),
            "children": [[c["key"], c["path"], c.get("type"), c["required"], c["hasChildren"]]
                         for c in payload["children"]]}
