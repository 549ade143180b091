"""What the files in a sessions dir are, by name (spec section 1).

Archive names carry their own time: ``<file>.deleted.<TS>`` where ``<TS>`` is
the UTC ISO time with every ``:`` turned into ``-``. Their age is read from
that name, never from the mtime (a rename keeps the transcript's old mtime).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from openclaw_core.base.lazy_re import lazy_compile

ARCHIVE_REASONS = ("deleted", "reset", "bak")
_ARCHIVE_TS = lazy_compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})(?:\.(\d{3}))?Z")
_LEGACY_STORE_BACKUP = lazy_compile(r"sessions\.json\.bak\.\d+")
_CHECKPOINT = lazy_compile(
    r"(.+)\.checkpoint\.([0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\.jsonl",
    re.IGNORECASE | re.DOTALL)
_SAFE_TRAJECTORY_CHARS = lazy_compile(r"[^A-Za-z0-9_-]")
STORE_FILENAME = "sessions.json"


def archive_timestamp(now_ms: int | None = None) -> str:
    """``new Date(now).toISOString()`` with ``:`` replaced by ``-``."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    moment = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H-%M-%S") + f".{ms % 1000:03d}Z"


def _archive_suffix(name: str, reason: str) -> str | None:
    marker = f".{reason}."
    index = name.rfind(marker)
    if index < 0:
        return None
    return name[index + len(marker):]


def _days_from_civil(year: int, month: int, day: int) -> int:
    # Days since 1970-01-01 of a proleptic Gregorian date (any year, day may overflow the month).
    y = year - (month <= 2)
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_archive_time(name: str, reason: str) -> int | None:
    """Epoch ms of an archive name's timestamp for ``reason``, or None.

    Matches V8's ``Date.parse`` of the restored ISO text: months 1-12, days
    1-31 in any month (``02-30`` rolls over into March), ``24:00:00.000`` is
    the next midnight, minutes and seconds 0-59.
    """
    raw = _archive_suffix(name, reason)
    if not raw:
        return None
    match = _ARCHIVE_TS.fullmatch(raw)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    millis = int(match.group(7) or 0)
    if not (1 <= month <= 12 and 1 <= day <= 31 and minute <= 59 and second <= 59):
        return None
    if hour > 24 or (hour == 24 and (minute or second or millis)):
        return None
    days = _days_from_civil(year, month, day)
    return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis


def has_archive_suffix(name: str, reason: str) -> bool:
    raw = _archive_suffix(name, reason)
    return raw is not None and _ARCHIVE_TS.fullmatch(raw) is not None


def is_archive_artifact(name: str) -> bool:
    """``.deleted.<TS>``, ``.reset.<TS>``, ``.bak.<TS>`` or a legacy ``sessions.json.bak.<n>``."""
    if _LEGACY_STORE_BACKUP.fullmatch(name):
        return True
    return any(has_archive_suffix(name, reason) for reason in ARCHIVE_REASONS)


def is_checkpoint_transcript(name: str) -> bool:
    return _CHECKPOINT.fullmatch(name) is not None


def is_trajectory_artifact(name: str) -> bool:
    return name.endswith(".trajectory.jsonl") or name.endswith(".trajectory-path.json")


def is_primary_transcript(name: str) -> bool:
    if name == STORE_FILENAME or not name.endswith(".jsonl"):
        return False
    if name.endswith(".trajectory.jsonl") or is_checkpoint_transcript(name):
        return False
    return not is_archive_artifact(name)


def strip_jsonl(path: str) -> str:
    return path[:-6] if path.endswith(".jsonl") else path


def trajectory_runtime_path(transcript: str) -> str:
    """``<base>.trajectory.jsonl`` next to a transcript."""
    return strip_jsonl(transcript) + ".trajectory.jsonl"


def trajectory_pointer_path(transcript: str) -> str:
    """``<base>.trajectory-path.json`` next to a transcript."""
    return strip_jsonl(transcript) + ".trajectory-path.json"


def safe_trajectory_name(session_id: str) -> str:
    safe = _SAFE_TRAJECTORY_CHARS.sub("_", session_id)[:120]
    return safe if re.search(r"[A-Za-z0-9]", safe) else "session"
