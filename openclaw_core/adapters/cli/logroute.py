"""Log records the CLI shows or hides for ``-v`` and ``-q`` (imported only then:
``logging`` is start-up time every other run would pay).

Core modules log what ``-v`` shows with ``logging.getLogger(__name__).debug(...)``,
so they never import the CLI; the maintenance log's info lines are dropped by
``-q`` when they would go to stderr.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

#: the maintenance log (openclaw_core.engine.maintenance.LOGGER_NAME; not imported here: it is heavy)
STORE_LOGGER = "openclaw.sessions.store"


class _DetailHandler(logging.Handler):
    """``openclaw_core.*`` debug lines (which transport answered, which store was
    read) on the stderr of the moment, as ``-v`` detail lines."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _show["detail"](record.getMessage())
        except Exception:  # noqa: BLE001 - a detail line must never break a command
            self.handleError(record)


class _QuietFilter(logging.Filter):
    """With ``-q``, maintenance info lines that would go to stderr are dropped
    (in text mode they go to stdout, as the reference prints them: output, kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _show["quiet"]() or record.levelno >= logging.WARNING:
            return True
        return any(getattr(h, "info_to_stdout", False) for h in logging.getLogger(record.name).handlers)


_detail_handler = _DetailHandler(logging.DEBUG)
logging.getLogger(STORE_LOGGER).addFilter(_QuietFilter())


# How a detail line is shown and whether -q is on: given by the output module (which imports this one).
_show: dict[str, Callable[..., Any]] = {"detail": lambda line: None, "quiet": lambda: False}


def apply(*, verbose: bool, detail: Callable[[str], None], quiet: Callable[[], bool]) -> None:
    _show.update(detail=detail, quiet=quiet)
    log = logging.getLogger("openclaw_core")
    if verbose:
        if _detail_handler not in log.handlers:
            log.addHandler(_detail_handler)
        log.setLevel(logging.DEBUG)
    elif _detail_handler in log.handlers:
        log.removeHandler(_detail_handler)
        log.setLevel(logging.NOTSET)
