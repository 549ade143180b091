"""What a maintenance run does besides changing entries, kept until its commit
decides: the planned file operations, the log lines, and the sibling stores'
locks the plan was made under."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any

from openclaw_core.base.fileplan import FilePlan

#: the maintenance log (its handler is set up in openclaw_core.engine.maintenance)
LOGGER_NAME = "openclaw.sessions.store"


class DeferredEffects:
    """What a maintenance run does besides changing entries: its file operations and
    its log lines. The writer performs the files after the commit's point of no
    return and prints the lines once the commit is durable; a commit that fails
    or is cancelled drops both, so no file moved and no success was claimed."""

    def __init__(self, log: Callable[[str], None] | None = None) -> None:
        self.files = FilePlan()
        self.logs: list[tuple[int, str]] = []
        self._log = log
        self._held = ExitStack()
        self._held_keys: set[str] = set()

    def hold(self, key: str, lock: AbstractContextManager[Any]) -> None:
        """Take ``lock`` (a sibling store's, which a policy decides under) and keep
        it until :meth:`release`: the files planned on what that store showed are
        removed later, at the point of no return, and it must not name them
        meanwhile. A lock already held under ``key`` is not taken twice."""
        if key not in self._held_keys:
            self._held.enter_context(lock)
            self._held_keys.add(key)

    def holds(self, key: str) -> bool:
        return key in self._held_keys

    def release(self) -> None:
        self._held_keys.clear()
        self._held.close()

    def apply_files(self) -> None:
        self.files.apply()

    def emit_logs(self) -> None:
        lines, self.logs = self.logs, []
        for level, message in lines:
            if self._log is not None:
                self._log(message)
            else:
                logging.getLogger(LOGGER_NAME).log(level, message)
