"""One LISTEN connection per process and database: every commit NOTIFYs
``<schema>_store_changes`` with ``"<store id> <version> <store name>"``, and
this thread hands each notification to the backends watching that store.

While the connection is down (database restart, network) the backends are
told so and ask the database for the version on every check; when it is back,
every watcher is called once, since anything may have changed meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
POLL_SECONDS = 0.5
PING_SECONDS = 10.0   # a silent connection is checked this often (a dead peer sends no error)


@dataclass(frozen=True)
class Notification:
    store_id: int
    version: int
    name: str
    sender_pid: int


class Watcher:
    """What a backend registers: a store name and two callbacks."""

    def __init__(self, name: str, on_notify: Callable[[Notification], None],
                 on_connection: Callable[[bool], None]) -> None:
        self.name = name
        self.on_notify = on_notify
        self.on_connection = on_connection


class Listener:
    def __init__(self, dsn: str, channel: str) -> None:
        self.dsn = dsn
        self.channel = channel
        self._watchers: dict[str, list[Watcher]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.connected = False
        self._thread = threading.Thread(target=self._run, name=f"openclaw-pg-listen:{channel}", daemon=True)
        self._thread.start()

    # -- registration ----------------------------------------------------------------------

    def add(self, watcher: Watcher) -> Callable[[], None]:
        with self._lock:
            self._watchers.setdefault(watcher.name, []).append(watcher)
            connected = self.connected
        watcher.on_connection(connected)

        def remove() -> None:
            with self._lock:
                group = self._watchers.get(watcher.name, [])
                if watcher in group:
                    group.remove(watcher)
                if not group:
                    self._watchers.pop(watcher.name, None)

        return remove

    def _all(self) -> list[Watcher]:
        with self._lock:
            return [w for group in self._watchers.values() for w in group]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    # -- the thread ----------------------------------------------------------------------------

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        for watcher in self._all():
            with contextlib.suppress(Exception):
                watcher.on_connection(connected)

    def _run(self) -> None:
        import time

        import psycopg
        from psycopg import sql

        from openclaw_store_postgres.settings import connect_options

        options = {**connect_options(self.dsn), "tcp_user_timeout": "15000"}
        failures = 0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True, application_name="openclaw-listen",
                                     **options) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    failures = 0
                    self._set_connected(True)
                    heard = time.monotonic()
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=POLL_SECONDS):
                            self._dispatch(notify.payload, notify.pid)
                            heard = time.monotonic()
                        if time.monotonic() - heard > PING_SECONDS:
                            conn.execute("SELECT 1")  # raises once the server is gone
                            heard = time.monotonic()
            except psycopg.Error as exc:
                log.debug("listener on %s lost its connection: %s", self.channel, exc)
            if self.connected:
                self._set_connected(False)
            if self._stop.wait(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]):
                break
            failures += 1

    def _dispatch(self, payload: str, pid: int) -> None:
        try:
            store_id, version, name = payload.split(" ", 2)
            notification = Notification(int(store_id), int(version), name, pid)
        except ValueError:
            return  # not ours
        with self._lock:
            watchers = list(self._watchers.get(notification.name, ()))
        for watcher in watchers:
            try:
                watcher.on_notify(notification)
            except Exception:  # noqa: BLE001 - one watcher must not stop the others
                log.exception("store watcher failed")


_listeners: dict[tuple[str, str], Listener] = {}
_listeners_lock = threading.Lock()


def get_listener(dsn: str, channel: str) -> Listener:
    with _listeners_lock:
        listener = _listeners.get((dsn, channel))
        if listener is None:
            listener = Listener(dsn, channel)
            _listeners[(dsn, channel)] = listener
        return listener


def stop_all_listeners() -> None:
    """Stop every listener thread (tests, shutdown)."""
    with _listeners_lock:
        listeners = list(_listeners.values())
        _listeners.clear()
    for listener in listeners:
        listener.stop()
