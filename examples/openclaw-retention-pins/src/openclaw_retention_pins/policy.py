"""``prune-cron-runs``: drop finished cron runs sooner than the stale prune does.

Runs at order 250: after ``stale-prune`` (200), so entries it already took are
not counted twice, and before ``entry-cap`` (300), so the cap's slots go to
real conversations. The transcripts of the runs it removes are archived as
``.deleted.<TS>`` by ``archive-transcripts`` (400), like a stale entry's.
"""

from __future__ import annotations

from openclaw_core.base import keys
from openclaw_core.engine.maintenance import MaintenanceContext

from openclaw_retention_pins.settings import read_settings

ACTION = "prune-cron-run"  # what the dry-run table shows for these entries


class PruneCronRuns:
    name = "prune-cron-runs"
    order = 250

    def apply(self, ctx: MaintenanceContext) -> None:
        # Validate on every run, in warn mode too: a typo must not go unnoticed.
        settings = read_settings(ctx.backend.config)
        if settings is None or not ctx.enforce:
            return
        cutoff = ctx.now_ms - settings.cron_run_max_age_ms
        pruned = 0
        for key, entry in ctx.items():
            updated = entry.get("updatedAt")
            if isinstance(updated, bool) or not isinstance(updated, (int, float)) or updated >= cutoff:
                continue
            if not keys.is_cron_run_key(key) or ctx.is_preserved(key, entry):
                continue  # the active key and pinned entries stay
            ctx.remove(key, ACTION)
            pruned += 1
        ctx.report.extra[self.name] = pruned
        if pruned:
            ctx.log(f"pruned {pruned} cron run entries older than the configured cronRunMaxAge")
