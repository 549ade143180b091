"""File operations decided during a commit and performed only if it goes through.

Maintenance policies rename transcripts and delete archives; a commit that is
cancelled, refused by a commit wrapper, or failed by a later policy must leave
those files as they were. So policies record their operations here
(:meth:`FilePlan.rename`, :meth:`FilePlan.unlink`) and ask the plan what the
directory *will* look like (:meth:`FilePlan.state`); the writer performs them,
in the order they were planned, once the commit is past its point of no
return, just before the store is written (the reference's order: files,
then the store).

Paths are compared by their parent's real path plus their own name, so a
symlinked directory names the same file while a symlink itself stays itself.
"""

from __future__ import annotations

import os
from typing import NamedTuple

GONE = "gone"


class Moved(NamedTuple):
    """A planned rename's target: it will be the file now at ``origin``."""

    origin: str
    kind: str  # what the origin was when planned ("file", "link", ...)


class FilePlan:
    """Planned renames and deletions, and the overlay they make (see the module docstring)."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, str, str | None]] = []   # ("rename", src, dst) / ("unlink", path, None)
        self._overlay: dict[str, str | Moved] = {}
        self._real_dirs: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.ops)

    def key(self, path: str) -> str:
        path = os.path.abspath(path)
        parent, name = os.path.split(path)
        real = self._real_dirs.get(parent)
        if real is None:
            real = self._real_dirs[parent] = os.path.realpath(parent)
        return os.path.join(real, name)

    def state(self, path: str) -> str | Moved | None:
        """``GONE``, a :class:`Moved` for a planned rename's target, or None (as on disk)."""
        if not self._overlay:
            return None
        return self._overlay.get(self.key(path))

    def origin(self, path: str) -> str | None:
        """Where the bytes of ``path`` are now: ``path`` itself, a rename's source, or None if planned gone."""
        found = self.state(path)
        if found == GONE:
            return None
        return found.origin if isinstance(found, Moved) else path

    def entries_in(self, directory: str) -> list[tuple[str, str | Moved]]:
        """(name, overlay state) of the planned changes directly in ``directory``."""
        prefix = self.key(os.path.join(directory, "x"))[:-1]
        return [(k[len(prefix):], v) for k, v in self._overlay.items()
                if k.startswith(prefix) and os.sep not in k[len(prefix):]]

    def rename(self, source: str, target: str, kind: str) -> None:
        origin = self.origin(source) or source
        self.ops.append(("rename", source, target))
        self._overlay[self.key(source)] = GONE
        self._overlay[self.key(target)] = Moved(origin, kind)

    def unlink(self, path: str) -> None:
        self.ops.append(("unlink", path, None))
        self._overlay[self.key(path)] = GONE

    def apply(self) -> list[tuple[str, OSError]]:
        """Perform every operation in order; returns those that failed (the rest still run)."""
        failed: list[tuple[str, OSError]] = []
        for op, path, target in self.ops:
            try:
                if op == "rename":
                    assert target is not None
                    os.rename(path, target)
                else:
                    os.unlink(path)
            except OSError as exc:
                failed.append((path, exc))
        self.ops.clear()
        self._overlay.clear()
        return failed
