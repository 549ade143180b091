"""The text table of ``openclaw sessions`` (no ``--json``), as the reference
prints it without colours: header lines, then fixed-width columns padded in
UTF-16 code units, each line right-trimmed.
"""

from __future__ import annotations

import math
from typing import Any

from openclaw_core.js import values as js
from openclaw_core.services.listing import ListingContext, SessionRow, display_model_ref
from openclaw_core.services.listing_json import Listing, row_context_tokens, total_tokens

AGENT_WIDTH = 10
KIND_WIDTH = 6
KEY_WIDTH = 26
AGE_WIDTH = 9
MODEL_WIDTH = 14
TOKENS_WIDTH = 20
_KEY_HEAD, _KEY_TAIL = 16, 6

#: (field, label) of the Flags column, in order; each shown when its value is truthy
_VALUE_FLAGS = (
    ("thinkingLevel", "think"), ("verboseLevel", "verbose"), ("traceLevel", "trace"),
    ("reasoningLevel", "reasoning"), ("elevatedLevel", "elev"), ("responseUsage", "usage"),
    ("groupActivation", "activation"),
)


def format_time_ago(duration_ms: float) -> str:
    """``5m ago``, ``3h ago``, ``2d ago`` with JS rounding; ``unknown`` when negative or NaN."""
    if not math.isfinite(duration_ms) or duration_ms < 0:
        return "unknown"
    seconds = js.math_round(duration_ms / 1000)
    minutes = js.math_round(seconds / 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{js.number_to_string(minutes)}m ago"
    hours = js.math_round(minutes / 60)
    if hours < 48:
        return f"{js.number_to_string(hours)}h ago"
    return f"{js.number_to_string(js.math_round(hours / 24))}d ago"


def format_k_tokens(value: Any) -> str:
    """``1.3k`` below 10000, ``13k`` from there (``toFixed`` rounding)."""
    number = js.to_number(value)
    return js.to_fixed(number / 1000, 0 if number >= 10_000 else 1) + "k"


def truncate_key(key: str) -> str:
    if js.utf16_len(key) <= KEY_WIDTH:
        return key
    return js.utf16_slice(key, 0, _KEY_HEAD) + "..." + js.utf16_slice(key, -_KEY_TAIL)


def tokens_cell(total: Any, context_tokens: Any) -> str:
    context_label = format_k_tokens(context_tokens) if js.truthy(context_tokens) else "?"
    if total is None:
        return js.pad_end(f"unknown/{context_label} (?%)", TOKENS_WIDTH)
    if js.truthy(context_tokens):
        rounded = js.math_round(js.divide(total, js.to_number(context_tokens)) * 100)
        pct_label = js.number_to_string(rounded if rounded != rounded else min(999.0, rounded))
    else:
        pct_label = "?"
    return js.pad_end(f"{format_k_tokens(total)}/{context_label} ({pct_label}%)", TOKENS_WIDTH)


def flags_cell(fields: dict[str, Any]) -> str:
    flags = [f"{label}:{js.to_string(fields[name])}" for name, label in _VALUE_FLAGS
             if js.truthy(fields.get(name))]
    if js.truthy(fields.get("systemSent")):
        flags.append("system")
    if js.truthy(fields.get("abortedLastRun")):
        flags.append("aborted")
    if js.truthy(fields.get("sessionId")):
        flags.append(f"id:{js.to_string(fields['sessionId'])}")
    return " ".join(flags)


def row_line(ctx: ListingContext, row: SessionRow, now: int, agent_column: bool) -> str:
    _provider, model = display_model_ref(ctx, row.key, row.fields)
    total = total_tokens(row.fields)
    age = format_time_ago(float(now) - row.sort_value) if js.truthy(row.updated_at) else "unknown"
    cells = [js.pad_end(row.agent_id, AGENT_WIDTH)] if agent_column else []
    cells += [
        js.pad_end(row.kind, KIND_WIDTH),
        js.pad_end(truncate_key(row.key), KEY_WIDTH),
        js.pad_end(age, AGE_WIDTH),
        js.pad_end(model, MODEL_WIDTH),
        tokens_cell(total, row_context_tokens(ctx, row.fields, model)),
        flags_cell(row.fields),
    ]
    return js.js_trim_end(" ".join(cells))


def listing_lines(ctx: ListingContext, listing: Listing, now: int) -> list[str]:
    """Every line the text output prints (without newlines)."""
    if len(listing.targets) == 1 and not listing.all_agents:
        lines = [f"Session store: {listing.targets[0][1]}"]
    else:
        ids = ", ".join(agent_id for agent_id, _path in listing.targets)
        lines = [f"Session stores: {len(listing.targets)} ({ids})"]
    shown = len(listing.rows)
    if listing.has_more and listing.limit is not None:
        lines.append(f"Sessions listed: {shown} of {listing.total_count} (limit {js.number_to_string(listing.limit)})")
    else:
        lines.append(f"Sessions listed: {shown}")
    if listing.active_minutes:
        lines.append(f"Filtered to last {js.number_to_string(listing.active_minutes)} minute(s)")
    if not listing.rows:
        lines.append("No sessions found.")
        return lines
    agent_column = listing.aggregate
    header = [js.pad_end("Agent", AGENT_WIDTH)] if agent_column else []
    header += [js.pad_end("Kind", KIND_WIDTH), js.pad_end("Key", KEY_WIDTH), js.pad_end("Age", AGE_WIDTH),
               js.pad_end("Model", MODEL_WIDTH), js.pad_end("Tokens (ctx %)", TOKENS_WIDTH), "Flags"]
    lines.append(" ".join(header))
    lines.extend(row_line(ctx, row, now, agent_column) for row in listing.rows)
    return lines
