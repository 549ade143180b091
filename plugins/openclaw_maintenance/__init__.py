"""Built-in plugin: the whole session-store maintenance of OpenClaw as policies.

It answers two hooks:

* ``openclaw_maintenance_policies``: the policies of
  :mod:`openclaw_maintenance.policies`, each with an explicit ``order``
  (``openclaw plugins list`` shows the sequence);
* ``openclaw_entry_protected`` (``trylast``): the built-in rule of spec 7.3 -
  groups, channels, threads and Telegram topics are kept however old, synthetic
  keys (cron, hooks, heartbeats, subagents, acp, nodes) never are. Any other
  plugin that has an opinion is asked first.

The policy module is imported on first use, not when the CLI starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openclaw_core import hookimpl
from openclaw_core.base.keys import is_protected_entry  # light: asked once per entry, keep it at hand


@hookimpl
def openclaw_maintenance_policies():
    from openclaw_maintenance.policies import BUILTIN_POLICIES

    return list(BUILTIN_POLICIES)


@hookimpl(trylast=True)
def openclaw_entry_protected(key: str, entry: Mapping[str, Any]) -> bool:
    return is_protected_entry(key, entry)
