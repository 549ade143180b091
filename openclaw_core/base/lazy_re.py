"""Regular expressions compiled on first use.

A one-shot command imports modules whose patterns it never runs; compiling
them all at import was a few percent of its start-up. A :class:`LazyPattern`
stands where the compiled pattern would: on first use it compiles and keeps
the pattern's methods as its own attributes, so later calls cost what a
compiled pattern's do. Use it only through its methods and attributes (it is
not a ``re.Pattern`` for ``isinstance`` or ``re.sub(pattern, ...)``).
"""

from __future__ import annotations

import re
from typing import Any

_DELEGATED = ("match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer",
              "pattern", "flags", "groups", "groupindex")


class LazyPattern:
    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        # Only called for what is not an attribute yet: the first use.
        if name.startswith("_"):
            raise AttributeError(name)
        compiled = re.compile(*self._source)
        for attr in _DELEGATED:
            setattr(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self._source[0]!r})"


def lazy_compile(pattern: str | bytes, flags: int = 0) -> LazyPattern:
    """``re.compile(pattern, flags)``, done when the pattern is first used."""
    return LazyPattern(pattern, flags)
