"""``isinstance(value, Mapping)`` for the per-entry loops of maintenance.

A lazily loaded entry (engine/store/chunks.LazyEntry) is a ``Mapping``
subclass, and every ``isinstance`` against an ABC runs a Python-level check
(~0.5 us): asked for each of 100,000 entries in several policies, that was a
few percent of a big cleanup. The answer depends only on the value's type
(``Mapping.register`` and ``__subclasshook__`` are per type), so the types
that are mappings are remembered; the rest are asked each time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MAPPING_TYPES: set[type] = {dict}


def is_mapping(value: Any) -> bool:
    """``isinstance(value, collections.abc.Mapping)``."""
    kind = type(value)
    if kind in _MAPPING_TYPES:
        return True
    if isinstance(value, Mapping):
        _MAPPING_TYPES.add(kind)
        return True
    return False
