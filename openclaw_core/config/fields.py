"""The config's fields, checked one by one with the reference's messages
(``path: message``, in its schema's order): maintenance, sizes, durations,
strings. :mod:`openclaw_core.config.schema` walks the whole config with them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from openclaw_core.base.units import UnitError, parse_bytes, parse_duration_ms
from openclaw_core.js.json import json_type

MAINTENANCE_KEYS = (
    "mode", "pruneAfter", "pruneDays", "maxEntries", "rotateBytes",
    "resetArchiveRetention", "maxDiskBytes", "highWaterBytes",
)
BACKENDS_KEY = "backend"


# --- fields -------------------------------------------------------------------------
# Messages and order are the reference's (its schema validator): field problems
# depth-first in schema order, an object's unknown keys after its fields'.

MAX_SAFE_INTEGER = 2**53 - 1


def _unknown_keys(prefix: str, obj: Mapping[str, Any], known: tuple[str, ...]) -> Iterator[str]:
    unknown = [k for k in obj if k not in known]
    if len(unknown) == 1:
        yield f'{prefix}: Unrecognized key: "{unknown[0]}"'
    elif unknown:
        yield f"{prefix}: Unrecognized keys: " + ", ".join(f'"{k}"' for k in unknown)


def _check_positive_int(key: str, value: Any) -> Iterator[str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        yield f"{key}: Invalid input: expected number, received {json_type(value)}"
    elif isinstance(value, float) and not value.is_integer():
        yield f"{key}: Invalid input: expected int, received number"
    elif value <= 0:
        yield f"{key}: Too small: expected number to be >0"
    elif value > MAX_SAFE_INTEGER:
        yield f"{key}: Too big: expected int to be <={MAX_SAFE_INTEGER}"


def _string_or_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (str, int, float))


def _check_duration(key: str, value: Any) -> Iterator[str]:
    try:
        parse_duration_ms(value, "d")
    except UnitError as exc:
        yield f"{key}: {exc}"


def _check_size(key: str, value: Any) -> Iterator[str]:
    try:
        parse_bytes(value, "b")
    except UnitError as exc:
        yield f"{key}: {exc}"


def validate_maintenance(maintenance: Any, prefix: str = "session.maintenance") -> Iterator[str]:
    if maintenance is None:
        return
    if not isinstance(maintenance, Mapping):
        yield f"{prefix}: Invalid input: expected object, received {json_type(maintenance)}"
        return
    problems: list[str] = []
    mode = maintenance.get("mode")
    if "mode" in maintenance and mode not in ("enforce", "warn"):
        problems.append(f'{prefix}.mode: Invalid option: expected one of "enforce"|"warn"')
    for key in ("pruneAfter", "rotateBytes", "resetArchiveRetention", "maxDiskBytes", "highWaterBytes"):
        value = maintenance.get(key)
        if key not in maintenance or _string_or_number(value) or (key == "resetArchiveRetention" and value is False):
            continue
        problems.append(f"{prefix}.{key}: Invalid input")
    for key in ("pruneDays", "maxEntries"):
        if key in maintenance:
            problems.extend(_check_positive_int(f"{prefix}.{key}", maintenance[key]))
    problems.sort(key=lambda p: MAINTENANCE_KEYS.index(p.split(":")[0].rsplit(".", 1)[-1]))
    problems.extend(_unknown_keys(prefix, maintenance, MAINTENANCE_KEYS))
    if problems:
        # The duration and size checks only run once the object is otherwise valid.
        yield from problems
        return
    for key in ("pruneAfter", "resetArchiveRetention"):
        value = maintenance.get(key)
        if key in maintenance and value is not False:
            yield from _check_duration(f"{prefix}.{key}", value)
    for key in ("maxDiskBytes", "highWaterBytes"):
        if key in maintenance:
            yield from _check_size(f"{prefix}.{key}", maintenance[key])


def _check_string(key: str, value: Any) -> Iterator[str]:
    if not isinstance(value, str):
        yield f"{key}: Invalid input: expected string, received {json_type(value)}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


