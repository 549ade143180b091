"""Test plugins as real installed distributions: a module and its dist-info
(METADATA, an ``[openclaw]`` entry point) in a directory put on PYTHONPATH."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path


def make_distribution(root: Path, name: str, module_source: str, entry_points: dict[str, str]) -> Path:
    """A real installed distribution (dist-info + module) on a path we add to PYTHONPATH."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: 0.1\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[openclaw]\n{lines}\n")
    return root


def pythonpath_with(root: Path) -> str:
    """PYTHONPATH for a subprocess: ``root`` first, then this process's own."""
    return os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)
