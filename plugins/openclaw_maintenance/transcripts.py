"""Where an entry's transcript and sidecars are, and moving them safely.

Nothing here ever acts on a path outside the store's directory: candidates are
compared after ``realpath``, so a symlink inside the directory that points out
of it is never followed, and a ``sessionFile`` outside the sessions dir is
never renamed or deleted.

:class:`SessionFiles` answers for one sessions dir during one maintenance run.
It lists the directory once, so that the common case (a plain file directly in
the dir) costs no system call per entry: a store of 50,000 entries would
otherwise pay for hundreds of thousands of ``lstat`` calls in ``realpath``.

Given the run's :class:`~openclaw_core.base.fileplan.FilePlan`, it renames and
unlinks nothing itself: it plans the operation and from then on answers as if
it had been done (the writer performs the plan when the commit goes through).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from openclaw_core.config import paths

from openclaw_core.base import regular_file
from openclaw_core.base.errors import OpenClawError
from openclaw_core.base.fileplan import GONE, FilePlan, Moved
from openclaw_core.js.values import js_trim
from openclaw_core.base.keys import normalize_agent_id
from openclaw_core.base.mapping import is_mapping

from openclaw_maintenance import artifacts

_FILE, _DIR, _LINK, _OTHER = "file", "dir", "link", "other"


class InvalidSessionId(OpenClawError):
    """A ``sessionId`` that cannot name a transcript (the reference's ``validateSessionId``)."""

    def __init__(self, session_id: Any) -> None:
        super().__init__(f"Error: Invalid session ID: {session_id}")


def session_file_of(entry: Mapping[str, Any] | None) -> str | None:
    value = entry.get("sessionFile") if is_mapping(entry) else None
    return value if isinstance(value, str) and js_trim(value) else None


def _real(path: str) -> str | None:
    try:
        return os.path.realpath(path, strict=True)
    except OSError:
        return None


def _relative(base: str, target: str) -> str:
    rel = os.path.relpath(target, base)
    return "" if rel == "." else rel


def is_inside(base: str, path: str) -> bool:
    """Node's ``path.relative(base, path)`` is non-empty, does not start with ``..``
    (a file named ``..x`` counts as outside, as in the reference) and is not absolute.
    Both paths are absolute and normalised."""
    prefix = base if base.endswith(os.sep) else base + os.sep
    if not path.startswith(prefix):
        return False
    rel = path[len(prefix):]
    return bool(rel) and not rel.startswith("..")


def _agent_of_sessions_path(path: str) -> tuple[list[str], int] | None:
    parts = [p for p in os.path.normpath(os.path.abspath(path)).split(os.sep) if p]
    if "sessions" not in parts:
        return None
    index = len(parts) - 1 - parts[::-1].index("sessions")
    if index < 2 or parts[index - 2] != "agents":
        return None
    return parts, index


def _from_agent_dir(agent_dir: str, candidate: str) -> str | None:
    base = _real(os.path.abspath(agent_dir)) or os.path.abspath(agent_dir)
    rel = _relative(base, _real(candidate) or candidate)
    if not rel or rel.startswith("..") or os.path.isabs(rel):
        return None
    return os.path.normpath(os.path.join(base, rel))


def _stems_of(name: str) -> Iterator[str]:
    """``a``, ``a.b`` of ``a.b.jsonl``: what precedes each dot."""
    dot = name.find(".")
    while dot != -1:
        yield name[:dot]
        dot = name.find(".", dot + 1)


class SessionFiles:
    """Transcript paths and file facts of one sessions dir (see the module docstring)."""

    def __init__(self, sessions_dir: str, plan: FilePlan | None = None) -> None:
        self.dir = os.path.abspath(sessions_dir)
        self.real = _real(self.dir) or self.dir
        self.plan = plan
        self._prefixes = tuple(dict.fromkeys(p if p.endswith(os.sep) else p + os.sep for p in (self.real, self.dir)))
        self._kinds: dict[str, str] | None = None
        # Every "<stem>" of a name "<stem>.<rest>" listed here (a superset once names go).
        self._stems: set[str] | None = None

    # -- the directory listing ------------------------------------------------------------

    def _listing(self) -> dict[str, str]:
        if self._kinds is None:
            kinds: dict[str, str] = {}
            try:
                with os.scandir(self.dir) as scan:
                    for item in scan:
                        try:
                            if item.is_symlink():
                                kinds[item.name] = _LINK
                            elif item.is_file(follow_symlinks=False):
                                kinds[item.name] = _FILE
                            elif item.is_dir(follow_symlinks=False):
                                kinds[item.name] = _DIR
                            else:
                                kinds[item.name] = _OTHER
                        except OSError:
                            kinds[item.name] = _OTHER
            except OSError:
                pass
            if self.plan:
                # What this dir will hold once the operations planned so far are done.
                for name, planned in self.plan.entries_in(self.dir):
                    if planned == GONE:
                        kinds.pop(name, None)
                    elif isinstance(planned, Moved):
                        kinds[name] = planned.kind
            self._kinds = kinds
        return self._kinds

    def names(self) -> list[str]:
        """The names in the dir (as planned so far), in listing order."""
        return list(self._listing())

    def _child(self, path: str) -> str | None:
        """The name when ``path`` (absolute, normalised) is directly in the sessions dir, else None."""
        for prefix in self._prefixes:
            if path.startswith(prefix):
                name = path[len(prefix):]
                if name and os.sep not in name and name not in (".", ".."):
                    return name
        return None

    def _kind(self, path: str) -> str | None | bool:
        """The listed kind of a direct child (None: not there), or False when unknown here."""
        name = self._child(path)
        if name is None:
            planned = self.plan.state(path) if self.plan else None
            if planned == GONE:
                return None
            if isinstance(planned, Moved):
                return planned.kind
            return False
        return self._listing().get(name)

    def _on_disk(self, path: str) -> str | None:
        """Where ``path`` (followed through a symlink) is now, given the plan; None if planned gone."""
        if not self.plan:
            return path
        return self.plan.origin(os.path.realpath(path))

    def size(self, path: str) -> int | None:
        """``stat().size`` (follows symlinks) as it will be when the plan is done; None when absent."""
        where = self._on_disk(path)
        if where is None:
            return None
        try:
            return os.stat(where).st_size
        except OSError:
            return None

    def lstat(self, path: str) -> os.stat_result | None:
        """``lstat`` of a path as it will be when the plan is done (a rename keeps the mtime)."""
        if self.plan:
            planned = self.plan.state(path)
            if planned == GONE:
                return None
            if isinstance(planned, Moved):
                path = planned.origin
        try:
            return os.lstat(path)
        except OSError:
            return None

    def canonical(self, path: str) -> str:
        """``realpath`` of ``path`` (the reference's canonical form for comparisons)."""
        name = self._child(path)
        if name is None:
            return os.path.realpath(os.path.abspath(path))
        if self._listing().get(name) == _LINK:
            return os.path.realpath(path)
        return os.path.join(self.real, name)

    def exists(self, path: str) -> bool:
        """``existsSync``: follows symlinks."""
        kind = self._kind(path)
        if kind is False or kind == _LINK:
            where = self._on_disk(path)
            return where is not None and os.path.exists(where)
        return kind is not None

    def is_regular_non_symlink(self, path: str) -> bool:
        kind = self._kind(path)
        if kind is False:
            try:
                return stat.S_ISREG(os.lstat(path).st_mode)
            except OSError:
                return False
        return kind == _FILE

    def is_file(self, path: str) -> bool:
        """``stat().isFile()``: follows symlinks."""
        kind = self._kind(path)
        if kind is False or kind == _LINK:
            where = self._on_disk(path)
            return where is not None and os.path.isfile(where)
        return kind == _FILE

    def _forget(self, path: str) -> None:
        name = self._child(path)
        if name is not None and self._kinds is not None:
            self._kinds.pop(name, None)

    def _learn(self, path: str, kind: str) -> None:
        name = self._child(path)
        if name is not None and self._kinds is not None:
            self._kinds[name] = kind
            if self._stems is not None:
                self._stems.update(_stems_of(name))

    def may_hold(self, session_id: Any, session_file: str | None) -> bool:
        """False when a removed session certainly has no file here to archive or
        delete: it names no ``sessionFile``, and no name in the dir (as planned)
        starts with ``<id>.``, as its transcript and trajectory files all would.
        One set lookup: a cleanup asks it for every entry it removes, and most of
        those sessions' files are long gone."""
        if session_file or not isinstance(session_id, str):
            return True
        if self._stems is None:
            self._stems = {stem for name in self._listing() for stem in _stems_of(name)}
        return js_trim(session_id) in self._stems

    def unlink(self, path: str) -> bool:
        """Remove a file or a symlink itself (never what it points to); with a plan, plan it."""
        if self.plan is not None:
            self.plan.unlink(path)
        else:
            try:
                os.unlink(path)
            except OSError:
                return False
        self._forget(path)
        return True

    def rename(self, source: str, target: str) -> bool:
        """Rename a regular file (with a plan, plan it)."""
        if self.plan is not None:
            self.plan.rename(source, target, _FILE)
        else:
            try:
                os.rename(source, target)
            except OSError:
                return False
        self._forget(source)
        self._learn(target, _FILE)
        return True

    # -- the reference's path rules ------------------------------------------------------------

    def within(self, candidate: str) -> str | None:
        """``resolvePathWithinSessionsDir``: a path the reference accepts as a transcript
        of this dir, or None. As lenient as the reference (``sub/../../x`` and absolute
        ``.../agents/<id>/sessions/<file>`` paths are accepted), so that results agree;
        every file operation re-checks that the real path is inside the dir."""
        trimmed = js_trim(candidate)
        if not trimmed:
            return None
        if not os.path.isabs(trimmed):
            if trimmed.startswith(".."):
                return None
            if os.sep not in trimmed and trimmed != ".":
                return os.path.join(self.real, trimmed)  # a plain name: nothing to normalise
            return os.path.normpath(os.path.join(self.real, trimmed))
        real_candidate = _real(trimmed) or trimmed
        normalized = _relative(self.real, real_candidate)
        if normalized.startswith(".."):
            found = _agent_of_sessions_path(real_candidate)
            if found is not None:
                parts, index = found
                agent_part = parts[index - 1]
                fallback = self._agent_fallback(real_candidate, agent_part)
                if fallback:
                    return fallback
                # Structurally .../agents/<id>/sessions/<file>: accepted as it is.
                if normalize_agent_id(agent_part) == js_trim(agent_part).lower() \
                        and len(parts) - index - 1 == 1 and parts[-1] not in (".", ".."):
                    return os.path.normpath(os.path.abspath(real_candidate))
        if not normalized or normalized.startswith("..") or os.path.isabs(normalized):
            return None
        return os.path.normpath(os.path.join(self.real, normalized))

    def _agent_fallback(self, candidate: str, agent_id: str) -> str | None:
        normalized = normalize_agent_id(agent_id)
        base = self.real
        if os.path.basename(base) == "sessions" and os.path.basename(os.path.dirname(os.path.dirname(base))) == "agents":
            sibling = os.path.join(os.path.dirname(os.path.dirname(base)), normalized, "sessions")
            found = _from_agent_dir(sibling, candidate)
            if found:
                return found
        return _from_agent_dir(str(paths.agent_sessions_dir(paths.resolve_state_dir(), normalized)), candidate)

    def resolve(self, session_id: Any, session_file: str | None) -> str:
        """``resolveSessionFilePath``: ``sessionFile`` when the dir accepts it, else
        ``<dir>/<sessionId>.jsonl``. Raises :class:`InvalidSessionId` when it has to
        fall back on an id that cannot name a file."""
        if session_file:
            inside = self.within(session_file)
            if inside is not None:
                return inside
        if not isinstance(session_id, str) or not paths.is_valid_session_id(session_id):
            raise InvalidSessionId(session_id)
        inside = self.within(js_trim(session_id) + ".jsonl")
        if inside is None:
            raise InvalidSessionId(session_id)
        return inside

    def candidates(self, session_id: Any, session_file: str | None) -> list[str]:
        """The files a removed session's transcript may be (its ``sessionFile``, ``<id>.jsonl``)."""
        found: list[str] = []
        if session_file:
            with contextlib.suppress(InvalidSessionId):
                found.append(self.resolve(session_id, session_file))
        if isinstance(session_id, str) and paths.is_valid_session_id(session_id):
            inside = self.within(js_trim(session_id) + ".jsonl")
            if inside is not None:
                found.append(inside)
        return list(dict.fromkeys(found))

    # -- acting ------------------------------------------------------------------------------------

    def archive(self, session_id: Any, session_file: str | None, reason: str,
                keep: Callable[[str], bool] | None = None) -> list[str]:
        """Rename every existing transcript of a removed session that lies inside the
        dir (after realpath) to ``<file>.<reason>.<TS>``; returns the new paths.
        ``keep(canonical)`` true leaves that file alone (another store uses it)."""
        archived: list[str] = []
        for candidate in self.candidates(session_id, session_file):
            real = self.canonical(candidate)
            if not is_inside(self.real, real) or not self.exists(real) or (keep is not None and keep(real)):
                continue
            target = f"{real}.{reason}.{artifacts.archive_timestamp()}"
            if self.rename(real, target):
                archived.append(target)
        return archived

    def remove_trajectory_sidecars(self, session_id: Any, session_file: str | None,
                                   keep: Callable[[str], bool] | None = None) -> list[str]:
        """Remove ``<base>.trajectory.jsonl`` and ``<base>.trajectory-path.json`` of a
        removed session (inside the dir), and the runtime file its pointer names when
        that file proves to be this session's trace. Regular files only, never a symlink;
        never a file for which ``keep(canonical)`` is true (another store uses it)."""
        try:
            transcript = self.resolve(session_id, session_file)
        except InvalidSessionId:
            return []
        removed: list[str] = []
        pointer = artifacts.trajectory_pointer_path(transcript)
        default_runtime = artifacts.trajectory_runtime_path(transcript)
        if self._kind(pointer) is None and self._kind(default_runtime) is None:
            return removed  # both would be plain names of this dir, and neither is there
        runtimes = [default_runtime]
        pointed = self._pointer_runtime_file(pointer, session_id)
        if pointed is not None and pointed not in runtimes:
            runtimes.append(pointed)
        default_real = self.canonical(default_runtime)
        for runtime in runtimes:
            real = self.canonical(runtime)
            inside = is_inside(self.real, real)
            if real == default_real:
                allowed = inside
            elif inside:
                allowed = True
            else:
                # Outside the dir only a file named after the session whose first
                # event says it is that session's runtime trace.
                allowed = isinstance(session_id, str) \
                    and os.path.basename(real) == artifacts.safe_trajectory_name(session_id) + ".jsonl" \
                    and _starts_with_session_event(real, session_id)
            if allowed and keep is not None and keep(real):
                allowed = False
            if allowed and self.is_regular_non_symlink(runtime) and _regular_now(runtime) and self.unlink(runtime):
                removed.append(os.path.abspath(runtime))
        pointer_real = self.canonical(pointer)
        if is_inside(self.real, pointer_real) and not (keep is not None and keep(pointer_real)) \
                and self.is_regular_non_symlink(pointer) and _regular_now(pointer) and self.unlink(pointer):
            removed.append(os.path.abspath(pointer))
        return removed

    def _pointer_runtime_file(self, pointer: str, session_id: Any) -> str | None:
        if not self.is_regular_non_symlink(pointer):
            return None
        try:  # swapped for a FIFO since the listing: refused, never waited on
            data = json.loads(regular_file.read_bytes(pointer).decode("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("traceSchema") != "openclaw-trajectory-pointer" \
                or data.get("schemaVersion") != 1 or data.get("sessionId") != session_id:
            return None
        runtime = data.get("runtimeFile")
        if not isinstance(runtime, str) or not js_trim(runtime):
            return None
        return os.path.abspath(runtime)

    def artifact_paths(self, entry: Mapping[str, Any]) -> list[str]:
        """The disk budget's files of an entry: its transcript (inside the dir, after
        realpath), and that transcript's trajectory pointer and runtime file."""
        session_id = entry.get("sessionId")
        if not session_id:
            return []
        try:
            resolved = self.resolve(session_id, session_file_of(entry))
        except InvalidSessionId:
            return []
        real = self.canonical(resolved)
        if not is_inside(self.real, real):
            return []
        return [real, artifacts.trajectory_pointer_path(real), artifacts.trajectory_runtime_path(real)]


def _regular_now(path: str) -> bool:
    """A regular file (no symlink) at this moment: the listing may be older than an
    outside program's swap, and only regular sidecars are ours to delete."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _starts_with_session_event(path: str, session_id: Any) -> bool:
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        head = regular_file.read_bytes(path, limit=64 * 1024).decode("utf-8", "replace")
    except OSError:
        return False
    for line in re.split(r"\r?\n", head):  # as the reference splits (not str.splitlines)
        line = js_trim(line)
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            return False
        return isinstance(event, dict) and event.get("traceSchema") == "openclaw-trajectory" \
            and event.get("schemaVersion") == 1 and event.get("source") == "runtime" \
            and event.get("sessionId") == session_id
    return False


