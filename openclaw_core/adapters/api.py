"""The public store API (re-exported from ``openclaw_core``, bound by :mod:`openclaw_core.app`).

Every function goes through the store's single writer; see
:mod:`openclaw_core.engine.store.writer` for what that guarantees.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from openclaw_core.js.values import js_trim
from openclaw_core.base.keys import store_key
from openclaw_core.engine.maintenance import MaintenanceRequest
from openclaw_core.engine.store.normalize import normalize_model_fields
from openclaw_core.engine.store.state import MutationView
from openclaw_core.engine.store.writer import get_writer

if TYPE_CHECKING:
    from openclaw_core.config.model import Config
    from openclaw_core.contract.hooks import Hooks
    from openclaw_core.engine.store.writer import StoreWriter

T = TypeVar("T")
PathLike = str | os.PathLike[str]


class StoreAPI:
    """The public functions, bound to the hooks and config the composition
    root provides (:mod:`openclaw_core.app` makes the process's one)."""

    def __init__(self, hooks: Callable[[], Hooks], config: Callable[[], Config]) -> None:
        self._hooks = hooks
        self._config = config

    def _writer(self, path: PathLike) -> StoreWriter:
        return get_writer(path, self._config(), self._hooks())

    @staticmethod
    def merge_session_entry(existing: Mapping[str, Any] | None, patch: Mapping[str, Any], *,
                            preserve_activity: bool = False, now_ms: int | None = None) -> dict[str, Any]:
        return merge_session_entry(existing, patch, preserve_activity=preserve_activity, now_ms=now_ms)

    def load_session_store(self, path: PathLike) -> Mapping[str, Mapping[str, Any]]:
        """A read-only snapshot of the store (``{}`` when it does not exist yet).

        Raises :class:`~openclaw_core.base.errors.StoreCorruptError` for a store that
        does not parse; it is never read as empty.
        """
        return self._writer(path).snapshot()


    def load_session_entry(self, path: PathLike, key: str) -> dict[str, Any] | None:
        """A copy of the entry stored under exactly ``key`` (None when there is none),
        without loading the whole store when its backend can look one entry up."""
        return self._writer(path).entry(key)


    def update_session_store(self, path: PathLike, mutator: Callable[[MutationView], T], *,
                             active_key: str | None = None, skip_maintenance: bool = False,
                             allow_drop_acp: Iterable[str] = ()) -> T:
        """Run ``mutator(store)`` through the store's writer and return its result
        once the change is durable. ``store`` is a live mutable mapping (see
        :class:`~openclaw_core.engine.store.state.MutationView`); if ``mutator`` raises,
        nothing it did is kept."""
        request = None if skip_maintenance else MaintenanceRequest(
            active_keys=frozenset({active_key}) if active_key else frozenset())
        return self._writer(path).run(mutator, maintenance=request, allow_drop_acp=frozenset(allow_drop_acp))


    def update_session_store_entry(self, path: PathLike, key: str,
                                   update: Callable[[dict[str, Any]], Mapping[str, Any] | None], *,
                                   preserve_activity: bool = False) -> dict[str, Any] | None:
        """Patch one entry with the reference's key resolution and merge rules.

        The key is matched case-insensitively; when several stored keys differ
        only by case, the most recently updated one is the entry. ``update``
        gets a copy of that entry and returns a patch (or None for no change).
        The merged entry is stored under the lower-cased key, the other variants
        are removed, and the merged entry is returned. A missing entry returns
        None and writes nothing.
        """
        wanted = store_key(key)

        def mutate(store: MutationView) -> dict[str, Any] | None:
            if store.state.noncanonical_keys:
                variants = [k for k in store if k == wanted or store_key(k) == wanted]
            else:  # the usual store: every key already canonical, no scan needed
                variants = [wanted] if wanted in store else []
            if not variants:
                store.cancel_save()
                return None
            current_key = max(variants, key=lambda k: _updated_at(store.peek(k)))  # first wins a tie
            existing = store.peek(current_key)
            patch = update(_copy(existing))
            if patch is None:
                store.cancel_save()
                return _copy(existing)
            merged = merge_session_entry(existing, patch, preserve_activity=preserve_activity)
            for variant in variants:
                if variant != wanted:
                    del store[variant]
            store[wanted] = merged
            return _copy(merged)

        return self._writer(path).run(mutate, maintenance=MaintenanceRequest(active_keys=frozenset({wanted})))

def _copy(entry: Mapping[str, Any]) -> dict[str, Any]:
    import orjson

    try:
        return orjson.loads(orjson.dumps(entry))
    except TypeError:
        import copy

        return copy.deepcopy(dict(entry))


def _updated_at(entry: Mapping[str, Any] | None) -> float:
    value = entry.get("updatedAt") if isinstance(entry, Mapping) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return -math.inf


def _valid_time(value: Any, now: int) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return min(value, now)


def merge_session_entry(existing: Mapping[str, Any] | None, patch: Mapping[str, Any], *,
                        preserve_activity: bool = False, now_ms: int | None = None) -> dict[str, Any]:
    """``mergeSessionEntry`` (spec 6.5): the entry a patch produces."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    session_id = patch.get("sessionId")
    if session_id is None and existing is not None:
        session_id = existing.get("sessionId")
    if session_id is None:
        session_id = str(uuid.uuid4())
    existing_at = _valid_time(existing.get("updatedAt"), now) if existing is not None else None
    patch_at = _valid_time(patch.get("updatedAt"), now)
    if preserve_activity and existing is not None:
        updated_at = existing_at if existing_at is not None else patch_at if patch_at is not None else now
    else:
        updated_at = max(existing_at or 0, patch_at or 0, now)
    if existing is None:
        merged = {**patch, "sessionId": session_id, "updatedAt": updated_at}
        started = patch.get("sessionStartedAt")
        merged["sessionStartedAt"] = started if started is not None else updated_at
        normalize_model_fields(merged)
        return merged
    merged = {**existing, **patch, "sessionId": session_id, "updatedAt": updated_at}
    started = patch.get("sessionStartedAt")
    if started is None:
        started = existing.get("sessionStartedAt") if existing.get("sessionId") == session_id else updated_at
    if started is None:
        merged.pop("sessionStartedAt", None)
    else:
        merged["sessionStartedAt"] = started
    if "model" in patch and "modelProvider" not in patch:
        new_model = _trimmed(patch.get("model"))
        if new_model and new_model != _trimmed(existing.get("model")):
            merged.pop("modelProvider", None)
    normalize_model_fields(merged)
    return merged


def _trimmed(value: Any) -> str | None:
    return (js_trim(value) or None) if isinstance(value, str) else None
