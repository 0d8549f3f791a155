"""How a delivery row, written in the sender's transaction, reaches the processes that run it.

The row is the outbox and the truth; a transport only wakes an executor for it. Chosen by
`EVENTS["TRANSPORT"]`:

- "database" (default): the row is the job: `manage.py events_worker` claims due rows in
  batches (a NOTIFY on commit wakes it on PostgreSQL). Nothing leaves the database before the
  commit, so nothing can run for a write that rolls back.
- "tasks": a job on another django-tasks backend (`EVENTS["TASK_BACKEND"]`, e.g. RQ through
  django-tasks-rq), published after the commit.
- "celery": a Celery task ("events.deliver", late acknowledgement) published after the commit.
- a dotted path to a Transport subclass.

A hand-off published after the commit can be lost (the process killed between commit and
publish, the broker down or restarted without its messages): the row records whether and when
it was published (`kicked_at`), and the relay in `deliveries_sweep` publishes again what was
not, or what stayed unclaimed too long, so delivery never depends on a publish succeeding. A
duplicate publish is harmless: the claim on the row runs a delivery once.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.db import connection, transaction
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string

from .conf import setting

if TYPE_CHECKING:
    from .models import Delivery


class Transport(ABC):
    """Wakes an executor for a delivery.

    A delivery's `kicked_at` says when its executor was woken for it: set with the row when the
    hand-off is written in the transaction, or once a publish after the commit succeeded; None
    while that publish is owed. The relay (deliveries_sweep) publishes again a due delivery whose
    publish is owed PUBLISH_GRACE seconds after it fell due, or that stayed unclaimed
    HANDOFF_TIMEOUT seconds after its hand-off (a message lost with a broker or a worker).
    """

    #: The hand-off is written in the database transaction itself (else: published after commit).
    transactional = False
    #: The longest deferral (seconds) the executor holds reliably; a delivery due later is
    #: published by the relay when it falls due. None: no limit.
    longest_deferral: float | None = None

    def kick_at(self, run_after: datetime) -> datetime | None:
        """What a delivery due at `run_after`, handed off now, stores as `kicked_at`."""
        if not self.transactional or self._left_to_the_relay(run_after):
            return None  # set once the publish after the commit succeeded, or by the relay when due
        # A hand-off for a future time counts from that time, so the relay does not repeat it early.
        return max(run_after, timezone.now())

    def write(self, deliveries: Sequence["Delivery"]) -> None:
        """INSERT the new `deliveries` (each `kicked_at` set from `kick_at`) and hand each off, in
        the caller's transaction."""
        _insert(deliveries)
        for delivery in deliveries:
            self.hand_off(delivery)

    def hand_off(self, delivery: "Delivery") -> None:
        """Wake an executor for `delivery`, in the transaction that wrote its state; the caller
        stores `kick_at(delivery.run_after)` as its `kicked_at`."""
        if self._left_to_the_relay(delivery.run_after):
            return  # the relay publishes it once it falls due
        due = delivery.run_after if delivery.run_after > timezone.now() else None
        if self.transactional:
            self.publish(delivery.pk, queue=delivery.queue, due=due)
            return
        pk, queue, run_after, alias = delivery.pk, delivery.queue, delivery.run_after, delivery._state.db
        # robust: a publish that fails (broker down) is logged, never raised into the committed
        # sender; its kicked_at stays None and the relay publishes it again.
        transaction.on_commit(
            lambda: self._publish_after_commit(pk, queue=queue, due=due, run_after=run_after, using=alias),
            using=alias,
            robust=True,
        )

    def _left_to_the_relay(self, run_after: datetime) -> bool:
        limit = self.longest_deferral
        return limit is not None and run_after - timezone.now() > timedelta(seconds=limit)

    def _publish_after_commit(
        self, delivery_id: int, *, queue: str, due: datetime | None, run_after: datetime, using: str | None
    ) -> None:
        from .models import Delivery

        self.publish(delivery_id, queue=queue, due=due)
        # Only the hand-off this publish was for: a later one (a retry, another run_after) keeps
        # its own record, so a lost publish of it is still seen by the relay.
        Delivery.objects.using(using).filter(pk=delivery_id, kicked_at__isnull=True, run_after=run_after).state_write(
            kicked_at=timezone.now()
        )

    @abstractmethod
    def publish(self, delivery_id: int, *, queue: str, due: datetime | None) -> None:
        """Wake an executor for the delivery `delivery_id` on `queue`, at `due` (None: now)."""


class DatabaseTransport(Transport):
    """The delivery row itself: `events_worker` claims due rows from the table, in batches.

    Nothing else is written: on PostgreSQL a NOTIFY on commit (once per transaction,
    however many deliveries it writes) wakes the LISTENing workers at once, and for a deferred
    delivery tells them to sleep until it is due; elsewhere workers poll.
    """

    transactional = True

    def write(self, deliveries: Sequence["Delivery"]) -> None:
        marker = self._notify_owed()
        if marker is None:
            super().write(deliveries)
            return
        _insert(deliveries, waking=marker.channel)  # the transaction's first: its INSERT wakes the workers too
        self._notified(marker)

    def publish(self, delivery_id: int, *, queue: str, due: datetime | None) -> None:
        marker = self._notify_owed()
        if marker is None:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [marker.channel])
        self._notified(marker)

    @staticmethod
    def _notify_owed() -> "_Notified | None":
        """The NOTIFY this transaction owes the workers (PostgreSQL), or None: elsewhere they poll.

        A NOTIFY made earlier in this transaction (and not rolled back with a savepoint, which
        drops it and its marker alike) wakes the workers for this delivery too: a woken worker
        claims from every queue it serves, so the queue need not be said."""
        if connection.vendor != "postgresql":
            return None
        marker = _Notified(setting("NOTIFY_CHANNEL"))
        if any(entry[1] == marker for entry in connection.run_on_commit):  # (savepoints, callback, robust)
            return None
        return marker

    @staticmethod
    def _notified(marker: "_Notified") -> None:
        if connection.in_atomic_block:
            transaction.on_commit(marker)


def _insert(deliveries: Sequence["Delivery"], *, waking: str | None = None) -> None:
    """INSERT `deliveries` as their saves would, model signals included (the timeline files a
    delivery under the chain that owed it by its post_save), in one statement with a NOTIFY on the
    channel `waking` (PostgreSQL) when given. Built here, not by a project helper: this app imports
    none (it is reusable apart)."""
    model, using = type(deliveries[0]), connection.alias
    for delivery in deliveries:
        pre_save.send(sender=model, instance=delivery, raw=False, using=using, update_fields=None)
    query = InsertQuery(model)
    query.insert_values(
        [field for field in model._meta.local_concrete_fields if not field.primary_key], list(deliveries)
    )
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [model._meta.pk]
    ((insert, params),) = compiler.as_sql()
    if waking is not None:
        insert, params = f"WITH inserted AS ({insert}) SELECT * FROM inserted, pg_notify(%s, '')", [*params, waking]
    with connection.cursor() as cursor:
        cursor.execute(insert, params)
        # In the rows' order: one INSERT draws its ids in the order of its rows.
        pks = sorted(row[0] for row in cursor.fetchall())
    for delivery, pk in zip(deliveries, pks, strict=True):
        delivery.pk = pk
        delivery._state.adding, delivery._state.db = False, using
        post_save.send(sender=model, instance=delivery, created=True, update_fields=None, raw=False, using=using)


@dataclass(frozen=True)
class _Notified:
    """An on-commit entry that does nothing but mark a NOTIFY made in the transaction."""

    channel: str

    def __call__(self) -> None:
        pass


class TasksTransport(Transport):
    """A job on any django-tasks backend (RQ via django-tasks-rq...), published after commit."""

    def publish(self, delivery_id: int, *, queue: str, due: datetime | None) -> None:
        from .tasks import deliver

        deliver.using(queue_name=queue, run_after=due, backend=setting("TASK_BACKEND")).enqueue(delivery_id)


class CeleryTransport(Transport):
    """A Celery task, published after commit to the delivery's queue (a broker queue of that name).

    The task acknowledges its message only after the delivery ran (acks_late), so the broker
    hands a killed worker's message to another; the delivery's claim and lease, not the
    message, make it run once. Deferrals ride on the message (countdown) up to
    CELERY_LONGEST_DEFERRAL seconds: longer ones would sit unacknowledged in a worker past the
    broker's consumer timeout (RabbitMQ: 30 minutes), so the relay publishes them when due.
    """

    def __init__(self) -> None:
        self.longest_deferral = setting("CELERY_LONGEST_DEFERRAL")

    @property
    def app(self) -> Any:
        path = setting("CELERY_APP")
        if path:
            return import_string(path)
        from celery import current_app

        return current_app

    def publish(self, delivery_id: int, *, queue: str, due: datetime | None) -> None:
        from .celery_tasks import DELIVER

        self.app.send_task(DELIVER, args=[delivery_id], queue=queue, eta=due)


SHORT_NAMES = {
    "database": DatabaseTransport,
    "tasks": TasksTransport,
    "celery": CeleryTransport,
}


def executor_label() -> str:
    """Who runs the deliveries, for people: "events_worker", "Celery", "the tasks backend 'rq'"."""
    name = setting("TRANSPORT")
    return {
        "database": "events_worker",
        "celery": "Celery",
        "tasks": f"the tasks backend {setting('TASK_BACKEND')!r}",
    }.get(name, name)


@cache
def transport() -> Transport:
    """The configured transport (EVENTS["TRANSPORT"]), built once per process."""
    name = setting("TRANSPORT")
    cls: type[Transport] = SHORT_NAMES.get(name) or import_string(name)
    return cls()


@receiver(setting_changed, dispatch_uid="events.transport_forget")
def transport_forget(**kwargs: Any) -> None:
    """Tests that change EVENTS get the transport those settings name."""
    if kwargs["setting"] == "EVENTS":
        transport.cache_clear()
