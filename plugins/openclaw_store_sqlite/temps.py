"""Temp databases of :func:`~openclaw_store_sqlite.schema.create_database`: their
names, and the sweep of those a killed process left behind.

A database is built under ``<db>.<pid>.<uuid>.tmp`` (with SQLite's ``-wal`` and
``-shm`` beside it while open) and linked into place. A process killed in between
leaves them; nothing else ever would remove them. The creator's pid in the name
says who owns one: a temp is removed only when it has exactly our name form and
no live process has that pid (a reused pid keeps it: safe side). Names without a
pid are never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid

_TEMP = re.compile(r"\.([1-9][0-9]{0,9})\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp"
                   r"(?:-wal|-shm|-journal)?")


def temp_name(db_path: str) -> str:
    """Where a new database for ``db_path`` is built: names its creator."""
    return f"{db_path}.{os.getpid()}.{uuid.uuid4()}.tmp"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OverflowError:
        return False
    return True


def sweep_temps(db_path: str) -> list[str]:
    """Remove the temp databases of ``db_path`` whose creator is gone; return their paths."""
    directory, prefix = os.path.split(db_path)
    removed = []
    with contextlib.suppress(OSError), os.scandir(directory or ".") as it:
        for item in it:
            if not item.name.startswith(prefix):
                continue
            found = _TEMP.fullmatch(item.name, len(prefix))
            if found is None or _alive(int(found.group(1))):
                continue
            with contextlib.suppress(OSError):
                if item.is_file(follow_symlinks=False):
                    os.unlink(item.path)
                    removed.append(item.path)
    return removed
