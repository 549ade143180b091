"""JSON exactly as JavaScript's ``JSON.parse`` / ``JSON.stringify(v, null, 2)``
produce it, so our files are byte-for-byte interchangeable with OpenClaw's.

Three differences from Python's json matter:

* key order: integer-like keys ("0", "42", not "007") come first in numeric
  order, at every level, then the rest in insertion order;
* numbers: JS has one double type (``1.0`` prints ``1``, ``1e21`` prints
  ``1e+21``, ``12345678901234567890`` prints ``12345678901234567000``);
* escapes: only ``"``, ``\\``, control characters and lone surrogates.

orjson matches JS for everything except some numbers, so the fast path is
orjson on values that :func:`canonicalize` found plain, and the exact pure
Python encoder below for the rest.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from openclaw_core.base.lazy_re import lazy_compile

import orjson

MAX_SAFE_INTEGER = 2**53
# Deepest nesting of objects/arrays a value may have (orjson's encoder stops
# there): deeper values are a JSONError on every path, not a crash on some.
MAX_DEPTH = 254
MAX_ARRAY_INDEX = 2**32 - 2
_INDEX_KEY = lazy_compile(r"0|[1-9][0-9]{0,9}")
_ESCAPE = lazy_compile(r'["\\\x00-\x1f\ud800-\udfff]')
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class JSONError(ValueError):
    """Text that JSON.parse would reject (or a value JSON cannot hold)."""


_TOO_DEEP = f"nested too deeply (more than {MAX_DEPTH} levels)"


# --- naming values in messages ------------------------------------------------

def json_type(value: Any) -> str:
    """What a JSON value is, in the words of the reference's messages:
    ``null``, ``boolean``, ``number``, ``string``, ``array`` or ``object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def a_json_type(value: Any) -> str:
    """:func:`json_type` with its article: ``a string``, ``an array``, ``null``."""
    name = json_type(value)
    return name if name == "null" else ("an " if name[0] in "aeiou" else "a ") + name


# --- parsing -----------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise JSONError(f"{name} is not valid JSON")


def loads(data: bytes | str) -> Any:
    """Strict JSON (no NaN/Infinity, no comments), like JSON.parse."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as fast_error:
        if "depth limit" in str(fast_error) or "recursion" in str(fast_error):
            # More than orjson's 1024 levels: refused whatever the recursion limit
            # of this thread (the stdlib's parser would take as many as it allows).
            raise JSONError(_TOO_DEEP) from None
        # orjson refuses lone surrogate escapes ("\ud800") and numbers beyond a
        # double; JSON.parse accepts both, so retry with the stdlib.
        try:
            text = data.decode("utf-8") if isinstance(data, (bytes, bytearray, memoryview)) else data
            return json.loads(text, parse_constant=_reject_constant)
        except UnicodeDecodeError:
            raise JSONError(f"not UTF-8 ({fast_error})") from None
        except json.JSONDecodeError as slow_error:
            raise JSONError(f"{slow_error.msg} at line {slow_error.lineno} column {slow_error.colno}") from None
        except RecursionError:
            raise JSONError(_TOO_DEEP) from None


# --- canonical form ----------------------------------------------------------

def is_index_key(key: str) -> bool:
    return _INDEX_KEY.fullmatch(key) is not None and int(key) <= MAX_ARRAY_INDEX


def js_key_order(keys: list[str]) -> list[str] | None:
    """The keys in JS property order, or None if they already are."""
    index_keys = [k for k in keys if k[:1].isdigit() and is_index_key(k)]
    if not index_keys:
        return None
    index_keys.sort(key=int)
    ordered = index_keys + [k for k in keys if not (k[:1].isdigit() and is_index_key(k))]
    return None if ordered == keys else ordered


def _plain_float(value: float) -> bool:
    # Where orjson and JS print the same digits in the same notation.
    magnitude = abs(value)
    return 1e-5 <= magnitude < 1e16 and not value.is_integer()


def canonicalize(value: Any) -> tuple[Any, bool]:
    """Bring a JSON value into the shape JS would hold after JSON.parse.

    Dicts are reordered in place (integer-like keys first) and integral floats
    that a double holds exactly become ints. Returns ``(value, plain)`` where
    ``plain`` says orjson will print it exactly as JS does. Raises JSONError
    for values JSON cannot represent (non-string keys, sets, objects ...).
    """
    kind = type(value)
    if kind is dict or kind is list:
        return value, _canonicalize_container(value)
    return _canonicalize_other(value, kind)


# Every store entry passes through here on load and on each write: the loop
# tests the common scalars inline, and one frame per nesting level keeps the
# whole MAX_DEPTH within reach of a caller that is itself deep in the stack.

def _canonicalize_container(value: dict[Any, Any] | list[Any]) -> bool:
    """Canonicalize a dict's or a list's values in place; True when plain."""
    plain = True
    members: Iterable[tuple[Any, Any]]
    if type(value) is dict:
        index_like = False
        for k in value:
            if type(k) is not str:
                raise JSONError(f"object keys must be strings, not {type(k).__name__}")
            if not k.isascii():
                if _SURROGATE.search(k):
                    plain = False
            elif k[:1] in _DIGITS:
                index_like = True
        if index_like:
            order = js_key_order(list(value))
            if order is not None:
                items = [(k, value[k]) for k in order]
                value.clear()
                value.update(items)
        members = value.items()
    else:
        members = enumerate(value)
    for slot, v in members:
        kind = type(v)
        if kind is str:
            if not v.isascii() and _SURROGATE.search(v):
                plain = False
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
                plain = False
        elif kind is bool or v is None:
            pass
        elif kind is dict or kind is list:
            if not _canonicalize_container(v):
                plain = False
        else:
            new, ok = _canonicalize_other(v, kind)
            if new is not v:
                value[slot] = new  # an existing slot: no resize while iterating
            if not ok:
                plain = False
    return plain


def _canonicalize_other(value: Any, kind: type) -> tuple[Any, bool]:
    if kind is str:
        return value, not _has_surrogate(value)
    if kind is bool or value is None:
        return value, True
    if kind is int:
        return value, -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is float:
        if math.isfinite(value) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return int(value), True
        return value, _plain_float(value)
    if isinstance(value, (str, int, float, dict, list)):
        # Subclasses (an IntEnum, an OrderedDict): store the plain JSON value.
        base = next(t for t in (bool, str, int, float, dict, list) if isinstance(value, t))
        return canonicalize(base(value))
    raise JSONError(f"{type(value).__name__} is not a JSON value")


_SURROGATE = lazy_compile("[\ud800-\udfff]")
_DIGITS = frozenset("0123456789")


def _has_surrogate(text: str) -> bool:
    # Python joins valid pairs into one code point, so any surrogate is lone.
    return not text.isascii() and _SURROGATE.search(text) is not None


# --- exact encoder -----------------------------------------------------------

def js_number(value: int | float) -> str:
    """Number::toString, the way JSON.stringify prints a number."""
    if type(value) is int or isinstance(value, int) and not isinstance(value, bool):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return str(value)
        try:
            value = float(value)
        except OverflowError:
            return "null"
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp = repr(abs(value)).partition("e")
    int_part, _, frac = mantissa.partition(".")
    digits = int_part + frac
    point = len(int_part) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    k, n = len(digits), point
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp_text = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return sign + digits + "e" + exp_text
    return sign + digits[0] + "." + digits[1:] + "e" + exp_text


def js_string(text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        ch = match.group(0)
        return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"

    return '"' + _ESCAPE.sub(escape, text) + '"'


def _encode(value: Any, indent: str, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(js_string(value))
    elif isinstance(value, (int, float)):
        out.append(js_number(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        if len(indent) >= 2 * MAX_DEPTH:
            raise JSONError(_TOO_DEEP)
        inner = indent + "  "
        out.append("{\n")
        keys = js_key_order(list(value)) or list(value)
        for i, k in enumerate(keys):
            if i:
                out.append(",\n")
            out.append(inner + js_string(k) + ": ")
            _encode(value[k], inner, out)
        out.append("\n" + indent + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        if len(indent) >= 2 * MAX_DEPTH:
            raise JSONError(_TOO_DEEP)
        inner = indent + "  "
        out.append("[\n")
        for i, v in enumerate(value):
            if i:
                out.append(",\n")
            out.append(inner)
            _encode(v, inner, out)
        out.append("\n" + indent + "]")
    else:
        raise JSONError(f"{type(value).__name__} is not a JSON value")


def stringify(value: Any) -> str:
    """``JSON.stringify(value, null, 2)`` (exact, pure Python)."""
    out: list[str] = []
    _encode(value, "", out)
    return "".join(out)


def _encode_compact(value: Any, depth: int, out: list[str]) -> None:
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise JSONError(_TOO_DEEP)
        out.append("{")
        for i, k in enumerate(js_key_order(list(value)) or list(value)):
            if i:
                out.append(",")
            out.append(js_string(k) + ":")
            _encode_compact(value[k], depth + 1, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise JSONError(_TOO_DEEP)
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _encode_compact(v, depth + 1, out)
        out.append("]")
    else:
        _encode(value, "", out)


# Where orjson's text may differ from JSON.stringify's: a number with an exponent
# (JS writes 1e16 as 10000000000000000, 1e-6 as 0.000001), an integral float (3.0
# is 3, -0.0 is 0), 16 or more digits (an integer beyond 2**53 is rounded in JS),
# an integer-like key (JS puts those first). In compact output inside a container
# a number follows ":", "," or "[", and a key "{" or ",": so hex digits in a string
# (a UUID's "3e41") do not send a listing to the exact encoder, ~70x slower (what
# still matches inside a string only costs that time). Two searches: one pattern
# with both alternatives scans slower than the two together.
_NUMBER_NOT_AS_JS = lazy_compile(rb'[:,\[]-?(?:\d{16}|\d+(?:\.\d+)?[eE]|\d+\.0(?=[,\]}]))')
_DIGIT_KEY = lazy_compile(rb'[{,]"\d+":')


def _orjson_is_js(text: bytes) -> bool:
    """Whether orjson's compact ``text`` is JSON.stringify's (see above); a bare
    number or literal is left to the exact encoder (it is short)."""
    return (text[:1] in (b"{", b"[", b'"') and _NUMBER_NOT_AS_JS.search(text) is None
            and _DIGIT_KEY.search(text) is None)


# The same in orjson's 2-space text, where a number follows '": ' or starts a line
# and a key starts a line: any fraction or exponent, any all-digit key. (Integers
# beyond 2**53 and lone surrogates make orjson refuse, with OPT_STRICT_INTEGER.)
# A string holding '": 1.5' only costs the walk. The possessive ' *+' spares a
# backtrack on every line.
_PRETTY_FLOAT_MEMBER = lazy_compile(rb'": -?[0-9]+[.eE]')
_PRETTY_FLOAT_ITEM_OR_DIGIT_KEY = lazy_compile(rb'\n *+(?:-?[0-9]+[.eE]|"[0-9]+": )')


def dumps_parsed_pretty(value: Any) -> bytes | None:
    """:func:`dumps_pretty` of an object or array as a JSON parser gives it (dicts,
    lists, str, int, float, bool, None only), written by orjson without the
    canonicalize walk; None when orjson's text may not be JS's (then the caller
    takes :func:`dumps_pretty`). Does not modify ``value``."""
    if type(value) is not dict and type(value) is not list:
        return None
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        return None
    if _PRETTY_FLOAT_MEMBER.search(text) is not None or _PRETTY_FLOAT_ITEM_OR_DIGIT_KEY.search(text) is not None:
        return None
    return text


def dumps_compact(value: Any) -> str:
    """``JSON.stringify(value)`` (no indent) for a wire frame.

    orjson when it can; the exact encoder for what orjson refuses (a lone
    surrogate: OpenClaw writes one when it cuts an emoji in half, JS prints it
    as ``\\udXXX``; an integer beyond 64 bits) and for what orjson would print
    otherwise than JS (see :func:`_orjson_is_js`). A value JSON cannot hold is a
    JSONError. Does not modify ``value``.
    """
    try:
        fast = orjson.dumps(value)
    except orjson.JSONEncodeError:
        pass
    else:
        if _orjson_is_js(fast):
            return fast.decode("utf-8")
    try:
        out: list[str] = []
        _encode_compact(value, 0, out)
        return "".join(out)
    except RecursionError:
        raise JSONError(_TOO_DEEP) from None

def plain_scalars(values: Iterable[Any]) -> bool:
    """True when every value is a string without lone surrogates, an int within
    ±2**53, a bool or None: values :func:`canonicalize` leaves alone and calls plain
    (False says nothing: a float, a container or an odd string)."""
    for v in values:
        kind = type(v)
        if kind is str:
            if not v.isascii() and _SURROGATE.search(v):
                return False
        elif kind is int:
            if not -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
                return False
        elif not (kind is bool or v is None):
            return False
    return True


def dumps_pretty(value: Any) -> bytes:
    """2-space JSON bytes as JS writes them; canonicalizes ``value`` in place.
    A value nested more than MAX_DEPTH levels deep is a JSONError."""
    try:
        value, plain = canonicalize(value)
    except RecursionError:
        raise JSONError(_TOO_DEEP) from None
    return dumps_canonical(value, plain)


def dumps_canonical(value: Any, plain: bool) -> bytes:
    """:func:`dumps_pretty` of a value already canonicalized, ``plain`` as
    :func:`canonicalize` found it."""
    try:
        if plain:
            try:
                return orjson.dumps(value, option=orjson.OPT_INDENT_2)
            except orjson.JSONEncodeError as exc:
                if "Recursion" not in str(exc):
                    raise
                raise JSONError(_TOO_DEEP) from None
        return stringify(value).encode("utf-8", "surrogatepass")
    except RecursionError:
        raise JSONError(_TOO_DEEP) from None
