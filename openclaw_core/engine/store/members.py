"""The lazy load's reading of a store file in the 2-space layout: the text of
each top-level member (its *chunk*) and its entry as a :class:`LazyEntry`,
without a parse of the whole file (see :meth:`StoreState.parse`).

In 2-space JSON ``,\n  "`` only ever starts a top-level member (a string holds
no raw newline, a nested member is indented further), and a wrong split cannot
yield pieces that each parse, so any surprise is a None: the full parse then
reads the file, or refuses it.
"""

from __future__ import annotations

from typing import Any

import orjson

from openclaw_core.base.lazy_re import lazy_compile
from openclaw_core.engine.store.chunks import LazyEntry

# A top-level member's key as the 2-space layout writes it (after its opening
# quote, up to its value), escapes included; the separator before every member
# but the first.
_ANY_KEY = rb'((?:[^"\\\n]|\\.)*)": '
_MEMBER_SEPARATOR = b',\n  "'
# The file whose keys hold an escape is read by pattern (escaped_members): the
# first member's key, and every later member with its separator.
_FRAMED_KEY = lazy_compile(b'  "' + _ANY_KEY)
_MEMBER_ESCAPED = lazy_compile(_MEMBER_SEPARATOR + _ANY_KEY)
# Where a member after the first starts: the pieces of a split are the chunks.
_MEMBER_START = lazy_compile(rb',\n(?=  ")')
_SKIPPED = object()  # a key holds an escape (split_members), a piece a member the pattern skipped


def lazy_members(raw: bytes) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """(entries, chunks) of a file the lazy load takes, in file order; None otherwise."""
    if not (raw.startswith(b'{\n  "') and raw.endswith(b"\n  }\n}")):
        return None
    # A split where every member starts finds them; a key with an escape may
    # hold '": ', so such a file is read by the escape-aware pattern.
    members = split_members(raw)
    if members is _SKIPPED:
        members = escaped_members(raw)
    if members is None or members is _SKIPPED:
        return None
    return members  # type: ignore[return-value]


def split_members(raw: bytes) -> tuple[dict[str, Any], dict[str, bytes]] | object | None:
    """Entries and chunks of the file's members: a split where each member
    after the first starts gives the chunks themselves (one copy of the
    file's bytes, no slices of it after a scan); None when the file is not
    one the lazy load takes, _SKIPPED when a key holds an escape (then its
    '": ' may not end it)."""
    pieces = _MEMBER_START.split(raw)
    pieces[0] = pieces[0][2:]  # after '{\n'
    pieces[-1] = pieces[-1][:-2]  # before '\n}'
    return _read_members(pieces, None)


def escaped_members(raw: bytes) -> tuple[dict[str, Any], dict[str, bytes]] | object | None:
    """:func:`split_members` of a file whose keys may hold escapes, by pattern;
    _SKIPPED when a piece that does not parse holds a separator the pattern did
    not take (a member whose key it cannot read)."""
    first = _FRAMED_KEY.match(raw, 2)
    if first is None:
        return None
    # (member start, value start, key bytes); a member ends where the next one's separator starts
    spans = [(2, first.end(), first.group(1))]
    spans += [(found.start() + 2, found.end(), found.group(1)) for found in _MEMBER_ESCAPED.finditer(raw)]
    stops = [start - 2 for start, _, _ in spans[1:]]
    stops.append(len(raw) - 2)
    chunks = [raw[start:stop] for (start, _, _), stop in zip(spans, stops)]
    return _read_members(chunks, [(value_at - start, key_bytes) for start, value_at, key_bytes in spans])


def _read_members(chunks: list[bytes], keys: list[tuple[int, bytes]] | None,
                  ) -> tuple[dict[str, Any], dict[str, bytes]] | object | None:
    """Entries and chunks of ``chunks``, each a member's text; ``keys`` gives each
    one's (value offset, key bytes) as a pattern read them, else each key is the
    text up to the first '": ' (a key with an escape is then _SKIPPED). None when
    a member is not one the lazy load takes, _SKIPPED when one that does not parse
    holds a separator (a member its reader did not take)."""
    entries: dict[str, Any] = {}
    by_key: dict[str, bytes] = {}
    loads, of_parsed = orjson.loads, LazyEntry.of_parsed
    for index, chunk in enumerate(chunks):
        if keys is None:
            end = chunk.find(b'": ', 3)  # after the '  "' a member starts with
            key_bytes = chunk[3:end]
            if b"\\" in key_bytes:
                return _SKIPPED
            if end < 0 or b'"' in key_bytes:  # not the 2-space layout
                return None
            offset = end + 3
        else:
            offset, key_bytes = keys[index]
        try:
            # A plain key is its UTF-8; one with an escape or a character that
            # is not printable (a raw control character makes the file invalid
            # JSON, which the full parse refuses) is orjson's to decode or refuse.
            key = key_bytes.decode("utf-8")
            if b"\\" in key_bytes or not key.isprintable():
                key = loads(b'"' + key_bytes + b'"')
            entry = loads(memoryview(chunk)[offset:])
        except (UnicodeDecodeError, orjson.JSONDecodeError):
            return _SKIPPED if _MEMBER_SEPARATOR in chunk else None
        if type(entry) is not dict or key in entries:
            return None
        entries[key] = of_parsed(chunk, offset, entry)
        by_key[key] = chunk
    return entries, by_key
