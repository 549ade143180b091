"""Durations and byte sizes written the way OpenClaw's config writes them.

Durations: ``ms``, ``s``, ``m``, ``h``, ``d``; decimals; compound tokens
(``1h30m``) where every token carries a unit; a bare single number takes the
caller's default unit. Sizes: ``b``, ``k``/``kb`` ... ``t``/``tb``, 1024-based,
one token only, no inner spaces. Both are case-insensitive and trimmed, and
numbers in the config are stringified first, exactly as the reference does.
"""

from __future__ import annotations

import math

from openclaw_core.base.lazy_re import lazy_compile
from openclaw_core.js.values import js_trim

DURATION_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
SIZE_UNITS = {
    "b": 1,
    "k": 1024, "kb": 1024,
    "m": 1024**2, "mb": 1024**2,
    "g": 1024**3, "gb": 1024**3,
    "t": 1024**4, "tb": 1024**4,
}

_NUMBER = r"\d+(?:\.\d+)?"
_DURATION_TOKEN = lazy_compile(rf"({_NUMBER})(ms|s|m|h|d)")
_BARE_NUMBER = lazy_compile(rf"{_NUMBER}")
_SIZE = lazy_compile(rf"({_NUMBER})([a-z]+)?")

DURATION_ERROR = "invalid duration (use ms, s, m, h, d)"
SIZE_ERROR = "invalid size (use b, kb, mb, gb, tb)"


class UnitError(ValueError):
    """A duration or size that does not parse; the message is the reference's."""


def _as_text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        raise UnitError("not a string or number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnitError("not a finite number")
        # JS String(7.0) is "7"; keep that so a TOML float behaves like the JSON number.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (int, str)):
        return str(value)
    raise UnitError("not a string or number")


def _round_half_up(x: float) -> int:
    # Math.round semantics (ties toward +infinity), not Python's banker's rounding.
    return int(math.floor(x + 0.5))


def parse_duration_ms(value: object, default_unit: str = "ms") -> int:
    """Parse a duration into whole milliseconds or raise UnitError."""
    try:
        text = js_trim(_as_text(value)).lower()
    except UnitError:
        raise UnitError(DURATION_ERROR) from None
    if not text:
        raise UnitError(DURATION_ERROR)
    if _BARE_NUMBER.fullmatch(text):
        ms = float(text) * DURATION_UNITS_MS[default_unit]
    else:
        pos, ms = 0, 0.0
        for match in _DURATION_TOKEN.finditer(text):
            if match.start() != pos:
                raise UnitError(DURATION_ERROR)
            ms += float(match.group(1)) * DURATION_UNITS_MS[match.group(2)]
            pos = match.end()
        if pos != len(text) or pos == 0:
            raise UnitError(DURATION_ERROR)
    if not math.isfinite(ms):
        raise UnitError(DURATION_ERROR)
    return _round_half_up(ms)


def parse_bytes(value: object, default_unit: str = "b") -> int:
    """Parse a byte size (1024-based units) into whole bytes or raise UnitError."""
    try:
        text = js_trim(_as_text(value)).lower()
    except UnitError:
        raise UnitError(SIZE_ERROR) from None
    match = _SIZE.fullmatch(text)
    if not match:
        raise UnitError(SIZE_ERROR)
    unit = match.group(2) or default_unit
    if unit not in SIZE_UNITS:
        raise UnitError(SIZE_ERROR)
    size = float(match.group(1)) * SIZE_UNITS[unit]
    if not math.isfinite(size):
        raise UnitError(SIZE_ERROR)
    return _round_half_up(size)
