"""normalize_delivery's shortcut for settled entries (normalize._delivery_settled)
changes nothing it computes: the same answer and the same entry, key order
included, as the full derivation, on entries built around the settled shape."""

from __future__ import annotations

import copy
import random

import pytest

from openclaw_core.engine.store import normalize
from openclaw_core.engine.store.normalize import UNDEFINED, normalize_delivery

CHANNELS = ["telegram", "Telegram", " telegram", "telegram ", "", "teams", "msteams", "元宝", "yuanbao", None, 5,
            UNDEFINED]
TOS = ["123", " 123", "123\u00a0", "", None, 7, "a b", UNDEFINED]
ACCOUNTS = [None, "acc", "Acc", " a ", "", UNDEFINED]
THREADS = [None, 1, 1.5, "t", "", True, UNDEFINED]
_ABSENT = object()


def _settled(rng: random.Random) -> dict:
    channel = rng.choice(["telegram", "discord", "whatsapp"])
    to = rng.choice(["123", "-1001", None])
    context = {"channel": channel} if to is None else {"channel": channel, "to": to}
    if rng.random() < 0.3:
        context = dict(reversed(list(context.items())))
    if rng.random() < 0.2:
        context["extra"] = "kept"
    entry = {"sessionId": "s", "updatedAt": 1, "deliveryContext": context, "lastChannel": channel}
    if to is not None:
        entry["lastTo"] = to
    if rng.random() < 0.3:
        entry["channel"] = rng.choice(["telegram", "other", "  "])
    if rng.random() < 0.3:
        entry["origin"] = rng.choice([{"chatType": "group"}, {"threadId": None}, "x", None])
    return entry


def _perturb(entry: dict, rng: random.Random) -> None:
    context = entry.get("deliveryContext")
    if isinstance(context, dict) and rng.random() < 0.3:
        # The same odd value on both sides: the shortcut must still look at it.
        (inner, outer), pool = rng.choice([(("channel", "lastChannel"), CHANNELS), (("to", "lastTo"), TOS),
                                           (("accountId", "lastAccountId"), ACCOUNTS),
                                           (("threadId", "lastThreadId"), THREADS)])
        context[inner] = entry[outer] = rng.choice(pool)
        return
    field, pool = rng.choice([
        (("ctx", "channel"), CHANNELS), (("ctx", "to"), TOS), (("ctx", "accountId"), ACCOUNTS),
        (("ctx", "threadId"), THREADS), (("entry", "lastChannel"), CHANNELS), (("entry", "lastTo"), TOS),
        (("entry", "lastAccountId"), ACCOUNTS), (("entry", "lastThreadId"), THREADS),
        (("entry", "channel"), CHANNELS), (("entry", "origin"), [{"threadId": 3}, {"threadId": "t"}, [], None]),
        (("entry", "deliveryContext"), [None, "x", [], {}, {"to": "1"}, UNDEFINED]),
    ])
    target = context if field[0] == "ctx" and isinstance(context, dict) else entry
    value = rng.choice([*pool, _ABSENT])
    if value is _ABSENT:
        target.pop(field[1], None)
    else:
        target[field[1]] = value


@pytest.mark.parametrize("keep_slots", [True, False])
def test_the_shortcut_answers_as_the_full_derivation(monkeypatch, keep_slots):
    rng = random.Random(1405)
    taken = 0
    for i in range(6000):
        entry = _settled(rng)
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            _perturb(entry, rng)
        # (the memo keeps UNDEFINED the one sentinel it is)
        fast = copy.deepcopy(entry, {id(UNDEFINED): UNDEFINED})
        slow = copy.deepcopy(entry, {id(UNDEFINED): UNDEFINED})
        taken += normalize._delivery_settled(fast)
        fast_changed = normalize_delivery(fast, keep_slots=keep_slots)
        with monkeypatch.context() as m:
            m.setattr(normalize, "_delivery_settled", lambda e: False)
            slow_changed = normalize_delivery(slow, keep_slots=keep_slots)
        assert (fast_changed, fast, list(fast)) == (slow_changed, slow, list(slow)), entry
        if isinstance(fast.get("deliveryContext"), dict):
            assert list(fast["deliveryContext"]) == list(slow["deliveryContext"]), entry
    assert 1500 < taken < 5000  # both paths were exercised
