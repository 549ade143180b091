"""The import-layer contract (docs/architecture.md): each layer imports only
the layers below it, and no module imports one that (directly or not) imports
it back. Function-local imports count (they are cycles that merely happen
later); imports under ``if TYPE_CHECKING:`` do not (they never run).

Run as a script to print every breach: ``python tests/test_layers.py``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module belongs to the first layer with a prefix of its name.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundations", ("openclaw_core.base", "openclaw_core.js")),
    ("environment", ("openclaw_core.config",)),
    ("contract", ("openclaw_core.hookspecs", "openclaw_core.contract")),
    ("engine", ("openclaw_core.engine",)),
    ("built-in plugins", ("openclaw_offline_lock", "openclaw_store_file", "openclaw_store_postgres",
                          "openclaw_store_sqlite", "openclaw_gateway_rpc", "openclaw_trash",
                          "openclaw_maintenance")),
    ("services", ("openclaw_core.services",)),
    ("adapters", ("openclaw_core.adapters",)),
    ("composition root", ("openclaw_core.app",)),
    # what starts from the root: the pytest plugin, the CLI reference's generator
    ("entry points", ("openclaw_core.testing", "openclaw_core.clidoc")),
]
# The package itself: ``__version__`` and the public names, imported lazily by
# name (no import statement), so it sits with the foundations.
EXACT = {"openclaw_core": 0}
# Plugins sit beside the core, not under its services: the core never imports them
# (the root loads them by entry point), and they import only the contract and below.
PLUGIN_LAYER = "built-in plugins"


def source_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in (ROOT, ROOT / "plugins"):
        for path in sorted(base.glob("openclaw_*/**/*.py")):
            rel = path.relative_to(base).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def layer_of(module: str) -> int:
    if module in EXACT:
        return EXACT[module]
    best, best_len = -1, -1
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[str, int]]:
    """(imported project module, line) for every runtime import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[str, int]] = []

    def resolve(name: str) -> str | None:
        # the longest project module that `name` starts with
        parts = name.split(".")
        for i in range(len(parts), 0, -1):
            candidate = ".".join(parts[:i])
            if candidate in known:
                return candidate
        return None

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for sub in child.orelse:
                    visit_stmt(sub)
                continue
            visit_stmt(child)

    def visit_stmt(child: ast.AST) -> None:
        if isinstance(child, ast.Import):
            for alias in child.names:
                target = resolve(alias.name)
                if target:
                    out.append((target, child.lineno))
        elif isinstance(child, ast.ImportFrom):
            base = child.module or ""
            if child.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - child.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in child.names:
                target = resolve(f"{base}.{alias.name}") if base else None
                if target is None or target == base and f"{base}.{alias.name}" not in known:
                    target = resolve(base)
                if target:
                    out.append((target, child.lineno))
        visit(child)

    visit(tree)
    return [(target, line) for target, line in out if target != module]


def graph() -> tuple[dict[str, Path], dict[str, list[tuple[str, int]]]]:
    files = source_files()
    known = set(files)
    return files, {module: imports_of(module, path, known) for module, path in files.items()}


def upward_imports() -> list[str]:
    files, edges = graph()
    plugin_layer = [name for name, _ in LAYERS].index(PLUGIN_LAYER)
    breaches = []
    for module, targets in sorted(edges.items()):
        own = layer_of(module)
        for target, line in targets:
            theirs = layer_of(target)
            wrong = theirs > own or (theirs == plugin_layer and own != plugin_layer) or (
                own == plugin_layer and theirs == plugin_layer and module.split(".")[0] != target.split(".")[0])
            if wrong:
                rel = files[module].relative_to(ROOT)
                breaches.append(f"{rel}:{line}: {module} ({LAYERS[own][0]}) imports {target} ({LAYERS[theirs][0]})")
    return breaches


def cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    _files, edges = graph()
    adjacency = {m: sorted({t for t, _ in ts}) for m, ts in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in adjacency.get(v, []):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(adjacency):
        if v not in index:
            strong(v)
    return found


def test_every_module_has_a_layer() -> None:
    assert [m for m in source_files() if layer_of(m) < 0] == []


def test_no_upward_import() -> None:
    assert upward_imports() == []


def test_no_import_cycle() -> None:
    assert cycles() == []


def test_the_checker_sees_function_local_and_skips_type_checking_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a.b\n"
                      "def f():\n    from a import c\n")
    assert [t for t, _ in imports_of("m", module, {"a", "a.b", "a.c"})] == ["a.c"]


def test_no_source_module_over_500_lines() -> None:
    big = {str(p.relative_to(ROOT)): n for p in source_files().values()
           if (n := len(p.read_text().splitlines())) > 500}
    assert big == {}


def test_the_architecture_page_shows_every_layer_in_order() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    table = page[page.index("## Layers and modules"):]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| layer")]
    named = [row.split("|")[1].strip() for row in rows]
    # Top to bottom on the page, bottom to top in LAYERS.
    assert named[:len(LAYERS)] == [name for name, _ in reversed(LAYERS)]
    for name, prefixes in LAYERS:
        row = rows[named.index(name)]
        for prefix in prefixes:
            if prefix.startswith("openclaw_core"):
                path = prefix.replace(".", "/")
                assert f"`{path}/`" in row or f"`{path}.py`" in row, (name, prefix)


if __name__ == "__main__":
    for breach in upward_imports():
        print("UP   ", breach)
    for component in cycles():
        print("CYCLE", " <-> ".join(component))
