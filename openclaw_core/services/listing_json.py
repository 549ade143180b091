"""The ``sessions --json`` document: one JSON row per session (its token totals and
context window) and the whole document, serialised as the reference prints it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openclaw_core.js import json as jsjson
from openclaw_core.js import values as js
from openclaw_core.services.listing import (
    DERIVED_FIELDS,
    ROW_FIELDS,
    ListingContext,
    SessionRow,
    display_model_ref,
)


def total_tokens(fields: Mapping[str, Any]) -> Any:
    """``totalTokens`` when it is a finite number >= 0, else None."""
    total = fields.get("totalTokens")
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
    segment = key.split(":")[1] if key.startswith("agent:") else None
    get = fields.get
    decisive = (segment, get("providerOverride"), get("modelOverride"), get("model"), get("modelProvider"))
    for value in decisive:
        if value is not None and type(value) is not str:
            return display_model_ref(ctx, key, fields)
    cached = ctx._model_refs.get(decisive)
    if cached is None:
        cached = ctx._model_refs[decisive] = display_model_ref(ctx, key, fields)
    return cached


def json_row(ctx: ListingContext, row: SessionRow) -> dict[str, Any]:
    """The row as ``sessions --json`` prints it (key order fixed, absent fields omitted)."""
    fields = row.fields
    provider, model = _cached_display_model_ref(ctx, row.key, fields)
    out: dict[str, Any] = {"key": row.key, "updatedAt": row.updated_at, "ageMs": row.age_ms}
    for name in ROW_FIELDS:
        if name not in DERIVED_FIELDS:
            if name in fields:
                out[name] = fields[name]
        elif name == "totalTokens":
            out[name] = total_tokens(fields)
        elif name == "totalTokensFresh":
            out[name] = fields.get("totalTokensFresh") is not False if js.is_number(fields.get("totalTokens")) \
                else False
        elif name == "model":
            out[name] = model
        elif name == "modelProvider":
            out[name] = provider
        else:
            out[name] = row_context_tokens(ctx, fields, model)
    out["agentId"] = row.agent_id
    out["agentRuntime"] = ctx.agent_runtime(row.agent_id)
    out["kind"] = row.kind
    return out


@dataclass
class Listing:
    """What one ``sessions`` run shows."""

    targets: list[tuple[str, str]]   # (agentId, store path) in target order
    aggregate: bool                  # --all-agents (or several stores)
    all_agents: bool
    rows: list[SessionRow]           # shown, newest first
    total_count: int                 # after --active, before --limit
    limit: int | float | None
    active_minutes: int | float | None

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


def dumps_listing_document(doc: dict[str, Any]) -> bytes:
    """``jsjson.dumps_pretty(doc)`` for a :func:`listing_document`, without walking
    every row: a row whose values are plain scalars (:func:`jsjson.plain_scalars`)
    is already in canonical form, the others are canonicalised one by one."""
    rows = doc["sessions"]
    doc["sessions"] = []
    try:
        _, plain = jsjson.canonicalize(doc)
    finally:
        doc["sessions"] = rows
    for row in rows:
        # json_row's values are scalars but for agentRuntime, a dict of strings
        values = list(row.values())
        runtime = values.pop(-2)
        if not (jsjson.plain_scalars(values) and type(runtime) is dict and jsjson.plain_scalars(runtime.values())):
            if not jsjson.canonicalize(row)[1]:
                plain = False
    return jsjson.dumps_canonical(doc, plain)
