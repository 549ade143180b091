#!/usr/bin/env python3
"""Reference cases without ../shared: build a case's state, run a CLI on it,
normalise what it did and compare it with what the real OpenClaw 2026.5.4 did.

A case is a folder holding ``case.json`` and ``expected/``, in the format the
reference kit documents (../shared/reference/README.md, "The cases" and
"Writing a new case"): ``config``, ``store``/``stores``, ``files``, ``dirs``
and ``runs``, with ``<field>Ago`` times and ``{archive:<dur>}`` names relative
to the moment the state is built. Recorded outputs are normalised so that
they compare across runs and machines: the state dir becomes ``$STATE``,
epoch-ms times become ``now-<dur>``, archive stamps written during the run
become ``<RUN-TS>``.

Two extensions, used by the cases in ``tests/reference_cases_ext`` (recorded
with :func:`record` below, since the kit's own builder does not know them):

* ``"symlinks": [{"path": P, "target": T}]`` creates symlinks (``$STATE`` in
  ``T`` is the state dir);
* a run with ``"json": false`` runs without ``--json`` and records its text
  stdout as ``<run>.stdout.txt``.

Command line::

    python tests/refcases.py check --cli .venv/bin/openclaw CASE_DIR...
    python tests/refcases.py record --cli "<node> <openclaw.mjs>" CASE_DIR...
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

TIME_FIELDS = ("updatedAt", "sessionStartedAt", "lastInteractionAt", "activeUpdatedAt")
UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
RUN_WINDOW_MS = 10 * 60 * 1000
BOOKKEEPING_DIRS = {"identity", "logs", "devices", "tmp", "tasks"}
_DUR = re.compile(r"(-?\d+(?:\.\d+)?)(ms|s|m|h|d)")
_ARCHIVE_NAME = re.compile(r"\.(deleted|reset|bak)\.(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{3})?Z)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --- building a state ------------------------------------------------------------------------

def duration_ms(text: str) -> int:
    match = _DUR.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"bad duration {text!r} (use <number><ms|s|m|h|d>)")
    return round(float(match.group(1)) * UNITS_MS[match.group(2)])


def archive_stamp(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H-%M-%S") + f".{ms % 1000:03d}Z"


def expand_times(value: Any, now: int) -> Any:
    """``"<field>Ago": "<dur>"`` becomes ``"<field>": now - dur`` at the same place."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.endswith("Ago") and isinstance(item, str) and len(key) > 3:
                out[key[:-3]] = now - duration_ms(item)
            else:
                out[key] = expand_times(item, now)
        return out
    if isinstance(value, list):
        return [expand_times(item, now) for item in value]
    return value


def expand_path(path: str, now: int) -> str:
    return re.sub(r"\{archive:([^}]+)\}", lambda m: archive_stamp(now - duration_ms(m.group(1))), path)


def filler(size: int, name: str) -> bytes:
    """A JSONL body of exactly ``size`` bytes (its content never matters, its size does)."""
    line = json.dumps({"type": "filler", "file": name}) + "\n"
    data = (line * (size // len(line) + 1)).encode()[:size]
    return data


def build(case: dict[str, Any], state: Path, home: Path, now: int) -> None:
    state.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(json.dumps(case.get("config", {}), indent=2) + "\n")

    def place(rel: str) -> Path:
        return home / rel[2:] if rel.startswith("~/") else state / rel

    stores = dict(case.get("stores", {}))
    if "store" in case:
        stores["main"] = case["store"]
    for name, store in stores.items():
        if name.startswith("~/") or "/" in name:
            target = place(name)
        else:
            target = state / "agents" / name / "sessions" / "sessions.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        if store is None:
            continue
        if isinstance(store, str):
            target.write_text(store)
        else:
            target.write_text(json.dumps({k: expand_times(v, now) for k, v in store.items()}, indent=2))
    for rel in case.get("dirs", []):
        place(rel).mkdir(parents=True, exist_ok=True)
    for spec in case.get("files", []):
        rel = expand_path(spec["path"], now)
        full = place(rel)
        full.parent.mkdir(parents=True, exist_ok=True)
        data = spec["text"].encode() if "text" in spec else filler(int(spec.get("size", 64)), rel)
        full.write_bytes(data)
        mtime = now - duration_ms(spec.get("mtimeAgo", "0s"))
        os.utime(full, ns=(mtime * 1_000_000, mtime * 1_000_000))
    for link in case.get("symlinks", []):
        full = place(expand_path(link["path"], now))
        full.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link["target"].replace("$STATE", str(state)), full)


# --- normalising ---------------------------------------------------------------------------------

def rel_duration(ms: int) -> str:
    if ms < 0:
        return "now+" + _largest_unit(-ms)
    return "now-" + _largest_unit(ms)


def _largest_unit(ms: int) -> str:
    for unit in ("d", "h", "m", "s"):
        if ms and ms % UNITS_MS[unit] == 0:
            return f"{ms // UNITS_MS[unit]}{unit}"
    return f"{ms}ms"


def normalise_value(value: Any, now: int, state: str) -> Any:
    if isinstance(value, dict):
        return {k: rel_duration(now - v) if k in TIME_FIELDS and isinstance(v, (int, float))
                and not isinstance(v, bool) else normalise_value(v, now, state) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_value(v, now, state) for v in value]
    if isinstance(value, str):
        return value.replace(state, "$STATE")
    return value


def normalise_json_text(text: str, now: int, state: str) -> str:
    """Parsed and printed with 2-space indent (key order kept); text stays text."""
    try:
        value = json.loads(text)
    except ValueError:
        return text.replace(state, "$STATE")
    return json.dumps(normalise_value(value, now, state), indent=2, ensure_ascii=False) + "\n"


def normalise_store(path: Path, now: int, state: str) -> str:
    if not path.exists():
        return "<missing>\n"
    raw = path.read_bytes().decode("utf-8", "replace")
    try:
        value = json.loads(raw)
    except ValueError:
        return f"<not JSON> {json.dumps(raw)}\n"
    return json.dumps(normalise_value(value, now, state), indent=2, ensure_ascii=False) + "\n"


def archive_name(name: str, now: int) -> str:
    match = _ARCHIVE_NAME.search(name)
    if match is None:
        return name
    stamp = match.group(2)
    date, clock = stamp[:-1].split("T")
    hh, mm, rest = clock.split("-", 2)
    seconds, _, millis = rest.partition(".")
    try:
        moment = datetime(*map(int, date.split("-")), int(hh), int(mm), int(seconds), tzinfo=timezone.utc)
    except ValueError:
        return name  # not a calendar date (2020-02-30, hour 24): shown as it is
    ms = int(moment.timestamp()) * 1000 + int(millis or 0)
    age = now - ms
    tag = "<RUN-TS>" if abs(age) < RUN_WINDOW_MS else f"<{rel_duration(age)}>"
    return name[:match.start()] + f".{match.group(1)}.{tag}"


def tree(state: Path, now: int) -> str:
    """One sorted line per file: ``path<TAB>size<TAB>mode=0o...<TAB>mtime=run|now-<dur>``."""
    lines = []
    for root, dirs, files in os.walk(state):
        rel_root = os.path.relpath(root, state)
        top = rel_root.split(os.sep)[0]
        if top in BOOKKEEPING_DIRS:
            dirs[:] = []
            continue
        for d in dirs:
            if rel_root == "." and d in BOOKKEEPING_DIRS:
                continue
            if not os.listdir(os.path.join(root, d)):
                lines.append(f"{os.path.normpath(os.path.join(rel_root, d))}/ (empty dir)")
        for name in files:
            if name.endswith((".lock", ".tmp")):
                continue
            full = os.path.join(root, name)
            st = os.lstat(full)
            rel = os.path.normpath(os.path.join(rel_root, archive_name(name, now)))
            age = now - st.st_mtime_ns // 1_000_000
            mtime = "run" if abs(age) < RUN_WINDOW_MS else rel_duration(round(age / 1000) * 1000)
            # A symlink shows where it points (its size is that path's length, which
            # depends on where the state dir happens to be).
            size = f"-> {os.readlink(full).replace(str(state), '$STATE')}" if stat.S_ISLNK(st.st_mode) \
                else str(st.st_size)
            lines.append(f"{rel}\t{size}\tmode={oct(st.st_mode & 0o777)}\tmtime={mtime}")
    return "\n".join(sorted(lines)) + "\n"


def without_mtimes(listing: str) -> str:
    return "\n".join(line.rsplit("\tmtime=", 1)[0] for line in listing.splitlines()) + "\n"


def store_log_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("[sessions/store]")]


# --- running -----------------------------------------------------------------------------------------

def free_port() -> int:
    from ports import free_port as worker_port  # no collisions between xdist workers (tests/ports.py)

    return worker_port()


@dataclass
class RunOutput:
    name: str
    rc: int
    stdout: str
    stderr: str
    stores: dict[str, str] = field(default_factory=dict)
    tree: str = ""
    as_json: bool = True


def run_cli(cli: list[str], case: dict[str, Any], run: dict[str, Any], work: Path,
            *, isolate_network: bool = False, timeout: float = 120) -> RunOutput:
    """Build a fresh state for ``run``, run ``cli sessions cleanup`` on it, snapshot the result."""
    state, home = work / "state", work / "home"
    if work.exists():
        shutil.rmtree(work)
    now = int(time.time() * 1000)
    build(case, state, home, now)
    store = state / "agents" / "main" / "sessions" / "sessions.json"
    args = [a.replace("$STORE", str(store)).replace("$STATE", str(state)) for a in run["args"]]
    as_json = run.get("json", True)
    argv = [*cli, "sessions", "cleanup", *(["--json"] if as_json else []), *args]
    env = {
        "PATH": os.pathsep.join(filter(None, [os.path.dirname(cli[0]), "/usr/local/bin", "/usr/bin", "/bin"])),
        "HOME": str(home),
        "OPENCLAW_STATE_DIR": str(state),
        "NO_COLOR": "1",
        "FORCE_COLOR": "0",
        "OPENCLAW_SKIP_CHANNELS": "1",
        "OPENCLAW_DISABLE_BONJOUR": "1",
        "OPENCLAW_NO_AUTO_UPDATE": "1",
        # Nothing listens there: a Gateway-first run falls back to the offline path.
        "OPENCLAW_GATEWAY_PORT": str(free_port()),
    }
    env.update(run.get("env", {}))
    if isolate_network and os.geteuid() == 0 and shutil.which("unshare"):
        # A private network namespace (loopback up, for a quick refusal): no Gateway anywhere.
        argv = ["unshare", "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh", *argv]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=str(work))
    out = RunOutput(run["name"], proc.returncode, proc.stdout, _ANSI.sub("", proc.stderr), as_json=as_json)
    agents = state / "agents"
    for sessions in sorted(agents.glob("*/sessions")) if agents.exists() else []:
        out.stores[sessions.parent.name] = normalise_store(sessions / "sessions.json", now, str(state))
    out.tree = tree(state, now)
    out.stdout = normalise_json_text(proc.stdout, now, str(state)) if as_json else proc.stdout.replace(
        str(state), "$STATE")
    out.stderr = out.stderr.replace(str(state), "$STATE")
    return out


# --- comparing and recording ---------------------------------------------------------------------------

def expected_path(case_dir: Path, run: str, what: str) -> Path:
    return case_dir / "expected" / f"{run}.{what}"


def _diff(expected: str, actual: str, label: str) -> str:
    return "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        f"expected/{label}", f"actual/{label}"))


def compare(case_dir: Path, out: RunOutput) -> list[str]:
    """Differences between a run and what the reference recorded (empty: identical)."""
    problems = []
    rc = expected_path(case_dir, out.name, "rc").read_text().strip()
    if str(out.rc) != rc:
        problems.append(f"{out.name}: exit status {out.rc}, the reference {rc}\n{out.stderr[-2000:]}")
    if out.as_json:
        want = expected_path(case_dir, out.name, "stdout.json").read_text()
        try:
            same = json.loads(want or "null") == json.loads(out.stdout or "null") and \
                   json.dumps(json.loads(want or "null")) == json.dumps(json.loads(out.stdout or "null"))
        except ValueError:
            same = want.strip() == out.stdout.strip()
        if not same:
            problems.append(_diff(want, out.stdout, f"{out.name}.stdout.json"))
    else:
        want = expected_path(case_dir, out.name, "stdout.txt").read_text()
        if want != out.stdout:
            problems.append(_diff(want, out.stdout, f"{out.name}.stdout.txt"))
    recorded = {p.name[len(out.name) + len(".sessions."):-len(".json")]: p
                for p in (case_dir / "expected").glob(f"{out.name}.sessions.*.json")}
    for agent in sorted(set(recorded) | set(out.stores)):
        want = recorded[agent].read_text() if agent in recorded else "<no store dir>\n"
        got = out.stores.get(agent, "<no store dir>\n")
        if _parsed(want) != _parsed(got):
            problems.append(_diff(want, got, f"{out.name}.sessions.{agent}.json"))
    want_tree = without_mtimes(expected_path(case_dir, out.name, "tree.after.txt").read_text())
    got_tree = without_mtimes(out.tree)
    if want_tree != got_tree:
        problems.append(_diff(want_tree, got_tree, f"{out.name}.tree.after.txt"))
    want_err = expected_path(case_dir, out.name, "stderr.txt").read_text()
    if out.rc != 0 and comparable_stderr(want_err) != comparable_stderr(out.stderr):
        problems.append(_diff(want_err, out.stderr, f"{out.name}.stderr.txt"))
    elif store_log_lines(want_err) != store_log_lines(out.stderr):
        problems.append(_diff("\n".join(store_log_lines(want_err)) + "\n",
                              "\n".join(store_log_lines(out.stderr)) + "\n", f"{out.name}.stderr.txt (log lines)"))
    return problems


# Two deliberate differences of the invalid-config block (docs/differences.md, "Config"):
# the reference ends it with a hint to run `openclaw doctor --fix` (we have no doctor), and
# ours adds "Hint: <key>: did you mean ..." lines. Every other line must be the same.
_DOCTOR_LINE = "Run: openclaw doctor --fix"


def comparable_stderr(text: str) -> str:
    lines = text.strip().splitlines()
    if lines and lines[0] == "Config invalid":
        lines = [line for line in lines if line != _DOCTOR_LINE and not line.startswith("Hint: ")]
    return "\n".join(lines).strip()


def _parsed(text: str) -> Any:
    try:
        return json.dumps(json.loads(text))
    except ValueError:
        return text


def record(case_dir: Path, cli: list[str], work: Path) -> None:
    """Run the real reference on every run of a case and write ``expected/``."""
    case = json.loads((case_dir / "case.json").read_text())
    target = case_dir / "expected"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    before_state = work / "before"
    now = int(time.time() * 1000)
    build(case, before_state / "state", before_state / "home", now)
    (target / "tree.before.txt").write_text(tree(before_state / "state", now))
    for run in case["runs"]:
        out = run_cli(cli, case, run, work / run["name"], isolate_network=True)
        (target / f"{run['name']}.rc").write_text(f"{out.rc}\n")
        suffix = "stdout.json" if out.as_json else "stdout.txt"
        (target / f"{run['name']}.{suffix}").write_text(out.stdout)
        (target / f"{run['name']}.stderr.txt").write_text(out.stderr)
        for agent, text in out.stores.items():
            (target / f"{run['name']}.sessions.{agent}.json").write_text(text)
        (target / f"{run['name']}.tree.after.txt").write_text(out.tree)


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[0] not in ("check", "record") or argv[1] != "--cli":
        print(__doc__, file=sys.stderr)
        return 2
    mode, cli, cases = argv[0], argv[2].split(), [Path(p) for p in argv[3:]]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="refcases-") as tmp:
        for case_dir in cases:
            if mode == "record":
                record(case_dir, cli, Path(tmp) / case_dir.name)
                print(f"recorded {case_dir}")
                continue
            case = json.loads((case_dir / "case.json").read_text())
            if case.get("kind", "cleanup") != "cleanup":
                print(f"skip {case_dir.name} ({case['kind']})")
                continue
            problems = []
            for run in case["runs"]:
                problems += compare(case_dir, run_cli(cli, case, run, Path(tmp) / case_dir.name / run["name"]))
            failed += bool(problems)
            print("\n".join(problems))
            print(f"{'DIFF' if problems else 'OK  '} {case_dir.name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
