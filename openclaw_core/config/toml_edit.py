"""Editing a user's ``openclaw.toml`` in place: the new config is applied to
the parsed file (tomlkit), so comments, key order, table style and blank
lines stay as the user wrote them and only what changed is rewritten.

Commands compute the new config as plain data; :func:`apply` turns the
difference into edits of the document: a removed key is deleted, a changed
value replaced, a new key appended to its table. Tables of an array (``[[agents.list]]``)
are matched to the new list by equality first, then by their ``id``, so
deleting or adding one agent leaves the others' text alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tomlkit
from tomlkit.items import AoT, Array, Table

_MISSING = object()


def same(a: Any, b: Any) -> bool:
    """Equal as config values: ``True`` is not ``1``, key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (Mapping, list)) or isinstance(b, (Mapping, list)):
        return False
    return type(a) is type(b) and a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


def plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def apply(container: Any, new: Mapping[str, Any], where: str, dropped: list[str]) -> None:
    """Make the tomlkit table/document ``container`` hold ``new`` (None values left out)."""
    for key in [k for k in container if k not in new or new[k] is None]:
        del container[key]
    for key, value in new.items():
        path = f"{where}.{key}" if where else key
        if value is None:
            dropped.append(path)
            continue
        old = container.get(key, _MISSING)
        if old is not _MISSING and same(plain(old), value):
            continue
        if isinstance(value, Mapping) and isinstance(old, (Table, Mapping)) and not isinstance(old, Array):
            apply(old, value, path, dropped)
        elif isinstance(value, list) and isinstance(old, AoT) and all(isinstance(v, Mapping) for v in value):
            _apply_tables(old, value, path, dropped)
        else:
            container[key] = _without_nulls(value, path, dropped)


def _apply_tables(aot: AoT, new: list[Mapping[str, Any]], where: str, dropped: list[str]) -> None:
    old = list(aot)
    used: set[int] = set()
    picks: list[int | None] = []
    for item in new:
        match = next((i for i, t in enumerate(old) if i not in used and same(plain(t), item)), None)
        if match is None and "id" in item:
            match = next((i for i, t in enumerate(old) if i not in used and same(plain(t.get("id")), item["id"])),
                         None)
        if match is not None:
            used.add(match)
        picks.append(match)
    if [p for p in picks if p is not None] != sorted(p for p in picks if p is not None):
        # Reordered: rebuild from the kept tables in the new order.
        kept = {p: old[p] for p in picks if p is not None}
        while len(aot):
            del aot[0]
        for index, (item, pick) in enumerate(zip(new, picks)):
            table = kept[pick] if pick is not None else tomlkit.item(_without_nulls(item, f"{where}.{index}", dropped))
            if pick is not None:
                apply(table, item, f"{where}.{index}", dropped)
            aot.append(table)
        return
    for i in reversed(range(len(old))):
        if i not in used:
            del aot[i]
    position = 0
    for index, (item, pick) in enumerate(zip(new, picks)):
        if pick is not None:
            apply(aot[position], item, f"{where}.{index}", dropped)
        else:
            table = tomlkit.item(_without_nulls(item, f"{where}.{index}", dropped))
            if position >= len(aot) and len(aot):
                # The new last table takes over the blank line that followed the list;
                # the previous last one gets one to separate them.
                last = aot[len(aot) - 1]
                if last.as_string().endswith("\n\n"):
                    table.add(tomlkit.nl())
                else:
                    last.add(tomlkit.nl())
            if position >= len(aot):
                aot.append(table)
            else:
                aot.insert(position, table)
        position += 1


def _without_nulls(value: Any, where: str, dropped: list[str]) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if item is None:
                dropped.append(f"{where}.{key}")
            else:
                out[key] = _without_nulls(item, f"{where}.{key}", dropped)
        return out
    if isinstance(value, list):
        from openclaw_core.base.errors import ConfigError

        if any(item is None for item in value):
            raise ConfigError(f"{where}: a list with null items cannot be written as TOML")
        return [_without_nulls(item, f"{where}.{i}", dropped) for i, item in enumerate(value)]
    return value


def edit(text: str, new: Mapping[str, Any]) -> tuple[str, list[str]]:
    """``text`` (a TOML file) changed to hold ``new``; and the keys TOML could not hold."""
    document = tomlkit.parse(text)
    dropped: list[str] = []
    apply(document, new, "", dropped)
    return tomlkit.dumps(document), dropped
