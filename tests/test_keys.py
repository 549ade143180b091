"""Agent ids, session keys, ownership and the maintenance classification."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_core.base import keys
from openclaw_core.js.values import js_trim


@pytest.mark.parametrize(("raw", "normalized"), [
    ("main", "main"), ("  Work ", "work"), ("My Agent!", "my-agent"), ("агент✨", "main"), ("", "main"),
    ("../x", "x"), ("../../etc", "etc"), ("a/b", "a-b"), ("..", "main"), ("x" * 70, "x" * 64),
    ("-lead-", "lead"), ("a_b-c", "a_b-c"), (None, "main"), ("ok\ufeff", "ok"),
])
def test_normalize_agent_id(raw, normalized):
    assert keys.normalize_agent_id(raw) == normalized


def test_normalized_agent_id_is_always_a_single_safe_segment():
    for raw in ("../../..", "/etc/passwd", "a\\..\\b", "~root", ".", "a\x00b", "..%2f"):
        agent = keys.normalize_agent_id(raw)
        assert "/" not in agent and "\\" not in agent and agent not in (".", "..") and agent


def test_parse_agent_session_key():
    assert keys.parse_agent_session_key("agent:Main:Telegram:Group:5") == keys.AgentSessionKey("main", "telegram:group:5")
    assert keys.parse_agent_session_key("agent::main::main") == keys.AgentSessionKey("main", "main")
    for legacy in ("main", "cron:job1", "global", "agent:x", "", "agent:main:"):
        assert keys.parse_agent_session_key(legacy) is None


# Spec 7.3 and the reference cases 01 and 03.
PROTECTED = [
    ("agent:main:telegram:group:-100123", {}),
    ("agent:main:discord:channel:555", {}),
    ("agent:main:slack:direct:u1:thread:1700000000.000100", {}),
    ("agent:main:telegram:direct:42:topic:7", {}),
    ("agent:main:webchat:direct:dm-xyz", {"chatType": "group"}),
    ("agent:main:signal:direct:333", {"origin": {"chatType": "channel"}}),
    ("agent:main:Discord:GROUP:5", {}),
    ("cron:nightly", {"chatType": "group"}),  # bare cron keys are not synthetic
]
UNPROTECTED = [
    ("agent:main:main", {}), ("agent:main:telegram:direct:1", {}), ("cron:job1", {}),
    ("agent:main:cron:nightly", {"chatType": "group"}), ("agent:main:cron:x:thread:9", {}),
    ("hook:abc", {}), ("agent:main:hook:abc", {}), ("agent:main:heartbeat", {}),
    ("agent:main:telegram:group:9:heartbeat", {}), ("agent:main:x:heartbeat:y", {"chatType": "group"}),
    ("subagent:1", {}), ("agent:main:subagent:1", {"chatType": "channel"}), ("acp:x", {}),
    ("agent:main:acp:x", {}), ("agent:main:node:n1", {}),
]


@pytest.mark.parametrize(("key", "entry"), PROTECTED)
def test_protected_entries(key, entry):
    assert keys.is_protected_entry(key, entry)


@pytest.mark.parametrize(("key", "entry"), UNPROTECTED)
def test_unprotected_entries(key, entry):
    assert not keys.is_protected_entry(key, entry)


def test_synthetic_keys():
    for key in ("agent:main:cron:a", "agent:main:cron:a:run:b", "subagent:x", "acp:y", "agent:main:node:z",
                "agent:main:hook:h", "hook:h", "agent:main:heartbeat", "agent:w:discord:channel:77:heartbeat"):
        assert keys.is_synthetic_key(key), key
    for key in ("cron:nightly", "agent:main:main", "agent:main:telegram:group:1"):
        assert not keys.is_synthetic_key(key), key


def test_owner_agent_id():
    assert keys.owner_agent_id("agent:work:main", "main") == "work"
    assert keys.owner_agent_id("cron:bare-key", "work") == "work"
    assert keys.owner_agent_id("global", "main") is None
    assert keys.owner_agent_id("Unknown", "main") is None
    # agent:main:main belongs to the default agent when no agent called main exists
    assert keys.owner_agent_id("agent:main:main", "lead", default_agent_id="lead",
                               configured_agent_ids=frozenset({"lead", "ops"})) == "lead"
    assert keys.owner_agent_id("agent:main:main", "lead", default_agent_id="lead",
                               configured_agent_ids=frozenset({"lead", "main"})) == "main"


# --- the fast paths of the key parse (a listing parses every key of the store) ---------------

def _parse_as_specified(key: str | None) -> tuple[str, str] | None:
    # spec 3: trim, lower-case, drop empty segments; "agent", an id, a rest
    raw = keys.js_trim(key or "").lower()
    parts = [p for p in raw.split(":") if p]
    if len(parts) < 3 or parts[0] != "agent":
        return None
    agent_id = keys.js_trim(parts[1])
    return (agent_id, ":".join(parts[2:])) if agent_id else None


_key_pieces = st.sampled_from(["agent", "AGENT", "Agent", ":", "::", "main", "Work", " ", "\t", "\u00a0", "\ufeff",
                               "cron", "CRON:", "cron:", "group", ":group:", ":channel:", "İ", "ſ", "K", "x",
                               "global", "unknown", "agent:", "-1"])


_TRICKY_KEYS = ["agent:main::cron:x", "agent:main:cron:x ", "agent: main :x", "agent:main:CRON:1", "agent:İ:cron:x",
                " agent:main:x", "agent:main:x:", "agent::main:x", "agent:\t:x", "agent:main:cron", "AGENT:Main:cron:j",
                "agent:main:x::group:1", "agent:ops:telegram:group:-1", "agent:main:ſcron:x"]


@pytest.mark.parametrize("key", _TRICKY_KEYS)
@pytest.mark.parametrize("entry", [{}, {"chatType": "channel"}])
def test_tricky_keys_parse_and_classify_as_specified(key, entry):
    test_the_key_parse_and_agent_and_kind_follow_the_rule.hypothesis.inner_test(key, entry)


@settings(max_examples=3000, deadline=None)
@given(st.lists(_key_pieces, max_size=8).map("".join),
       st.sampled_from([{}, {"chatType": "group"}, {"chatType": "channel"}, {"chatType": "direct"}, {"chatType": 5}]))
def test_the_key_parse_and_agent_and_kind_follow_the_rule(key, entry):
    parsed = keys.parse_agent_session_key(key)
    assert (tuple(parsed) if parsed else None) == _parse_as_specified(key)
    assert keys.agent_and_kind(key, entry, "store") == (parsed.agent_id if parsed else "store",
                                                        keys.session_kind(key, entry, parsed=parsed))


# The rules as first written (split into segments, every test in turn): the oracle
# for the fast paths of keys._agent_rest and keys._is_synthetic.
def _rest_by_segments(lowered: str) -> str | None:
    parts = [p for p in lowered.split(":") if p]
    if len(parts) < 3 or parts[0] != "agent" or not js_trim(parts[1]):
        return None
    return ":".join(parts[2:])


def _synthetic_by_rules(lowered: str, rest: str | None) -> bool:
    if rest is not None and rest.startswith(("subagent:", "acp:", "cron:")):
        return True
    rest = lowered if rest is None else rest
    return (lowered.startswith(("subagent:", "acp:")) or rest.startswith(("hook:", "node:"))
            or rest == "heartbeat" or rest.endswith(":heartbeat") or ":heartbeat:" in rest)


_key_parts = st.sampled_from(["agent", "main", "", " ", "\u3000", "\ufeff", "cron", "subagent", "acp", "hook",
                              "node", "heartbeat", "x", "telegram", "group", "1", "agent:main", "Agent", " main "])


@settings(max_examples=1000, deadline=None)
@given(st.lists(_key_parts, max_size=6).map(":".join) | st.text(alphabet=":agent \u3000xcronhb", max_size=14))
def test_agent_rest_and_synthetic_fast_paths_follow_the_rules(key):
    lowered = js_trim(key).lower()
    rest = keys._agent_rest(lowered)
    assert rest == _rest_by_segments(lowered)
    assert keys._is_synthetic(lowered, rest) == _synthetic_by_rules(lowered, rest)
