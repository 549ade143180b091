"""The plugin's settings: the ``[plugins.retentionPins]`` table of the config.

.. code-block:: toml

    [plugins.retentionPins]
    cronRunMaxAge = "7d"     # cron run entries older than this are pruned (a bare number is days)
    archiveDir = "archive"   # agents delete moves directories here, relative to the state dir

Both keys are optional (defaults above); without the table the plugin only
pins. A bad value is a :class:`~openclaw_core.base.errors.ConfigError` naming the
key and the file, so the command stops with one line and exit 1 before it
writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, NamedTuple

from openclaw_core.config.model import Config
from openclaw_core.base.errors import ConfigError
from openclaw_core.base.units import UnitError, parse_duration_ms
from openclaw_retention_pins import SETTINGS_KEYS as KEYS
from openclaw_retention_pins import SETTINGS_TABLE as TABLE

DEFAULT_CRON_RUN_MAX_AGE = "7d"
DEFAULT_ARCHIVE_DIR = "archive"


class RetentionSettings(NamedTuple):
    cron_run_max_age_ms: int
    archive_dir: str  # relative to the state dir


def read_settings(config: Config) -> RetentionSettings | None:
    """The validated settings, or None when the config has no ``[plugins.retentionPins]``."""
    table = config.get(TABLE)
    if table is None:
        return None

    def invalid(key: str, problem: str) -> ConfigError:
        where = f"{TABLE}.{key}" if key else TABLE
        return ConfigError(f"{where}: {problem} (in {config.path})")

    if not isinstance(table, Mapping):
        raise invalid("", f"expected a table, got {type(table).__name__}")
    unknown = [key for key in table if key not in KEYS]
    if unknown:
        raise invalid("", f"unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    return RetentionSettings(_max_age(table.get("cronRunMaxAge", DEFAULT_CRON_RUN_MAX_AGE), invalid),
                             _archive_dir(table.get("archiveDir", DEFAULT_ARCHIVE_DIR), invalid))


def _max_age(value: Any, invalid: Any) -> int:
    try:
        ms = parse_duration_ms(value, "d")
    except UnitError:
        raise invalid("cronRunMaxAge", f'{value!r} is not a duration such as "12h" or "7d"') from None
    if ms <= 0:
        raise invalid("cronRunMaxAge", f"{value!r} must be longer than 0")
    return ms


def _archive_dir(value: Any, invalid: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("archiveDir", f"{value!r} is not a folder name")
    path = PurePath(value.strip())
    if path.is_absolute() or ".." in path.parts or path.parts == (".",):
        raise invalid("archiveDir", f"{value!r} must be a folder inside the state dir (relative, no '..')")
    return str(path)
