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
        # A class with __getattr__ makes every attribute lookup slower (~250 ns a
        # call): from now on this object is one without it.
        self.__class__ = CompiledPattern
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self._source[0]!r})"


class CompiledPattern:
    """A :class:`LazyPattern` after its first use: the compiled pattern's methods
    are plain attributes."""

    _source: tuple[str | bytes, int]

    def __repr__(self) -> str:
        return f"LazyPattern({self._source[0]!r}, compiled)"


def lazy_compile(pattern: str | bytes, flags: int = 0) -> LazyPattern:
    """``re.compile(pattern, flags)``, done when the pattern is first used."""
    return LazyPattern(pattern, flags)
