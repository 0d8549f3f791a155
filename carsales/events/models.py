import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

_WRITTEN_BY_THE_MACHINERY = (
    "A delivery's row is written by the events machinery only (its claims, outcomes and hand-offs): "
    "one changed by hand could lose or repeat the effect it owes. Requeue a dead one with "
    "carsales.events.services.deliveries_requeue (the admin's Requeue action)."
)
_OWED = (
    "A delivery still owed (pending, running or retrying) is an effect its sender committed to: it is "
    "never deleted. Finished ones (done, dead) may be; deliveries_prune removes the done ones."
)


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    """Every ORM path but the machinery's own (`state_write`, `Delivery.state_save`): an update
    raises TypeError, and a delete takes finished rows only, raising TypeError when any row it
    was asked for is still owed."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError(_WRITTEN_BY_THE_MACHINERY)

    def bulk_update(self, objs: Iterable["Delivery"], fields: Iterable[str], batch_size: int | None = None) -> int:
        raise TypeError(_WRITTEN_BY_THE_MACHINERY)

    def bulk_create(self, objs: Iterable["Delivery"], *args: Any, **kwargs: Any) -> list["Delivery"]:
        if kwargs.get("update_conflicts"):  # writes over the stored rows it collides with
            raise TypeError(_WRITTEN_BY_THE_MACHINERY)
        return super().bulk_create(objs, *args, **kwargs)

    def state_write(self, **kwargs: Any) -> int:
        """Write these rows: for the events machinery only, which states in the filter what it expects."""
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        owed = self.filter(status__in=Delivery.ACTIVE)
        owed.query.select_for_update = False  # as Django's delete() clears it: no lock asked in autocommit
        if owed.exists():
            raise TypeError(_OWED)
        # Finished in the DELETE itself: a dead row requeued since the check above is kept.
        return models.QuerySet.delete(self.filter(status__in=Delivery.FINISHED))

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class Delivery(models.Model):
    """One durable receiver owed one event: written in the sender's transaction, run by a worker.

    The row is the truth; the django-tasks job that names it is only a wake-up call, so a lost or
    duplicated job is harmless (the worker's sweep re-enqueues, the claim runs it once).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Retrying"
        DONE = "done", "Done"
        DEAD = "dead", "Dead"

    READY = (Status.PENDING, Status.RETRYING)
    ACTIVE = (Status.PENDING, Status.RUNNING, Status.RETRYING)  # these hold back later ones in their lane
    FINISHED = (Status.DONE, Status.DEAD)

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    receiver = models.CharField(max_length=200)  # the receiver's dispatch_uid
    queue = models.CharField(max_length=32)
    # "receiver-or-group|label:pk" when the receiver is ordered (DurableReceiver.lane_for); "" runs in any order.
    lane = models.CharField(max_length=255, blank=True)
    sender = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField()
    run_after = models.DateTimeField(default=timezone.now)
    # When an executor was last woken for it (transports.py); None while a publish after the
    # commit is owed. The sweep hands off again a row not published, or left unclaimed too long.
    kicked_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "deliveries"
        # Django's own paths (related lookups, a refresh) use the guarded manager too.
        base_manager_name = "objects"
        ordering = ["-id"]
        indexes = [
            # Partial: they stay small however many finished rows the table holds.
            models.Index(
                fields=["run_after", "kicked_at"],
                name="events_ready_idx",
                condition=Q(status__in=["pending", "retrying"]),
            ),
            models.Index(
                fields=["lane", "id"],
                name="events_lane_idx",
                condition=Q(status__in=["pending", "running", "retrying"]),
            ),
            models.Index(fields=["lease_until"], name="events_lease_idx", condition=Q(status="running")),
            models.Index(fields=["finished_at"], name="events_done_idx", condition=Q(status="done")),
            models.Index(fields=["created_at"], name="events_dead_idx", condition=Q(status="dead")),
        ]

    def __str__(self) -> str:
        return f"{self.receiver} #{self.pk} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new row only, always INSERTed (never over a stored one with its pk)."""
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields") is not None:
            raise TypeError(_WRITTEN_BY_THE_MACHINERY)
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def state_save(self, *, update_fields: Sequence[str]) -> None:
        """Write these fields of the stored row: for the events machinery only."""
        super().save(update_fields=update_fields)

    def delete(self, using: str | None = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        """As the queryset's delete: refused while the stored row is owed, whatever this copy says."""
        if self.pk is None:
            raise ValueError(f"{self._meta.object_name} object can't be deleted because its id attribute is None.")
        deleted = Delivery.objects.db_manager(using).filter(pk=self.pk).delete()
        self.pk = None  # as Django's delete() leaves an instance deleted
        return deleted

    @property
    def error_summary(self) -> str:
        """The last line of the last error: the exception and its message."""
        lines = [line for line in self.last_error.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def idempotency_key(self) -> str:
        """Stable for this (event, receiver) across retries, redeliveries and requeues."""
        return f"{self.receiver}:{self.key}"


class EffectRecord(models.Model):
    """An outside effect attempted, and perhaps done, under an idempotency key (see effects.once)."""

    key = models.CharField(max_length=255)  # unique: Meta.constraints
    attempts = models.PositiveIntegerField(default=0)
    # The run doing the effect now, until when: no other run may start it meanwhile.
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["done_at"], name="events_effect_done_idx")]
        # Not unique=True, which on PostgreSQL adds a LIKE-prefix index no query uses.
        constraints = [models.UniqueConstraint(fields=["key"], name="events_effect_key_unique")]

    def __str__(self) -> str:
        return f"{self.key} ({'done' if self.done_at else f'{self.attempts} attempts'})"
