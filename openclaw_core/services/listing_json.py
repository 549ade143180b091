"""The ``sessions --json`` document: one JSON row per session (its token totals and
context window) and the whole document, serialised as the reference prints it."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from openclaw_core.js import json as jsjson
from openclaw_core.js import values as js
from openclaw_core.base.keys import agent_and_kind
from openclaw_core.base.record import Record
from openclaw_core.js.json import MAX_SAFE_INTEGER
from openclaw_core.engine.store.normalize import normalize_model_fields
from openclaw_core.services.listing import (
    DERIVED_FIELDS,
    ROW_FIELDS,
    ListingContext,
    SessionRow,
    build_row,
    display_model_ref,
    is_active,
    updated_sort_and_age,
)

#: what JSON values a row prints that orjson may not print as JS does (or that
#: may hold an integer-like key)
_NOT_SIMPLE = frozenset({float, dict, list})


def total_tokens(fields: Mapping[str, Any]) -> Any:
    """``totalTokens`` when it is a finite number >= 0, else None."""
    total = fields.get("totalTokens")
    if type(total) is int:
        return total if total >= 0 else None
    if js.is_number(total) and math.isfinite(js.to_number(total)) and total >= 0:
        return total
    return None


def row_context_tokens(ctx: ListingContext, fields: Mapping[str, Any], model: str) -> Any:
    """The entry's own window, else agents.defaults.contextTokens, else the
    configured window of the shown model, else that of the default model, else 200000."""
    own = fields.get("contextTokens")
    if own is not None:
        return own
    if ctx.configured_context_tokens is not None:
        return ctx.configured_context_tokens
    looked_up = ctx.context_tokens_for(model)
    return looked_up if looked_up is not None else ctx.fallback_context_tokens


def _cached_display_model_ref(ctx: ListingContext, key: str, fields: Mapping[str, Any]) -> tuple[str, str]:
    # Rows share a few combinations of what decides it: compute each once.
    if key.startswith("agent:"):
        end = key.find(":", 6)
        segment: str | None = key[6:end] if end >= 0 else key[6:]  # key.split(":")[1]
    else:
        segment = None
    get = fields.get
    decisive = (segment, get("providerOverride"), get("modelOverride"), get("model"), get("modelProvider"))
    try:
        cached = ctx._model_refs.get(decisive)  # only all-string (or None) tuples are stored
    except TypeError:  # a container among them
        cached = None
    if cached is None:
        # The model fields as the load normalises them (json_rows_of_store reads
        # entries as parsed; for a loaded entry this changes nothing).
        model_fields = {name: fields[name] for name in _MODEL_FIELDS if name in fields}
        normalize_model_fields(model_fields)
        cached = display_model_ref(ctx, key, model_fields)
        if _all_str_or_none(decisive):
            ctx._model_refs[decisive] = cached
    return cached


_MODEL_FIELDS = ("providerOverride", "modelOverride", "model", "modelProvider")  # what display_model_ref reads


def _all_str_or_none(values: tuple[Any, ...]) -> bool:
    for value in values:
        if value is not None and type(value) is not str:
            return False
    return True


#: ROW_FIELDS around the derived ones: copied as stored when the entry has them
_STORED_HEAD = ROW_FIELDS[:ROW_FIELDS.index("totalTokens")]
_STORED_MIDDLE = ROW_FIELDS[ROW_FIELDS.index("modelProvider") + 1:ROW_FIELDS.index("contextTokens")]
assert ROW_FIELDS == (*_STORED_HEAD, "totalTokens", "totalTokensFresh", "model", "modelProvider",
                      *_STORED_MIDDLE, "contextTokens"), "json_row's layout follows ROW_FIELDS"
assert DERIVED_FIELDS.isdisjoint(_STORED_HEAD + _STORED_MIDDLE)


def json_row(ctx: ListingContext, row: SessionRow) -> dict[str, Any]:
    """The row as ``sessions --json`` prints it (key order fixed, absent fields omitted)."""
    if row.json is not None:
        return row.json
    fields = row.fields
    provider, model = _cached_display_model_ref(ctx, row.key, fields)
    out: dict[str, Any] = {"key": row.key, "updatedAt": row.updated_at, "ageMs": row.age_ms}
    for name in _STORED_HEAD:
        if name in fields:
            out[name] = fields[name]
    stored_total = fields.get("totalTokens")
    out["totalTokens"] = total_tokens(fields)
    out["totalTokensFresh"] = fields.get("totalTokensFresh") is not False if js.is_number(stored_total) else False
    out["model"] = model
    out["modelProvider"] = provider
    for name in _STORED_MIDDLE:
        if name in fields:
            out[name] = fields[name]
    out["contextTokens"] = row_context_tokens(ctx, fields, model)
    out["agentId"] = row.agent_id
    out["agentRuntime"] = ctx.agent_runtime(row.agent_id)
    out["kind"] = row.kind
    return out


def as_parsed(entry: dict[str, Any]) -> None:
    """The load normalisation :func:`json_rows_of_store` needs before it: none
    (of the listed fields it changes only the model fields, which the row's
    display model normalises itself); what a ``--json`` listing passes to
    :meth:`StoreBackend.load_entries`."""


def json_rows_of_store(ctx: ListingContext, entries: Iterable[tuple[str, Mapping[str, Any]]], store_agent_id: str,
                       active_minutes: float | None, now: int) -> list[SessionRow]:
    """:func:`rows_of_store` for ``--json``: each row's JSON form built at once from
    its entry (:attr:`SessionRow.json`), without the copy of the fields a row
    keeps for the text table and a second pass over them. The same rows as
    :func:`json_row` makes, of entries as loaded or only parsed (:func:`as_parsed`).

    A listing builds one for every entry of the store: one loop, what it asks
    of every entry bound to locals, the common values (an integer updatedAt and
    totalTokens, string model fields: the cache key of _cached_display_model_ref)
    decided inline, anything else by the functions the general path uses.
    tests/test_listing_read_only.py draws entries of every JSON type and checks
    that both paths give the same rows and the same bytes."""
    rows: list[SessionRow] = []
    append = rows.append
    head, middle, not_simple, refs = _STORED_HEAD, _STORED_MIDDLE, _NOT_SIMPLE, ctx._model_refs
    runtimes: dict[str, dict[str, str]] = {}
    configured_tokens = ctx.configured_context_tokens
    for key, entry in entries:
        if active_minutes is not None and not is_active(entry, active_minutes, now):
            continue
        if type(entry) is not dict:  # a lazy entry decodes what it is asked for: the general path
            row = build_row(key, entry, store_agent_id, now)
            row.json = json_row(ctx, row)
            append(row)
            continue
        get = entry.get
        updated_at = get("updatedAt")
        if type(updated_at) is int and updated_at and -MAX_SAFE_INTEGER <= updated_at <= MAX_SAFE_INTEGER \
                and -MAX_SAFE_INTEGER <= now - updated_at <= MAX_SAFE_INTEGER:
            sort_value, age_ms = float(updated_at), now - updated_at  # updated_sort_and_age's common case
            simple = True
        else:
            updated_at, sort_value, age_ms = updated_sort_and_age(updated_at, now)
            simple = type(age_ms) is int or (age_ms is None and type(updated_at) not in not_simple)
        agent_id, kind = agent_and_kind(key, entry, store_agent_id)
        model_ref = None
        if key.startswith("agent:"):
            decisive = (key[6:key.find(":", 6)] if key.find(":", 6) >= 0 else key[6:], get("providerOverride"),
                        get("modelOverride"), get("model"), get("modelProvider"))
            try:
                model_ref = refs.get(decisive)
            except TypeError:  # a container among them
                pass
        provider, model = model_ref if model_ref is not None else _cached_display_model_ref(ctx, key, entry)
        # ``simple``: no float and no container among the values (see listing_bytes).
        out: dict[str, Any] = {"key": key, "updatedAt": updated_at, "ageMs": age_ms}
        if not _copy_stored(out, entry, head):
            simple = False
        total = get("totalTokens")
        if type(total) is int:
            out["totalTokens"] = total if total >= 0 else None
            out["totalTokensFresh"] = get("totalTokensFresh") is not False
        else:
            out["totalTokens"] = total_tokens(entry)
            out["totalTokensFresh"] = get("totalTokensFresh") is not False if js.is_number(total) else False
            if type(total) is float:
                simple = False
        out["model"] = model
        out["modelProvider"] = provider
        if not _copy_stored(out, entry, middle):
            simple = False
        context_tokens = get("contextTokens")
        if context_tokens is None:
            context_tokens = configured_tokens if configured_tokens is not None else row_context_tokens(ctx, entry,
                                                                                                        model)
        if type(context_tokens) in not_simple:
            simple = False
            if type(context_tokens) is not float:
                context_tokens = copy.deepcopy(context_tokens)
        out["contextTokens"] = context_tokens
        out["agentId"] = agent_id
        runtime = runtimes.get(agent_id)
        if runtime is None:
            runtime = runtimes[agent_id] = ctx.agent_runtime(agent_id)
        out["agentRuntime"] = runtime.copy()
        out["kind"] = kind
        append(SessionRow(key, updated_at, {}, agent_id, kind, sort_value, age_ms, out, simple))
    return rows


def _copy_stored(out: dict[str, Any], entry: dict[str, Any], names: tuple[str, ...]) -> bool:
    """Put the ``names`` the entry has into ``out``, in that order; False when one
    is a float or a container. Values are the entry's own; a container is copied
    (the dump canonicalises it in place, and the entry may be a cached store's)."""
    simple = True
    for name in names:
        if name in entry:
            value = entry[name]
            if type(value) in _NOT_SIMPLE:
                simple = False
                if type(value) is not float:
                    value = copy.deepcopy(value)
            out[name] = value
    return simple


class Listing(Record):
    """What one ``sessions`` run shows."""

    __slots__ = ("targets", "aggregate", "all_agents", "rows", "total_count", "limit", "active_minutes")

    def __init__(self, targets: list[tuple[str, str]], aggregate: bool, all_agents: bool, rows: list[SessionRow],
                 total_count: int, limit: int | float | None, active_minutes: int | float | None) -> None:
        self.targets = targets                # (agentId, store path) in target order
        self.aggregate = aggregate            # --all-agents (or several stores)
        self.all_agents = all_agents
        self.rows = rows                      # shown, newest first
        self.total_count = total_count        # after --active, before --limit
        self.limit = limit
        self.active_minutes = active_minutes

    @property
    def has_more(self) -> bool:
        return len(self.rows) < self.total_count


def listing_document(ctx: ListingContext, listing: Listing) -> dict[str, Any]:
    """The ``--json`` document (keys in the reference's order; absent ones omitted)."""
    doc: dict[str, Any] = {"path": None if listing.aggregate else listing.targets[0][1]}
    if listing.aggregate:
        doc["stores"] = [{"agentId": agent_id, "path": path} for agent_id, path in listing.targets]
    if listing.all_agents:
        doc["allAgents"] = True
    doc["count"] = len(listing.rows)
    doc["totalCount"] = listing.total_count
    doc["limitApplied"] = listing.limit
    doc["hasMore"] = listing.has_more
    doc["activeMinutes"] = listing.active_minutes
    doc["sessions"] = [json_row(ctx, row) for row in listing.rows]
    return doc


def listing_bytes(ctx: ListingContext, listing: Listing) -> bytes:
    """``dumps_listing_document(listing_document(ctx, listing))``. When every row
    was built by :func:`json_rows_of_store` and is simple (no float, no container
    but agentRuntime), its values are strings, integers, booleans and None, which
    orjson prints as JS does unless a string holds a lone surrogate or an integer
    is beyond 2**53: orjson refuses both (strict integers), and then, as for any
    other row, the document is checked row by row."""
    doc = listing_document(ctx, listing)
    if all(row.json_simple for row in listing.rows):
        if _header_is_plain(doc):
            try:
                return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_STRICT_INTEGER)
            except orjson.JSONEncodeError:
                pass
    return dumps_listing_document(doc)


def _header_is_plain(doc: dict[str, Any]) -> bool:
    """Canonicalise the document but for its rows; True when orjson prints that part as JS does."""
    rows = doc["sessions"]
    doc["sessions"] = []
    try:
        return jsjson.canonicalize(doc)[1]
    finally:
        doc["sessions"] = rows


def dumps_listing_document(doc: dict[str, Any]) -> bytes:
    """``jsjson.dumps_pretty(doc)`` for a :func:`listing_document`, without walking
    every row: a row whose values are plain scalars (:func:`jsjson.plain_scalars`)
    is already in canonical form, the others are canonicalised one by one."""
    plain = _header_is_plain(doc)
    for row in doc["sessions"]:
        # json_row's values are scalars but for agentRuntime, a dict of strings
        values = list(row.values())
        runtime = values.pop(-2)
        if not (jsjson.plain_scalars(values) and type(runtime) is dict and jsjson.plain_scalars(runtime.values())):
            if not jsjson.canonicalize(row)[1]:
                plain = False
    return jsjson.dumps_canonical(doc, plain)
