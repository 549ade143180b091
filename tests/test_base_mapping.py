"""openclaw_core/base/mapping.is_mapping answers as isinstance(value, Mapping)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType

from openclaw_core.base.mapping import is_mapping
from openclaw_core.engine.store.chunks import LazyEntry


def test_is_mapping_answers_as_isinstance_and_remembers_only_mapping_types():
    lazy = LazyEntry(b'  "k": {"a": 1}', 7, {"a": 1}, ())

    class Later:
        def __getitem__(self, key):
            raise KeyError(key)

    values = [{}, OrderedDict(), MappingProxyType({}), lazy, [], (), "x", None, 1, Later()]
    for _ in range(2):  # the second round answers from what the first remembered
        assert [is_mapping(v) for v in values] == [isinstance(v, Mapping) for v in values]
    # A type registered as a Mapping after a "no" is a mapping from then on (no is ever remembered).
    assert not is_mapping(values[-1])
    Mapping.register(Later)
    assert is_mapping(values[-1]) and isinstance(values[-1], Mapping)
