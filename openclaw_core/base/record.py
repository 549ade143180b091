"""Plain value classes for the command paths.

A ``@dataclass`` generates its methods with ``exec`` when its module is
imported: about 1 ms of start-up per class (2 ms frozen), and ``openclaw
sessions`` imports a dozen. The classes every command loads are therefore
written out: ``__slots__`` name the fields, the class writes its own
``__init__``, and :class:`Record` gives it a repr and field-wise equality.
Immutable values are ``typing.NamedTuple``\\ s instead (a tenth of a frozen
dataclass's cost). tests/test_startup_budget.py keeps dataclasses off these
paths; elsewhere they are fine.
"""

from __future__ import annotations

from typing import Any


class Record:
    """Fields are the ``__slots__`` not starting with ``_`` (those are caches and
    hidden state: left out of repr and equality)."""

    __slots__ = ()

    def _fields(self) -> tuple[str, ...]:
        return tuple(name for name in type(self).__slots__ if not name.startswith("_"))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name, None)!r}" for name in self._fields())
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: Any) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields())

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq is
