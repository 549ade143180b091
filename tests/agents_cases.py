"""Recorded ``agents delete`` reference cases, checked without ../shared.

A case (``tests/reference_cases/<name>/case.json`` with ``"kind":
"agents-delete"``) and its ``expected/`` were recorded from the real OpenClaw
2026.5.4 with ``run_cases.py --record``. This module rebuilds each run's
home from case.json, runs our ``openclaw agents delete ID --force --json``
the way the reference harness ran the reference (HOME = the run's home,
state dir ``~/.openclaw``, stdin from /dev/null, no Gateway reachable), and
reduces both sides to what a user can observe: exit status, the JSON, the
config without its ``meta`` block, the watched stores, and the file tree
(paths, sizes, modes; for the trash, which paths went there).

One rule goes beyond the harness: in a run whose reference had no ``trash``
command (``"trash": "none"``) the reference moved nothing, while ours really
moves the agent's dirs. The tree is not compared there (as in the harness),
and a watched store that moved with its dir is compared where the trash put
it, found through the trash's ``.trashinfo`` files.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import refcases

CASES_DIR = Path(__file__).resolve().parent / "reference_cases"
BOOKKEEPING_DIRS = {"identity", "logs", "devices", "tmp", "tasks"}


def agents_cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for case_file in sorted(CASES_DIR.glob("*/case.json")):
        case = json.loads(case_file.read_text())
        if case.get("kind") == "agents-delete":
            out.append((case_file.parent.name, case))
    return out


# --- building and normalising: shared with the cleanup cases (tests/refcases.py) -------------------

def build(case: dict[str, Any], home: Path) -> int:
    """Materialise the case under ``home`` (state dir ``home/.openclaw``); returns its 'now'."""
    now = int(time.time() * 1000)
    refcases.build(case, home / ".openclaw", home, now)
    return now


def _norm_value(value: Any, now: int, home: str) -> Any:
    return refcases.normalise_value(value, now, home)


def norm_stdout(raw: str, now: int, home: str) -> str:
    """The JSON on stdout as recorded: times relative, the home as ``$HOME``."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.replace(home, "$HOME")
    return json.dumps(_norm_value(data, now, home), indent=2).replace("$STATE", "$HOME") + "\n"


def norm_store(path: Path, now: int) -> str:
    if not path.exists():
        return "<missing>\n"
    raw = path.read_text()
    try:
        data = json.loads(raw)
    except ValueError:
        return "<not JSON> " + json.dumps(raw) + "\n"
    return json.dumps(_norm_value(data, now, "\0"), indent=2) + "\n"


def observable_config(text: str) -> str:
    """A config as compared: parsed, without ``meta``."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        data.pop("meta", None)
    return json.dumps(data, indent=2) + "\n"


def tree(home: Path, now: int) -> str:
    """The observable tree: path, size, mode per file; trash entries by path only."""
    lines = []
    for root, dirs, files in os.walk(home):
        dirs.sort()
        rel_root = os.path.relpath(root, home)
        parts = rel_root.split(os.sep)
        top = parts[1] if parts[0] == ".openclaw" and len(parts) > 1 else parts[0]
        if top in BOOKKEEPING_DIRS:
            dirs[:] = []
            continue
        for d in dirs:
            if rel_root in (".", ".openclaw") and d in BOOKKEEPING_DIRS:
                continue
            if not os.listdir(os.path.join(root, d)):
                lines.append(os.path.normpath(os.path.join(rel_root, d)) + "/ (empty dir)")
        for f in files:
            if f.endswith((".lock", ".tmp")):
                continue
            st = os.lstat(os.path.join(root, f))
            rel = os.path.normpath(os.path.join(rel_root, f))
            lines.append(f"{os.path.join(os.path.dirname(rel), refcases.archive_name(f, now))}\t{st.st_size}\t"
                         f"mode={oct(st.st_mode & 0o777)}")
    return observable_tree("\n".join(lines))


def observable_tree(text: str) -> str:
    """The recorded listing's comparable part (drops mtimes, trash info files, config backups)."""
    lines = []
    for line in text.splitlines():
        if not line:
            continue
        path, *rest = line.split("\t")
        if ".local/share/Trash/" in path:
            if "/Trash/files/" in path:
                lines.append(path)
            continue
        if os.path.basename(path).startswith("openclaw.json"):
            if path.endswith(".json"):
                lines.append(path)
            continue
        lines.append("\t".join([path] + [r for r in rest if not r.startswith("mtime=")]))
    return "\n".join(sorted(lines)) + "\n"


def moved_into_trash(home: Path, path: Path) -> Path | None:
    """Where the XDG trash under ``home`` put ``path`` (or the dir holding it), from its info files."""
    trash = home / ".local" / "share" / "Trash"
    info_dir = trash / "info"
    if not info_dir.is_dir():
        return None
    for info in sorted(info_dir.glob("*.trashinfo")):
        for line in info.read_text().splitlines():
            if not line.startswith("Path="):
                continue
            original = Path(unquote(line[len("Path="):]))
            if path == original or original in path.parents:
                return trash / "files" / info.name[: -len(".trashinfo")] / path.relative_to(original)
    return None


# --- running a case ---------------------------------------------------------------------------------

@dataclass
class RunOutcome:
    actual: dict[str, str]
    expected: dict[str, str]
    stderr: str


def run_case(case_name: str, case: dict[str, Any], run: dict[str, Any], work: Path, openclaw: str) -> RunOutcome:
    home = (work / "home").resolve()
    now = build(case, home)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "NO_COLOR": "1",
           "OPENCLAW_GATEWAY_PORT": str(refcases.free_port())}  # nothing listens: the offline path, as in the harness
    args = [openclaw, "agents", "delete", run["agent"], *([] if run.get("noForce") else ["--force"]), "--json",
            *run.get("extraArgs", [])]
    proc = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    name = run["name"]
    no_trash = run.get("trash", "none") == "none"
    actual = {
        f"{name}.rc": f"{proc.returncode}\n",
        f"{name}.stdout.json": norm_stdout(proc.stdout, now, str(home)),
        f"{name}.config.after.json": observable_config((home / ".openclaw" / "openclaw.json").read_text()),
    }
    for store_rel in case.get("watchStores", []):
        store = home / store_rel[2:] if store_rel.startswith("~/") else home / ".openclaw" / store_rel
        if no_trash and not store.exists():
            store = moved_into_trash(home, store) or store
        actual[f"{name}.store.{store_rel.replace('~/', '').replace('/', '_')}"] = norm_store(store, now)
    if not no_trash:
        actual[f"{name}.tree.after.txt"] = tree(home, now)
    expected_dir = CASES_DIR / case_name / "expected"
    expected = {}
    for key in actual:
        path = expected_dir / key
        text = path.read_text() if path.exists() else "<missing>\n"
        if key.endswith(".tree.after.txt"):
            text = observable_tree(text)
        elif key.endswith(".config.after.json"):
            text = observable_config(text)
        expected[key] = text
    return RunOutcome(actual, expected, proc.stderr)
