"""The catalogue's version pushed to each web process by PostgreSQL, so a cached page costs no
database round trip (CARSALES_CATALOGUE_VERSION_PUSHED).

A trigger on the version's row NOTIFYs each new number (migration catalog 0019); PostgreSQL
delivers a notification only once its transaction commits. Each process serving catalogue pages
keeps, on a thread of its own, one connection LISTENing, and the highest number heard since it
began to listen. catalogue_version() answers with that number; while it is not known (the thread
starting, its connection lost or silent, a write of this process just committed) it reads the
row as before and, while listening, keeps what it read.

Why the number is never older than the row: the thread LISTENs before it reads the row, so every
commit after that read is heard; a number heard out of order is never taken over a higher one; a
request's read is kept only if nothing was forgotten meanwhile, and never one made inside a
transaction (which may hold its own uncommitted number). The process that committed a change
forgets the number at that commit, so its next request reads the row: that visitor sees their own
change at once. Another process sees it once PostgreSQL delivers the notification, which it
sends at the commit (well under a millisecond on one host). The thread also reads the row every
HEARTBEAT_SECONDS: a number it failed to hear (a process started before the trigger existed) is
taken then, and a connection that stops answering without closing makes the number unknown
after two heartbeats. A version moved backwards (a restore into the running server) is taken
only by a new listener: restart the web processes then, as after any restore.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections, transaction

logger = logging.getLogger(__name__)

CHANNEL = "carsales_catalogue_version"
APPLICATION_NAME = "carsales catalogue version"
# How long the thread waits for a notification before it reads the row again.
HEARTBEAT_SECONDS = 2.0
# Between two attempts to listen again after the connection broke.
RETRY_SECONDS = 1.0


def pushed_version(alias: str) -> int | None:
    """The catalogue's version as pushed to this process, or None: read the row then (through
    read_version)."""
    if not settings.CARSALES_CATALOGUE_VERSION_PUSHED or connections[alias].in_atomic_block:
        return None  # in a transaction, the row as this transaction sees it
    listener = _listeners.get(alias)
    if listener is None:
        if connections[alias].vendor != "postgresql":
            return None
        listener = _listeners.setdefault(alias, VersionListener(alias))
    return listener.known()


def read_version(alias: str, read: Callable[[], int]) -> int:
    """`read()` (the row's number), kept as this process's version when it may be."""
    listener = _listeners.get(alias)
    if listener is None or connections[alias].in_atomic_block:
        return read()
    return listener.read_through(read)


def version_moved_here(alias: str) -> None:
    """This process's transaction moved the version: its next request reads the row once the
    transaction commits (the notification may come a moment later)."""
    listener = _listeners.get(alias)
    if listener is not None:
        transaction.on_commit(listener.forget, using=alias, robust=True)


class VersionListener:
    """The catalogue's version as PostgreSQL pushes it to this process, or None when not known."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self._lock = threading.Lock()
        self._version: int | None = None
        self._listening = False
        self._answered_at = 0.0  # when the connection last answered (time.monotonic())
        self._forgotten = 0  # moved by forget() and by each new listen: a read begun before is stale
        self._pid: int | None = None  # the process the thread runs in: started anew after a fork
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def known(self) -> int | None:
        if self._pid != os.getpid():
            self._start()
        if time.monotonic() - self._answered_at > 2 * HEARTBEAT_SECONDS:
            return None  # a connection gone silent may have missed anything
        return self._version

    def read_through(self, read: Callable[[], int]) -> int:
        """`read()`, kept if the thread listened all along and nothing was forgotten meanwhile."""
        with self._lock:
            began = self._forgotten if self._listening else None
        version = read()
        with self._lock:
            if began == self._forgotten and (self._version is None or version > self._version):
                self._version = version
        return version

    def forget(self) -> None:
        with self._lock:
            self._version = None
            self._forgotten += 1

    def stop(self) -> None:
        """End the thread and close its connection: a database is dropped only once nobody is
        connected to it. Waits a heartbeat or two; a connection stuck on a silent server is left."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=3 * HEARTBEAT_SECONDS)

    def _heard(self, version: int) -> None:
        with self._lock:
            self._answered_at = time.monotonic()
            if self._version is None or version > self._version:
                self._version = version

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid, self._version, self._listening = os.getpid(), None, False
            self._thread = threading.Thread(target=self._run, name="catalogue-version-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except Exception:  # the connection broke, or never opened: requests read the row meanwhile
                logger.warning("The catalogue version listener lost its connection; the row is read", exc_info=True)
            with self._lock:
                self._version, self._listening = None, False
            self._stopping.wait(RETRY_SECONDS)

    def _listen(self) -> None:
        listener: Any = connections.create_connection(self.alias)  # its own connection, in autocommit
        try:
            listener.ensure_connection()
            connection = listener.connection
            connection.execute(f"SET application_name = '{APPLICATION_NAME}'")  # named in pg_stat_activity
            connection.execute(f"LISTEN {CHANNEL}")
            # Read after LISTEN: a commit before the read is in it, any after it is heard.
            row = connection.execute(version_sql(self.alias)).fetchone()
            with self._lock:
                self._version, self._listening = (int(row[0]) if row else 0), True
                self._answered_at = time.monotonic()
                self._forgotten += 1
            while not self._stopping.is_set():
                for notification in connection.notifies(timeout=HEARTBEAT_SECONDS):
                    self._heard(int(notification.payload))
                # Raises once the server is gone; and a number it failed to notify is taken here.
                row = connection.execute(version_sql(self.alias)).fetchone()
                self._heard(int(row[0]) if row else 0)
        finally:
            listener.close()


_listeners: dict[str, VersionListener] = {}


@cache
def version_sql(alias: str) -> str:
    """The version's read: a primary-key read written by hand, since building it with the ORM
    cost more than the read itself (a third of a cached page on SQLite)."""
    table = apps.get_model("catalog", "CatalogueVersion")._meta.db_table
    quote = connections[alias].ops.quote_name
    return f"SELECT {quote('number')} FROM {quote(table)} WHERE {quote('singleton')}"
