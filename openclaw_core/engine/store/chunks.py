"""One entry's encoded JSON (a *chunk*: its member text as the store file holds
it), encoded and decoded, and the lazy read-only entry that decodes its
nested fields from the chunk only when asked."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import orjson

from openclaw_core.js import json as jsjson
from openclaw_core.engine.store.normalize import NORMALIZED_FIELDS, normalize_loaded_entry

_MISSING = object()
# The scalars a lazy entry keeps. A float is decoded when asked, like a nested
# value: a full load holds an integral one as an int (its encoding canonicalises it).
_KEPT_TYPES = frozenset({str, int, bool, type(None)})


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC while a store is decoded: parsed JSON holds no cycles, and
    the collector would otherwise walk the millions of new objects of a big
    store again and again (about a sixth of a 100,000-entry load)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class LazyEntry(Mapping[str, Any]):
    """An entry of a lazily loaded store (:meth:`StoreState.parse` with ``lazy``):
    a read-only mapping that keeps only the entry's top-level strings, integers,
    booleans and nulls and decodes the rest from its chunk when asked (nothing is
    cached).

    Fields the load normalisation may change (``NORMALIZED_FIELDS``) are always
    read from a freshly decoded and normalised copy, and what is decoded is put in
    the form a full load holds (integer-like keys first, integral floats as ints),
    so a lazy entry shows exactly what a fully loaded one would, whatever wrote
    the file. Iterating it decodes it.
    """

    __slots__ = ("_chunk", "_offset", "_scalars", "_nested")

    def __init__(self, chunk: bytes, offset: int, scalars: dict[str, Any], nested: tuple[str, ...]) -> None:
        self._chunk = chunk
        self._offset = offset
        self._scalars = scalars
        self._nested = nested

    @classmethod
    def of_parsed(cls, chunk: bytes, offset: int, parsed: dict[str, Any]) -> LazyEntry:
        """The lazy entry of ``chunk`` (its entry's JSON from ``offset`` on), given
        that entry as parsed: its top-level strings, integers, booleans and nulls
        kept, its other fields (objects, arrays, floats) named."""
        scalars: dict[str, Any] = {}
        nested: list[str] = []
        for name, value in parsed.items():
            if name in NORMALIZED_FIELDS:
                continue
            if type(value) in _KEPT_TYPES:
                scalars[name] = value
            else:
                nested.append(name)
        return cls(chunk, offset, scalars, tuple(nested))

    def materialize(self) -> dict[str, Any]:
        """The entry as a full load gives it (normalised), a fresh object."""
        return _js_form(self.to_encode())

    def to_encode(self) -> dict[str, Any]:
        """The entry normalised, numbers and key order still as parsed, a fresh
        object: what the store's verify encodes (the encoder puts them in JS's
        form, and skips the canonicalize walk when orjson's text already is)."""
        entry = self._decoded()
        normalize_loaded_entry(entry)
        return entry

    def _decoded(self) -> dict[str, Any]:
        return orjson.loads(memoryview(self._chunk)[self._offset:])

    def __getitem__(self, key: str) -> Any:
        if key in NORMALIZED_FIELDS:
            return _js_form(self.to_encode()[key])
        value = self._scalars.get(key, _MISSING)
        if value is not _MISSING:
            return value
        if key in self._nested:
            return _js_form(self._decoded()[key])
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        # Mapping.get's answer in one call: policies ask every entry for a field or two.
        # The scalars never hold a normalised field (of_parsed), so a hit answers at once.
        value = self._scalars.get(key, _MISSING)
        if value is not _MISSING:
            return value
        if key in NORMALIZED_FIELDS:
            entry = self.to_encode()
            return _js_form(entry[key]) if key in entry else default
        if key in self._nested:
            return _js_form(self._decoded()[key])
        return default

    def __contains__(self, key: object) -> bool:
        if key in NORMALIZED_FIELDS:
            return key in self.to_encode()
        return key in self._scalars or key in self._nested

    def __iter__(self) -> Iterator[str]:
        return iter(self.materialize())

    def __len__(self) -> int:
        return len(self.to_encode())

    def __repr__(self) -> str:
        return f"LazyEntry({self.materialize()!r})"


def _js_form(value: Any) -> Any:
    """``value`` (fresh from the parser) as a full load holds it once encoded:
    :func:`jsjson.canonicalize` in place. A value nested too deeply for that
    stays as parsed (a commit that keeps its entry refuses it: verify)."""
    try:
        return jsjson.canonicalize(value)[0]
    except RecursionError:
        return value


def encode_chunk(key: str, entry: dict[str, Any], *, parsed: bool = False) -> bytes:
    """The lines one entry occupies in sessions.json, without the separator.
    ``parsed``: the entry is as a JSON parser gave it (then normalised), so
    orjson may write it without the canonicalize walk."""
    body = jsjson.dumps_parsed_pretty(entry) if parsed else None
    if body is None:
        body = jsjson.dumps_pretty(entry)
    return b"  " + jsjson.js_string(key).encode("utf-8") + b": " + body.replace(b"\n", b"\n  ")


def decode_chunk(chunk: bytes) -> dict[str, Any]:
    """The entry back from its chunk (a fresh object)."""
    return jsjson.loads(_key_end_body(chunk))


def _key_end_body(chunk: bytes) -> bytes:
    # The key is a JSON string; find its closing quote, honouring escapes.
    i = 3
    while True:
        ch = chunk[i]
        if ch == 0x5C:  # backslash
            i += 2
            continue
        if ch == 0x22:
            return chunk[i + 3:]
        i += 1
