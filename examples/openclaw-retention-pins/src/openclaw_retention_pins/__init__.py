"""openclaw-retention-pins: an openclaw-core plugin.

* ``openclaw_entry_protected``: an entry whose ``label`` starts with ``pin:``
  is kept by every maintenance policy, however old (always on);
* ``openclaw_maintenance_policies``: ``prune-cron-runs`` (order 250) removes
  cron run entries (``agent:<id>:cron:<job>:run:<run>``) older than
  ``cronRunMaxAge``;
* ``openclaw_trash``: ``agents delete`` moves an agent's directories into
  ``<stateDir>/<archiveDir>/`` instead of the system trash.

The last two act only when the config has a ``[plugins.retentionPins]`` table
(see :mod:`openclaw_retention_pins.settings`): installing a plugin should not
by itself make a tool delete sooner or put files somewhere new.

This module stays light (``openclaw --help`` imports it); the work is in the
submodules, imported when a hook is first called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openclaw_core import hookimpl

PIN_PREFIX = "pin:"
SETTINGS_TABLE = "plugins.retentionPins"
SETTINGS_KEYS = ("cronRunMaxAge", "archiveDir")


@hookimpl
def openclaw_config_sections() -> dict[str, tuple[str, ...]]:
    # The config is strict: without this, [plugins.retentionPins] is refused as unknown.
    return {SETTINGS_TABLE: SETTINGS_KEYS}


@hookimpl
def openclaw_entry_protected(key: str, entry: Mapping[str, Any]) -> bool | None:
    # Called for every entry a policy considers: keep it cheap, no import.
    label = entry.get("label")
    if isinstance(label, str) and label.startswith(PIN_PREFIX):
        return True
    return None  # no opinion: the next plugin, finally the built-in rule, decides


@hookimpl
def openclaw_maintenance_policies() -> list[Any]:
    from openclaw_retention_pins.policy import PruneCronRuns

    return [PruneCronRuns()]


@hookimpl
def openclaw_trash(path: str, context: Any) -> Any:
    from openclaw_retention_pins.archive import archive_path

    return archive_path(path, context)
