"""Cancellation as a state of one operation (a cleanup, an agent delete).

A :class:`CancelToken` travels with the work (the CLI's signal handlers, or a
Gateway request whose client went away, set it). The work checks it at its
stage boundaries and stops with :class:`OperationCancelled` while nothing is
changed yet. Just before the first change (the store's write, a transcript's
rename, the config's rewrite) it passes the *point of no return*
(:meth:`CancelToken.begin_commit`): from then on a cancel is refused and the
operation completes, so it never stops half-way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from openclaw_core.base.errors import OpenClawError

CANCELLED_MESSAGE = "Cancelled; nothing was changed."
#: Ctrl-C where no write's cancel handling runs (start-up, a read): nothing to claim
INTERRUPTED_MESSAGE = "Interrupted."
EXIT_CANCELLED = 130  # 128 + SIGINT, for SIGTERM as well: the one code for "cancelled"


class OperationCancelled(OpenClawError):
    """The operation was cancelled before it changed anything."""

    exit_code = EXIT_CANCELLED

    def __init__(self, message: str = CANCELLED_MESSAGE) -> None:
        super().__init__(message)


class CancelToken:
    """Cancelled, committing, or neither; the two exclude each other (one lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._committing = False

    def cancel(self) -> bool:
        """Ask to cancel; False when the operation is already past its point of no return."""
        with self._lock:
            if self._committing:
                return False
            self._cancelled = True
            return True

    def begin_commit(self) -> None:
        """Pass the point of no return; raises :class:`OperationCancelled` if cancelled first."""
        with self._lock:
            if self._cancelled:
                raise OperationCancelled()
            self._committing = True

    def check(self) -> None:
        """A stage boundary: raise if cancelled (a no-op once committing)."""
        if self._cancelled and not self._committing:
            raise OperationCancelled()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def committing(self) -> bool:
        return self._committing


FINISHING_MESSAGE = "The write has started and cannot be cancelled; finishing it."
GATEWAY_CANCELLED_MESSAGE = ("Cancelled; the Gateway drops the job if its write had not started "
                             "(see `openclaw sessions` for the store as it is).")
EXIT_TERMINATED = 143  # 128 + SIGTERM: a cancel by SIGTERM says which signal it was


@contextmanager
def cancel_on_signals(token: CancelToken, on_late: Callable[[], None] | None = None) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM set ``token`` instead of raising
    KeyboardInterrupt into the middle of a write; a signal that comes after the
    point of no return calls ``on_late`` (once: say that the write is finishing).
    A cancel caused by SIGTERM exits 143, by SIGINT 130. Off the main thread
    (where signals cannot be handled) this does nothing."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    first: list[int] = []
    told: list[bool] = []

    def handle(signum: int, frame: object) -> None:
        if token.cancel():
            first.append(signum)
        elif on_late is not None and not told:
            told.append(True)
            on_late()

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handle)
    try:
        yield
    except OperationCancelled as exc:
        if first and first[0] == signal.SIGTERM:
            exc.exit_code = EXIT_TERMINATED
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def interrupt_while_waiting_for_gateway() -> Iterator[None]:
    """Ctrl-C while a Gateway runs the job: the connection closes with this process
    and the Gateway cancels the job unless its write had started; this process
    cannot know which, so it says that instead of "Cancelled." (exit 130)."""
    try:
        yield
    except KeyboardInterrupt:
        raise OperationCancelled(GATEWAY_CANCELLED_MESSAGE) from None
