"""carsales.core.sqlite: a writer waiting for SQLite's write lock takes it as soon as it is free.

SQLite's own busy handler would have it look again only every 50-100 ms after a few hundred ms
of waiting, and a busy writer would take the lock again in between."""

import threading
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from carsales.core.models import AttemptCount

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock"),
]
HELD = 0.35  # seconds: SQLite's own handler would look next at 0.428 s


def holding_the_lock() -> tuple[threading.Thread, list[float]]:
    """A thread that takes the write lock and holds it HELD seconds; returns with the lock held.
    The list gets when it was released."""
    holding = threading.Event()
    released_at: list[float] = []

    def hold() -> None:
        try:
            with transaction.atomic():  # BEGIN IMMEDIATE: the write lock from the start
                AttemptCount.objects.create(key="holder", expires_at=timezone.now())
                holding.set()
                time.sleep(HELD)
            released_at.append(time.monotonic())
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(timeout=10)
    return holder, released_at


def test_a_write_waiting_for_the_lock_runs_within_milliseconds_of_its_release():
    holder, released_at = holding_the_lock()
    began = time.monotonic()
    AttemptCount.objects.create(key="waiter", expires_at=timezone.now())  # outside a transaction: waits
    wrote_at = time.monotonic()
    holder.join(timeout=10)

    assert wrote_at - began >= HELD * 0.8  # it did wait for the lock
    assert wrote_at - released_at[0] < 0.05
    assert set(AttemptCount.objects.values_list("key", flat=True)) == {"holder", "waiter"}


def test_a_transaction_waiting_for_the_lock_begins_within_milliseconds_of_its_release():
    holder, released_at = holding_the_lock()
    with transaction.atomic():  # its BEGIN IMMEDIATE waits for the lock
        began_at = time.monotonic()
        AttemptCount.objects.create(key="waiter", expires_at=timezone.now())
    holder.join(timeout=10)

    assert began_at - released_at[0] < 0.05


@pytest.mark.parametrize(
    ("init_command", "transaction_mode", "waits_in_sqlite"),
    [
        ("PRAGMA journal_mode=WAL;", "IMMEDIATE", False),
        ("PRAGMA journal_mode=WAL;", None, True),  # a deferred transaction may need the lock mid-way
        ("", "IMMEDIATE", True),  # rollback journal: readers and writers block each other
    ],
)
def test_sqlite_keeps_its_own_wait_unless_wal_and_immediate_transactions_make_ours_safe(
    tmp_path, init_command, transaction_mode, waits_in_sqlite
):
    options = {**connection.settings_dict["OPTIONS"], "init_command": init_command, "timeout": 3}
    options.pop("transaction_mode", None)
    if transaction_mode:
        options["transaction_mode"] = transaction_mode
    other = type(connections[DEFAULT_DB_ALIAS])(
        {**connection.settings_dict, "NAME": str(tmp_path / "other.sqlite3"), "OPTIONS": options}, alias="other"
    )
    try:
        other.ensure_connection()
        busy_timeout = other.connection.execute("PRAGMA busy_timeout").fetchone()[0]
    finally:
        other.close()

    assert (busy_timeout, other.lock_timeout) == ((3000, 0.0) if waits_in_sqlite else (0, 3))
