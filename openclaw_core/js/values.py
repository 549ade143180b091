"""JavaScript semantics for untyped JSON values: truthiness, ``Number(v)``,
``String(v)``, ``Math.round``, ``toFixed`` and UTF-16 string lengths.

The reference formats whatever a store holds with JS coercions (an
``updatedAt`` of ``"1795600582333"`` still gets an age, ``thinkingLevel: 0``
shows no flag, a key is cut after 16 UTF-16 code units). Python's own rules
differ (``round`` is half-to-even, ``float("inf")`` parses, ``len`` counts code
points), so every such coercion goes through this module.
"""

from __future__ import annotations

import math
import re
from typing import Any

from openclaw_core.base.lazy_re import lazy_compile


NAN = float("nan")

_DECIMAL = lazy_compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = {"0x": (16, lazy_compile(r"[0-9a-fA-F]+")), "0o": (8, lazy_compile(r"[0-7]+")), "0b": (2, lazy_compile(r"[01]+"))}
_PARSE_INT = lazy_compile(r"([+-]?)([0-9]+)")
_SURROGATE = lazy_compile("[\ud800-\udfff]")

# What String.prototype.trim() strips: ECMAScript WhiteSpace (TAB VT FF SP NBSP
# ZWNBSP and the Zs category) plus LineTerminator (LF CR LS PS). Python's
# str.strip() differs both ways: it also strips U+001C-U+001F and U+0085 (so a
# path ending in U+001F would name another file) and misses U+FEFF.
JS_WHITESPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_WHITESPACE_SET = frozenset(JS_WHITESPACE)
# JS's ``\s`` matches the same set; Python's ``\s`` is str.isspace (no U+FEFF, with U+001C-U+001F).
JS_SPACE_CLASS = "[" + re.escape(JS_WHITESPACE) + "]"


def js_trim(value: str) -> str:
    """``value.trim()``: the one trim for text the reference trims."""
    # Most values need no trimming; str.strip with this long set is the slow case.
    if value and value[0] not in _JS_WHITESPACE_SET and value[-1] not in _JS_WHITESPACE_SET:
        return value
    return value.strip(JS_WHITESPACE)


def is_number(value: Any) -> bool:
    """``typeof value === "number"`` for a parsed JSON value."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def truthy(value: Any) -> bool:
    """JS truthiness: ``""``, ``0``, ``NaN``, ``false`` and ``null`` are falsy; objects never."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value != ""
    if is_number(value):
        return value == value and value != 0
    return True


def string_to_number(text: str) -> float:
    """``Number(text)``: blank is 0, hex/octal/binary literals, ``Infinity``, else NaN."""
    body = js_trim(text)
    if not body:
        return 0.0
    if _DECIMAL.fullmatch(body):
        return float(body)
    unsigned = body.lstrip("+-")
    if unsigned == "Infinity" and len(body) - len(unsigned) <= 1:
        return -math.inf if body[0] == "-" else math.inf
    radix = _RADIX.get(body[:2].lower())
    if radix is not None and radix[1].fullmatch(body[2:]):
        return float(int(body[2:], radix[0]))
    return NAN


def to_number(value: Any) -> float:
    """``Number(value)`` for a JSON value (``null`` is 0; objects go through ``String``)."""
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return string_to_number(value)
    if isinstance(value, list):
        return string_to_number(to_string(value))
    return NAN  # a plain object: "[object Object]"


def number_to_string(value: float | int) -> str:
    """``String(n)``: like JSON for finite numbers, plus NaN and the infinities."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    # Imported here: keys (and so every command's startup) takes js_trim from this
    # module, and jsjson loads orjson, which `openclaw --help` must not pay for.
    from openclaw_core.js.json import js_number

    return js_number(value)


def to_string(value: Any) -> str:
    """``String(value)`` / a template literal: arrays join with commas, objects are
    ``[object Object]``."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if is_number(value):
        return number_to_string(value)
    if isinstance(value, list):
        return ",".join("" if item is None else to_string(item) for item in value)
    return "[object Object]"


def parse_int(text: str) -> float:
    """``Number.parseInt(text, 10)``: leading whitespace, a sign, the leading digits; NaN if none."""
    match = _PARSE_INT.match(text.lstrip(JS_WHITESPACE))
    if match is None:
        return NAN
    digits = match.group(2).lstrip("0") or "0"
    try:  # past ~309 digits a double is Infinity (and int() refuses very long strings)
        value = float(int(digits)) if len(digits) <= 400 else math.inf
    except OverflowError:
        value = math.inf
    return -value if match.group(1) == "-" else value


def divide(a: float, b: float) -> float:
    """``a / b`` with IEEE results for a zero divisor (Infinity, -Infinity or NaN)."""
    if b == 0:
        if a == 0 or a != a:
            return NAN
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def math_round(value: float) -> float:
    """``Math.round``: halves go up (towards +Infinity), not to even."""
    if not math.isfinite(value):
        return value
    floor = math.floor(value)
    return float(floor + 1 if value - floor >= 0.5 else floor)


def to_fixed(value: float, digits: int) -> str:
    """``Number.prototype.toFixed``: the exact binary value rounded half up."""
    if value != value:
        return "NaN"
    if abs(value) >= 1e21:
        return number_to_string(value)
    if value == 0:
        value = 0.0  # (-0).toFixed(1) is "0.0"
    from decimal import ROUND_HALF_UP, Decimal  # the text listing's counts only: not every start-up

    return str(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


# --- strings as UTF-16 code units ---------------------------------------------------------------

def utf16_len(text: str) -> int:
    """``text.length``: astral characters count twice."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_slice(text: str, start: int, end: int | None = None) -> str:
    """``text.slice(start, end)`` in code units; a cut pair leaves a lone surrogate."""
    if text.isascii():
        return text[start:end]
    units = text.encode("utf-16-le", "surrogatepass")
    length = len(units) // 2
    lo = max(length + start, 0) if start < 0 else min(start, length)
    hi = length if end is None else (max(length + end, 0) if end < 0 else min(end, length))
    return units[2 * lo:2 * max(hi, lo)].decode("utf-16-le", "surrogatepass")


def pad_end(text: str, width: int) -> str:
    """``text.padEnd(width)``: spaces up to ``width`` code units, never truncating."""
    return text + " " * (width - utf16_len(text)) if width > len(text) else text


def js_trim_end(text: str) -> str:
    return text.rstrip(JS_WHITESPACE)


def join_surrogate_pairs(value: Any) -> Any:
    """A decoded JSON value with each escaped high+low surrogate pair made the one
    code point it is in a JS string (keys too, recursively); lone surrogates stay."""
    if isinstance(value, str):
        if value.isascii() or not _SURROGATE.search(value):
            return value
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    if isinstance(value, dict):
        return {join_surrogate_pairs(k): join_surrogate_pairs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [join_surrogate_pairs(item) for item in value]
    return value


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` (already pair-joined) holds a surrogate: no file can be named by it."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def replace_lone_surrogates(text: str) -> str:
    """What Node writes for a lone surrogate in UTF-8 output: U+FFFD."""
    if text.isascii():
        return text
    return _SURROGATE.sub("\ufffd", text)
