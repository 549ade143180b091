#!/usr/bin/env python3
"""Show that each fault test fails when the protection it guards is removed.

    python tests/protection_check.py [NAME ...] [--list] [--keep]

For every mutation below (all of them, or the NAMEs given): copy the work tree
to a temp dir, remove one protection there (a literal text replacement that
must match), run the tests that guard it against that copy (PYTHONPATH points
at it, so the CLI and Gateway subprocesses run the mutated code too), and
expect them to FAIL. The work tree itself is never touched. Prints one line
per mutation and exits 1 if a test still passed without its protection.

Not collected by pytest (no test_ prefix): it takes several minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    why: str
    edits: tuple[tuple[str, str, str], ...]  # (file, old text, new text): every occurrence replaced
    tests: tuple[str, ...]


FILE_BACKEND = "plugins/openclaw_store_file/backend.py"
MUTATIONS = [
    Mutation("atomic-rename", "write sessions.json in place instead of temp file + rename",
             ((FILE_BACKEND, "fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)",
               "fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)"),
              (FILE_BACKEND, "            self._swap_in(temp, expected_version, version[0])\n", "")),
             ("tests/test_crash.py",)),
    Mutation("durable-before-ack", "let the rename happen 0.2 s after the commit is acknowledged",
             ((FILE_BACKEND, "            self._swap_in(temp, expected_version, version[0])\n",
               "            __import__('threading').Timer(0.2, os.replace, (temp, self.path)).start()\n"
               "            temp += '.deferred'\n"),),
             ("tests/test_crash.py",)),
    Mutation("temp-cleanup", "never remove the temp files a killed writer left",
             ((FILE_BACKEND, "                if item.name.startswith(prefix) and item.name.endswith(\".tmp\") \\\n",
               "                if False and item.name.endswith(\".tmp\") \\\n"),),
             ("tests/test_crash.py", "tests/test_crash_gateway.py")),
    Mutation("temp-cleanup-once", "clean leftover temps only at a backend's first lock (a long-lived Gateway never again)",
             ((FILE_BACKEND, "            if self._dir_seen is None or self._dir_stamp() != self._dir_seen:",
               "            if self._dir_seen is None:"),),
             ("tests/test_crash_gateway.py::test_a_temp_left_while_the_gateway_runs_is_removed_at_its_next_commit",)),
    Mutation("version-check", "trust the cached store: no reload when the file moved, no check before the rename",
             (("openclaw_core/engine/store/writer.py", "if state is not None and self.backend.version() != state.version:",
               "if False:"),
              (FILE_BACKEND, "if self.version() != expected_version:", "if False:")),
             ("tests/test_races.py::test_gateway_patches_offline_cleanup_and_outside_editor_lose_nothing",)),
    Mutation("store-lock", "the offline lock plugin hands out no lock",
             (("plugins/openclaw_offline_lock/__init__.py", "    return _hold(lock_path, store_path, timeout)",
               "    return __import__('contextlib').nullcontext()"),),
             ("tests/test_races.py::test_two_offline_cleanups_take_turns_on_the_store_lock",)),
    Mutation("empty-store-refused", "read an empty sessions.json as {} (what 2026.5.3 did)",
             (("openclaw_core/engine/store/state.py", '            raise StoreCorruptError(source, "the file is empty")',
               "            return cls.missing(version)"),),
             ("tests/test_store_properties.py",)),
    Mutation("utf8-strict", "decode a non-UTF-8 store with replacement characters",
             (("openclaw_core/js/json.py", 'text = data.decode("utf-8") if', 'text = data.decode("utf-8", "replace") if'),),
             ("tests/test_store_properties.py::test_damaged_bytes_are_refused_by_both_loaders",
              "tests/test_store_properties.py::test_cli_refuses_a_damaged_store_in_one_line")),
    Mutation("depth-limit", "no nesting limit in the encoder (orjson's TypeError / RecursionError escape)",
             (("openclaw_core/js/json.py", "        if len(indent) >= 2 * MAX_DEPTH:\n            raise JSONError(_TOO_DEEP)\n", ""),
              ("openclaw_core/js/json.py", '                if "Recursion" not in str(exc):\n                    raise\n'
                                          "                raise JSONError(_TOO_DEEP) from None", "                raise")),
             ("tests/test_store_properties.py",)),
    Mutation("lazy-verify-error", "a lazily loaded entry that cannot be re-encoded raises a bare JSONError",
             (("openclaw_core/engine/store/state.py",
               "        except jsjson.JSONError as exc:  # parsed, but cannot be written back (nested too deeply)\n"
               "            raise StoreCorruptError(self.source, f'entry {jsjson.js_string(key)}: {exc}') from None\n",
               "        except ZeroDivisionError:\n            raise\n"),),
             ("tests/test_store_properties.py::test_cli_refuses_a_damaged_store_in_one_line",)),
    Mutation("inflight-cap", "read and start every pipelined request of a connection at once",
             (("openclaw_core/adapters/gateway/requests.py", "if len(session.tasks) >= MAX_INFLIGHT_PER_CONNECTION:", "if False:"),),
             ("tests/test_gateway_fuzz.py::test_a_flood_on_one_connection_is_answered_and_others_are_still_served",
              "tests/test_gateway_fuzz.py::test_a_flooder_that_never_reads_cannot_grow_the_gateway")),
    Mutation("frame-validation", "dispatch frames without checking their shape",
             (("openclaw_core/adapters/gateway/requests.py", "        problem = protocol.validate(frame, protocol.REQUEST_FRAME)\n"
               "        if problem is not None:\n            frame_id",
               "        problem = None\n        if problem is not None:\n            frame_id"),),
             ("tests/test_gateway_fuzz.py::test_malformed_frames_get_a_documented_error_and_the_connection_lives",)),
    Mutation("params-validation", "call method handlers with unchecked params",
             (("openclaw_core/adapters/gateway/requests.py", "problem = protocol.validate(params, method.params)", "problem = None"),),
             ("tests/test_gateway_fuzz.py::test_wrong_params_for_every_method_get_a_documented_answer",
              "tests/test_gateway_fuzz.py::test_no_params_fuzz_made_a_handler_fail")),
    Mutation("cli-oserror", "let an OSError reach the top of the CLI (a traceback)",
             (("openclaw_core/adapters/cli/__init__.py", "    except OSError as exc:", "    except ZeroDivisionError as exc:"),),
             ("tests/test_limits.py",)),
    Mutation("cli-usage-one-line", "click's Usage/Try/Error block for a bad flag",
             (("openclaw_core/adapters/cli/__init__.py", "    except click.UsageError as exc:", "    except ZeroDivisionError as exc:"),),
             ("tests/test_limits.py",)),
    Mutation("config-depth", "a deeply nested config file reaches the top as RecursionError",
             (("openclaw_core/config/model.py", "        except RecursionError:\n            raise invalid_config(", "        except ZeroDivisionError:\n            raise invalid_config("),),
             ("tests/test_limits.py::test_an_unparseable_config_file_is_one_problem_line",)),
    Mutation("listing-container-copy", "sessions --json rows share the entry's containers (the dump reorders them in place)",
             (("openclaw_core/services/listing_json.py", "                if type(value) is not float:\n                    value = copy.deepcopy(value)\n",
               "                pass\n"),),
             ("tests/test_listing_read_only.py::test_json_rows_built_at_once_are_those_of_the_general_path",)),
    Mutation("listing-simple-rows", "every --json row dumped by orjson at once (floats as orjson prints them)",
             (("openclaw_core/services/listing_json.py", "    if all(row.json_simple for row in listing.rows):",
               "    if True:"),),
             ("tests/test_listing_read_only.py",)),
    Mutation("depth-pad-too-small", "pad the listing's parse too little: it takes a store nested deeper than a commit writes",
             (("openclaw_core/engine/store/state.py", "DEPTH_PAD = 770", "DEPTH_PAD = 768"),),
             ("tests/test_listing_read_only.py",)),
    Mutation("lazy-split-escaped-keys", "split a file whose keys hold escapes at their first '\": ' (a wrong key)",
             (("openclaw_core/engine/store/members.py", '            if b"\\\\" in key_bytes:\n                return _SKIPPED',
               "            if False:\n                return _SKIPPED"),),
             ("tests/test_store_lazy.py::test_keys_with_escapes_are_split_lazily_too",)),
    Mutation("quick-exit-waits-for-threads", "end the console process at once even while a non-daemon thread runs",
             (("openclaw_core/base/quick_exit.py",
               "    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):",
               "    if False:"),),
             ("tests/test_quick_exit.py::test_a_running_thread_gets_the_ordinary_exit",)),
    Mutation("startup-collector-on", "leave the cyclic collector off after start-up (the command's work without it)",
             (("openclaw_core/base/quick_exit.py", "        gc.enable()", "        pass"),),
             ("tests/test_quick_exit.py::test_the_collector_is_off_during_start_up_and_on_with_start_up_frozen_for_the_command",)),
    Mutation("parsed-pretty-digit-keys", "orjson's text for a parsed entry with an integer-like key (file order, not JS's)",
             (("openclaw_core/js/json.py", """(?:-?[0-9]+[.eE]|"[0-9]+": )')""", """(?:-?[0-9]+[.eE])')"""),),
             ("tests/test_store_lazy.py::test_a_store_in_orjsons_layout_is_written_back_as_javascript_writes_it",)),
]


def copy_tree(dest: Path) -> None:
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", "demo-state", "*.egg-info", "report")
    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)


def apply(tree: Path, mutation: Mutation) -> None:
    for rel, old, new in mutation.edits:
        path = tree / rel
        text = path.read_text()
        if old not in text:
            raise SystemExit(f"{mutation.name}: the protection moved ({rel} no longer contains {old[:60]!r}); "
                             "update this script")
        path.write_text(text.replace(old, new))


def run_tests(tree: Path, tests: tuple[str, ...]) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{tree / 'plugins'}", PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                           "--hypothesis-seed=0", *tests], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=1800)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    why = next((line.strip() for line in lines if line.startswith("E  ")), "")
    return proc.returncode, (f"{failed[0]}\n{'':10} {why}" if failed else (lines[-1] if lines else proc.stderr[-300:]))


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--list" in sys.argv:
        for m in MUTATIONS:
            print(f"{m.name:20} {m.why}\n{'':20} guarded by {', '.join(m.tests)}")
        return 0
    chosen = [m for m in MUTATIONS if not args or m.name in args]
    survivors = []
    for mutation in chosen:
        tmp = Path(tempfile.mkdtemp(prefix=f"oc-protect-{mutation.name}."))
        tree = tmp / "tree"
        try:
            copy_tree(tree)
            apply(tree, mutation)
            started = time.monotonic()
            code, evidence = run_tests(tree, mutation.tests)
        finally:
            if "--keep" not in sys.argv:
                shutil.rmtree(tmp, ignore_errors=True)
        verdict = "caught" if code != 0 else "NOT CAUGHT"
        if code == 0:
            survivors.append(mutation.name)
        print(f"{verdict:10} {mutation.name:20} ({time.monotonic() - started:.0f}s) {mutation.why}\n"
              f"{'':10} {evidence[:400]}", flush=True)
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
