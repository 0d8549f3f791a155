"""Durable receivers for the events tests only, on django.contrib.auth's Group and on test
signals; imported by the tests and by the subprocess workers they start (worker_main.py)."""

import os
import time
from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import Signal, receiver

from carsales.events.durable import Event, durable_receiver
from carsales.events.effects import once
from carsales.events.models import EffectRecord

thing_happened = Signal()  # kwargs: mode ("ok" or "slow"), seconds (how long "slow" sleeps on attempt 1)
async_thing = Signal()  # kwargs: label
hang_thing = Signal()  # no kwargs
bench_thing = Signal()  # kwargs: token, wait (seconds the effect waits, as on an SMTP server)
stray_thing = Signal()  # no kwargs
later_thing = Signal()  # kwargs: due (an aware datetime)
connection_thing = Signal()  # kwargs: token

calls: list[tuple[str, Event]] = []  # what ran in this process, in order
failing: dict[str, Callable[[], BaseException]] = {}  # receiver name -> the exception it raises now


def observe(name: str, event: Event, *, token: str | None = None) -> None:
    """Record that a receiver's effect happened: in `calls`, and in EVENTS_TEST_LOG for subprocesses
    (with `token`, or the event's own)."""
    if name in failing:
        raise failing[name]()
    calls.append((name, event))
    if path := os.environ.get("EVENTS_TEST_LOG"):
        with open(path, "a") as log:
            log.write(f"{name} {event.idempotency_key} {token or event.kwargs.get('token', '-')} {time.time()}\n")


@durable_receiver(post_save, sender=Group, dispatch_uid="events_tests.group_saved", fields={"id", "name"})
def group_saved(event: Event) -> None:
    observe("group_saved", event)


@durable_receiver(post_delete, sender=Group, dispatch_uid="events_tests.group_deleted", fields={"id", "name"})
def group_deleted(event: Event) -> None:
    observe("group_deleted", event)


@durable_receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="events_tests.group_permissions")
def group_permissions_changed(event: Event) -> None:
    observe("group_permissions", event)


@durable_receiver(thing_happened, dispatch_uid="events_tests.effect", max_attempts=3, fields={"id", "name"})
def effect(event: Event) -> None:
    if event.mode == "slow" and event.attempt == 1:
        time.sleep(event.seconds)
    with once(event.idempotency_key) as attempt:
        if attempt.already_done:
            return
        observe("effect", event)


@durable_receiver(thing_happened, dispatch_uid="events_tests.tally", ordered=False, queue="tally")
def tally(event: Event) -> None:
    observe("tally", event)


@durable_receiver(async_thing, dispatch_uid="events_tests.async_effect")
async def async_effect(event: Event) -> None:
    # The ORM from an async receiver: on the worker's connection, like any sync_to_async call.
    await EffectRecord.objects.acreate(key=f"async:{event.idempotency_key}")
    await sync_to_async(observe)("async_effect", event)


@durable_receiver(hang_thing, dispatch_uid="events_tests.hang", timeout=0.2, max_attempts=2)
def hang(event: Event) -> None:
    time.sleep(5)
    observe("hang", event)


connections_opened = 0  # database connections this process has opened


@receiver(connection_created)
def count_connection(**kwargs: object) -> None:
    global connections_opened
    connections_opened += 1


@durable_receiver(connection_thing, dispatch_uid="events_tests.connection", ordered=False)
def on_its_connection(event: Event) -> None:
    """Log the token as "<connections this process opened>/<the database's process for this one>"."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 0")
        (backend,) = cursor.fetchone()
    observe("connection", event, token=f"{connections_opened}/{backend}")


@durable_receiver(bench_thing, dispatch_uid="events_tests.bench", ordered=False)
def bench(event: Event) -> None:
    time.sleep(event.kwargs.get("wait", 0))
    observe("bench", event)


@durable_receiver(stray_thing, dispatch_uid="events_tests.stray_transaction", timeout=0.2, max_attempts=2)
def stray_transaction(event: Event) -> None:
    # Where a timeout landing just after the driver's BEGIN leaves a connection: in a transaction
    # Django does not know of (on SQLite, holding the write lock).
    with connection.cursor() as cursor:
        cursor.execute("BEGIN IMMEDIATE" if connection.vendor == "sqlite" else "BEGIN")
    time.sleep(5)


@durable_receiver(
    later_thing, dispatch_uid="events_tests.later", ordered=False, not_before=lambda kwargs: kwargs["due"]
)
def later(event: Event) -> None:
    observe("later", event)
