"""The ``openclaw`` entry points of the installed distributions, read straight
from their ``entry_points.txt`` files.

``importlib.metadata`` costs every command a tenth of its start-up (its
import pulls in email, zipfile, csv and socket, and each distribution's
metadata is parsed as an e-mail message). The plain case, directories on
``sys.path`` holding ``*.dist-info`` / ``*.egg-info`` directories, is read
here with the same rules: path entries in order, the first distribution of a
(normalised) name wins, ``[group]`` sections of ``name = value`` lines.
Anything else (a zip file on the path, a finder of its own on
``sys.meta_path``) goes to ``importlib.metadata``, which decides.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from functools import reduce
from typing import Any

_SUFFIXES = (".dist-info", ".egg-info")


class EntryPoint:
    """What the plugin manager uses of an ``importlib.metadata.EntryPoint``
    (a plain class: a dataclass costs start-up time to build)."""

    __slots__ = ("name", "value", "dist_name", "dist_version")

    def __init__(self, name: str, value: str, dist_name: str, dist_version: str | None) -> None:
        self.name = name
        self.value = value
        self.dist_name = dist_name
        self.dist_version = dist_version

    def __repr__(self) -> str:
        return f"EntryPoint({self.name!r}, {self.value!r}, {self.dist_name!r}, {self.dist_version!r})"

    def load(self) -> Any:
        module, _, attrs = self.value.partition(":")
        # "module:attr.sub [extras]": extras name optional dependencies, not code.
        loaded = importlib.import_module(module.strip())
        attr_path = attrs.split("[", 1)[0].strip()
        return reduce(getattr, filter(None, attr_path.split(".")), loaded)


def entry_points(group: str) -> list[EntryPoint]:
    found = _scan(group)
    return found if found is not None else _from_metadata(group)


def _from_metadata(group: str) -> list[EntryPoint]:
    from importlib import metadata

    identities: dict[Any, tuple[str, str | None]] = {}
    found = []
    for ep in metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        where = (getattr(dist, "_path", None) or id(dist)) if dist is not None else None
        if where not in identities:
            meta = dist.metadata if dist is not None else None
            identities[where] = (meta["Name"], meta["Version"]) if meta is not None else ("", None)
        name, version = identities[where]
        found.append(_MetadataEntryPoint(ep.name, ep.value, name or "", version, ep))
    return found


class _MetadataEntryPoint(EntryPoint):
    __slots__ = ("original",)

    def __init__(self, name: str, value: str, dist_name: str, dist_version: str | None, original: Any) -> None:
        super().__init__(name, value, dist_name, dist_version)
        self.original = original

    def load(self) -> Any:
        return self.original.load()


def _plain_path() -> bool:
    """No finder besides the standard path finder can name distributions."""
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
            return False
    return True


def _normalized(dist_dir_name: str) -> str:
    stem = dist_dir_name.rsplit(".", 1)[0].split("-", 1)[0]
    return re.sub(r"[-_.]+", "_", stem).lower()


def _scan(group: str) -> list[EntryPoint] | None:
    if not _plain_path():
        return None
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for entry in sys.path:
        where = entry or "."
        try:
            with os.scandir(where) as it:
                names = [e.name for e in it]
        except NotADirectoryError:
            return None  # a zip file (or another archive) on the path
        except OSError:
            continue  # a missing directory holds nothing
        if any(n.lower().endswith(".egg") for n in names):
            return None  # eggs: importlib.metadata's own rules
        for name in names:
            if not name.lower().endswith(_SUFFIXES):
                continue
            key = _normalized(name)
            if key in seen:
                continue
            seen.add(key)
            dist_dir = os.path.join(where, name)
            section = _section(os.path.join(dist_dir, "entry_points.txt"), group)
            if not section:
                continue
            dist_name, version = _identity(dist_dir)
            found.extend(EntryPoint(ep_name, value, dist_name, version) for ep_name, value in section)
    return found


def _section(path: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of ``[group]`` (importlib.metadata's reading:
    stripped lines, ``#`` comments and blank lines skipped)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return []
    lines: list[tuple[str, str]] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current == group:
            name, _, value = line.partition("=")
            lines.append((name.strip(), value.strip()))
    return lines


def _identity(dist_dir: str) -> tuple[str, str | None]:
    """``Name`` and ``Version`` from the metadata headers (before the first blank
    line) of ``METADATA``, else ``PKG-INFO``, as importlib.metadata looks."""
    for file_name in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(dist_dir, file_name), encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError):
            continue
        name, version = "", None
        for line in text.split("\n"):
            if not line.strip():
                break
            field, _, value = line.partition(":")
            field = field.lower()
            if field == "name" and not name:
                name = value.strip()
            elif field == "version" and version is None:
                version = value.strip()
        return name, version
    return "", None
