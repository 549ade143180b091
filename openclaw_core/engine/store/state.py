"""The in-memory store a writer owns, and the view a mutation borrows.

:class:`StoreState` keeps the entries (JS key order) next to the encoded
chunk of each one, so a commit re-encodes only the entries a mutation
touched and joins the rest: a patch costs O(entry) in CPU, not O(store).

:class:`MutationView` is the mapping a mutator receives. It is the live
store, not a copy; it records which keys were read for writing, added or
deleted, so a failed mutation can be undone from the encoded chunks and a
successful one re-encodes just those keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import orjson

from openclaw_core.js import json as jsjson
from openclaw_core.base.errors import StoreCorruptError
from openclaw_core.base.record import Record
from openclaw_core.base.keys import store_key
from openclaw_core.engine.store.normalize import normalize_entry, normalize_loaded_entry
from openclaw_core.engine.store.chunks import LazyEntry, decode_chunk, encode_chunk, gc_paused
from openclaw_core.engine.store.members import lazy_members

_MISSING = object()
_ACP = b'"acp"'


class ChangeSet(Record):
    """What one commit changes: keys written (with their chunks) and keys removed.

    ``appended`` lists, in store order, the upserted keys that were inserted at
    the end of the store (new keys, and keys deleted and set again): a backend
    that keeps the store's order per row gives them new positions; every other
    upserted key keeps its place.
    """

    __slots__ = ("upserted", "removed", "appended")

    def __init__(self, upserted: dict[str, bytes] | None = None, removed: set[str] | None = None,
                 appended: dict[str, None] | None = None) -> None:
        self.upserted: dict[str, bytes] = {} if upserted is None else upserted
        self.removed: set[str] = set() if removed is None else removed
        self.appended: dict[str, None] = {} if appended is None else appended

    def __bool__(self) -> bool:
        return bool(self.upserted or self.removed)

    def merge(self, other: ChangeSet) -> None:
        for key in other.removed:
            self.upserted.pop(key, None)
            self.appended.pop(key, None)
        self.removed |= other.removed
        for key, chunk in other.upserted.items():
            self.removed.discard(key)
            self.upserted[key] = chunk
        for key in other.appended:
            self.appended.pop(key, None)  # re-inserted again: it moves to the end again
            self.appended[key] = None


class StoreState:
    """Validated entries plus their encoded chunks; owned by one writer."""

    def __init__(self, entries: dict[str, dict[str, Any]], chunks: dict[str, bytes],
                 version: Any = None, on_disk_matches: bool = True, exists: bool = True) -> None:
        self.entries = entries
        self.chunks = chunks
        self.version = version
        # Lazily loaded stores (parse(..., lazy=True)): keys whose entry is still a
        # LazyEntry, and keys whose chunk is the stored text, not yet re-encoded.
        self.lazy: set[str] = set()
        self.unverified: set[str] = set()
        self.loaded_lazily = False
        self.source = ""  # where a lazily loaded store came from (verify's errors name it)
        # False when the stored bytes differ from our canonical text (migrated,
        # normalised, or not in canonical format): the next commit writes.
        self.on_disk_matches = on_disk_matches
        self.exists = exists
        # Keys that are not trimmed lower-case: the only ones an entry update
        # has to consider as case variants of the key it writes.
        self.noncanonical_keys = {k for k in entries if k != store_key(k)}
        # Keys changed (or removed, or moved) in memory since ``version`` was
        # stored; the writer clears it after a commit. A backend's index cannot
        # know these yet (see StoreBackend.stale_keys).
        self.unsaved: set[str] = set()

    @classmethod
    @gc_paused()
    def from_entries(cls, entries: Mapping[str, Any], *, source: str, version: Any = None,
                     raw: bytes | None = None, exists: bool = True) -> StoreState:
        """Validate, migrate, normalise and encode a parsed store."""
        if not isinstance(entries, dict):
            raise StoreCorruptError(source, f"top level is {jsjson.a_json_type(entries)}, not an object")
        data: dict[str, dict[str, Any]] = {}
        order = jsjson.js_key_order(list(entries))
        for key in order or entries:
            entry = entries[key]
            if not isinstance(entry, dict):
                raise StoreCorruptError(source, f'entry {jsjson.js_string(key)} is {jsjson.a_json_type(entry)}, not an object')
            data[key] = entry
        chunks: dict[str, bytes] = {}
        for key, entry in data.items():
            normalize_loaded_entry(entry)
            try:
                chunks[key] = encode_chunk(key, entry, parsed=True)
            except jsjson.JSONError as exc:
                raise StoreCorruptError(source, f'entry {jsjson.js_string(key)}: {exc}') from None
        state = cls(data, chunks, version, exists=exists)
        state.on_disk_matches = raw is not None and state.text_equals(raw)
        return state

    @property
    def on_disk_matches(self) -> bool:
        if self.unverified:
            self.verify_all()  # a lazy store knows only once its chunks are re-encoded
        return self._on_disk_matches

    @on_disk_matches.setter
    def on_disk_matches(self, value: bool) -> None:
        self._on_disk_matches = value

    def verify(self, key: str) -> None:
        """Re-encode a lazily loaded entry; its chunk becomes the canonical one."""
        if key not in self.unverified:
            return
        value = self.entries[key]
        lazy = type(value) is LazyEntry
        entry = value.to_encode() if lazy else value
        stored = self.chunks[key]
        try:
            chunk = encode_chunk(key, entry, parsed=lazy)
        except jsjson.JSONError as exc:  # parsed, but cannot be written back (nested too deeply)
            raise StoreCorruptError(self.source, f'entry {jsjson.js_string(key)}: {exc}') from None
        if chunk != stored:
            self.chunks[key] = chunk
            self._on_disk_matches = False
        self.unverified.discard(key)

    def verify_all(self) -> None:
        for key in list(self.unverified):
            self.verify(key)

    @classmethod
    @gc_paused()
    def parse(cls, raw: bytes, *, source: str, version: Any = None, lazy: bool = False) -> StoreState:
        """Strict parse of sessions.json bytes; never reads a bad file as ``{}``.

        With ``lazy``, a file in the canonical 2-space layout is split into its
        entries' chunks and each entry is kept as a :class:`LazyEntry`: load time
        and memory stay near the file's size, and only the entries a commit keeps
        are ever normalised and re-encoded (``sessions cleanup`` of a big store).
        Anything unusual falls back to the full parse, which decides."""
        if lazy:
            state = cls._parse_lazy(raw, version, source)
            if state is not None:
                return state
        if not raw.strip():
            raise StoreCorruptError(source, "the file is empty")
        try:
            parsed = jsjson.loads(raw)
        except jsjson.JSONError as exc:
            raise StoreCorruptError(source, f"not valid JSON ({exc})") from None
        return cls.from_entries(parsed, source=source, version=version, raw=raw)

    @staticmethod
    @gc_paused()
    def parse_entries(raw: bytes | bytearray, *, source: str,
                      normalize: Callable[[dict[str, Any]], Any] = normalize_loaded_entry,
                      padded: bool = False) -> dict[str, dict[str, Any]]:
        """The entries of sessions.json bytes for a reader that neither keeps nor
        writes them: validated like :meth:`parse`, top-level keys in JS order, each
        entry passed through ``normalize`` (a reader of a few fields may pass what
        normalises just those), but not canonicalised nor encoded: a listing
        of a big store skips the work only a later commit needs. Numbers and nested
        key order are as parsed (:func:`jsjson.dumps_pretty` puts them in JS form).
        Anything unusual (and every error) goes through the full :meth:`parse`.

        ``padded``: ``raw`` is the file's bytes inside :data:`DEPTH_PAD` brackets
        (:func:`depth_padded`; the file store reads into such a buffer); other
        bytes are copied into them."""
        parsed = _parsed_padded(raw if padded else depth_padded(raw))
        if type(parsed) is not dict or any(type(entry) is not dict for entry in parsed.values()):
            text = bytes(memoryview(raw)[DEPTH_PAD:len(raw) - DEPTH_PAD]) if padded else bytes(raw)
            return StoreState.parse(text, source=source).entries
        order = jsjson.js_key_order(list(parsed))
        if order is not None:
            parsed = {key: parsed[key] for key in order}
        for entry in parsed.values():
            normalize(entry)
        return parsed

    @classmethod
    def _parse_lazy(cls, raw: bytes, version: Any, source: str = "") -> StoreState | None:
        members = lazy_members(raw)
        if members is None:
            return None
        entries, chunks = members
        if jsjson.js_key_order(list(entries)) is not None:
            return None
        state = cls(entries, chunks, version)
        state.lazy = set(entries)
        state.unverified = set(entries)
        state.loaded_lazily = True
        state.source = source
        return state

    @classmethod
    def missing(cls, version: Any = None) -> StoreState:
        return cls({}, {}, version, on_disk_matches=False, exists=False)

    def text(self) -> bytes:
        """sessions.json exactly as the reference writes it (no trailing newline)."""
        if self.unverified:
            self.verify_all()
        if not self.entries:
            return b"{}"
        chunks = self.chunks
        return b"{\n" + b",\n".join([chunks[k] for k in self.entries]) + b"\n}"

    def text_parts(self) -> list[bytes]:
        """:meth:`text` as a list of pieces to hand to ``os.writev``: no multi-MB
        join and copy on every commit."""
        if self.unverified:
            self.verify_all()
        if not self.entries:
            return [b"{}"]
        chunks = self.chunks
        parts = [b",\n"] * (2 * len(self.entries) + 1)  # separators in the even slots
        parts[1::2] = [chunks[key] for key in self.entries]
        parts[0] = b"{\n"
        parts[-1] = b"\n}"
        return parts

    def text_equals(self, raw: bytes) -> bool:
        """``text() == raw`` without building the text (a big store's load
        would otherwise hold a second copy of the file)."""
        parts = self.text_parts()
        if sum(map(len, parts)) != len(raw):
            return False
        starts, pos = raw.startswith, 0
        for part in parts:
            if not starts(part, pos):
                return False
            pos += len(part)
        return True

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Fresh copies of every entry (for read-only callers)."""
        if self.unverified:
            self.verify_all()
        return {key: decode_chunk(chunk) for key, chunk in ((k, self.chunks[k]) for k in self.entries)}


class MutationView(MutableMapping[str, dict[str, Any]]):
    """The live store as one mutation sees it.

    ``store[key]`` returns the entry itself (mutate it in place) and marks the
    key changed; so does assignment and deletion. Iterating keys, ``len``,
    ``in`` and the ``peek*`` methods mark nothing: use them to look without
    touching. ``items()``/``values()`` mark every key they yield.
    """

    def __init__(self, state: StoreState, allow_drop_acp: frozenset[str] = frozenset()) -> None:
        self._state = state
        self._data = state.entries
        self._touched: set[str] = set()
        self._original_order: list[str] | None = None
        self._appended: dict[str, None] = {}  # keys inserted at the end, in order
        self._lazy_originals: dict[str, LazyEntry] = {}  # lazy entries this mutation replaced
        self._allow_drop_acp = allow_drop_acp
        self.closed = False
        #: set by :meth:`cancel_save`: this mutation asks for no write of its own
        self.save_cancelled = False

    # -- reading without touching -----------------------------------------------------------

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def peek(self, key: str, default: Any = None) -> Any:
        """The entry without marking it changed. Do not modify what it returns."""
        return self._data.get(key, default)

    def peek_items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every (key, entry) without marking anything. Do not modify the entries."""
        return iter(list(self._data.items()))

    def chunk_size(self, key: str) -> int:
        """Encoded size of an unchanged entry (for the disk budget's projection)."""
        if key in self._state.unverified and key not in self._touched:
            self._state.verify(key)
        chunk = self._state.chunks.get(key)
        return len(chunk) if chunk is not None and key not in self._touched else len(
            encode_chunk(key, self._data[key]))

    @property
    def state(self) -> StoreState:
        return self._state

    # -- reading for writing ----------------------------------------------------------------

    def __getitem__(self, key: str) -> dict[str, Any]:
        entry = self._data[key]
        if type(entry) is LazyEntry:
            self._replace_lazy(key, entry)
            entry = self._data[key] = entry.materialize()
        self._touched.add(key)
        return entry

    def _replace_lazy(self, key: str, lazy: Any) -> None:
        if type(lazy) is LazyEntry:
            self._lazy_originals.setdefault(key, lazy)
            self._state.lazy.discard(key)

    def __setitem__(self, key: str, entry: dict[str, Any]) -> None:
        if not isinstance(key, str):
            raise TypeError("session keys are strings")
        self._replace_lazy(key, self._data.get(key))
        if key not in self._data:
            self._structure_changes()
            self._appended.pop(key, None)
            self._appended[key] = None
        self._data[key] = entry
        self._touched.add(key)

    def __delitem__(self, key: str) -> None:
        data = self._data
        entry = data.get(key, _MISSING)
        if entry is _MISSING:
            raise KeyError(key)
        # (_replace_lazy and _structure_changes inline: a big cleanup deletes 80,000 keys)
        if type(entry) is LazyEntry:
            self._lazy_originals.setdefault(key, entry)
            self._state.lazy.discard(key)
        if self._original_order is None:
            self._original_order = list(data)
        del data[key]
        self._appended.pop(key, None)
        self._touched.add(key)

    def _structure_changes(self) -> None:
        if self._original_order is None:
            self._original_order = list(self._data)

    def cancel_save(self) -> None:
        """Say this mutation changed nothing worth a save (no maintenance, no write
        on its account), like the reference's entry update that finds no entry."""
        self.save_cancelled = True

    @property
    def touched(self) -> frozenset[str]:
        return frozenset(self._touched)

    # -- end of the mutation --------------------------------------------------------------------

    def finish(self) -> ChangeSet:
        """Validate and re-encode what was touched; raises (and changes nothing) on bad data."""
        state = self._state
        changes = ChangeSet()
        new_chunks: dict[str, bytes] = {}
        for key in self._touched:
            entry = self._data.get(key, _MISSING)
            old_chunk = state.chunks.get(key)
            if entry is _MISSING:
                if old_chunk is not None:
                    changes.removed.add(key)
                continue
            if not isinstance(entry, dict):
                raise jsjson.JSONError(f'entry {jsjson.js_string(key)} must be an object, not {jsjson.a_json_type(entry)}')
            if old_chunk is not None and "acp" not in entry and _ACP in old_chunk and key not in self._allow_drop_acp:
                # Runtime patches must not silently lose an ACP binding (spec 6.3).
                old_acp = decode_chunk(old_chunk).get("acp")
                if old_acp is not None:
                    entry["acp"] = old_acp
            normalize_entry(entry)
            chunk = encode_chunk(key, entry)
            # A key deleted and set again moved to the end: the text changed even
            # when its entry did not.
            if chunk != old_chunk or key in self._appended:
                new_chunks[key] = chunk
        for key in changes.removed:
            del state.chunks[key]
            state.noncanonical_keys.discard(key)
        if state.unverified:
            state.unverified.difference_update(self._touched)  # re-encoded above, or gone
        state.chunks.update(new_chunks)
        state.noncanonical_keys.update(k for k in new_chunks if k != store_key(k))
        state.unsaved.update(new_chunks)
        state.unsaved.update(changes.removed)
        changes.upserted = new_chunks
        changes.appended = {k: None for k in self._appended if k in new_chunks}
        if self._original_order is not None and any(jsjson.is_index_key(k) for k in new_chunks):
            order = jsjson.js_key_order(list(self._data))
            if order is not None:
                items = [(k, self._data[k]) for k in order]
                self._data.clear()
                self._data.update(items)
        self.closed = True
        return changes

    def rollback(self) -> None:
        """Put every touched entry back exactly as it was (values and order)."""
        state = self._state
        for key in self._touched:
            chunk = state.chunks.get(key)
            if key in self._lazy_originals:
                self._data[key] = self._lazy_originals[key]
                state.lazy.add(key)
            elif chunk is None:
                self._data.pop(key, None)
                state.noncanonical_keys.discard(key)
            else:
                self._data[key] = decode_chunk(chunk)
        if self._original_order is not None:
            items = [(k, self._data[k]) for k in self._original_order if k in self._data]
            self._data.clear()
            self._data.update(items)
        self.closed = True


# A read-only load hands a store nested deeper than a commit could write back to
# the full parse, the arbiter (which refuses it). orjson's parser takes 1,024
# levels and its encoder 254, so inside 770 more levels (one-element lists) the
# parse fails for exactly the stores a whole-store encode would refuse, and that
# encode is spared. Less than 769 would take a store the full parse refuses:
# tests/test_listing_read_only.py fails at 768.
DEPTH_PAD = 770


def depth_padded(raw: bytes) -> bytearray:
    """``raw`` inside :data:`DEPTH_PAD` brackets (a copy; a reader that reads a file
    into such a buffer spares it)."""
    return bytearray(b"[" * DEPTH_PAD + raw + b"]" * DEPTH_PAD)


def _parsed_padded(buf: bytes | bytearray) -> Any:
    try:
        parsed = orjson.loads(buf)
    except orjson.JSONDecodeError:
        return None
    # Each level one list of one value, or the brackets did not pair with the
    # padding (a file like '{...}],[{...}' parses padded but is no JSON alone).
    for _ in range(DEPTH_PAD):
        if type(parsed) is not list or len(parsed) != 1:
            return None
        parsed = parsed[0]
    return parsed
