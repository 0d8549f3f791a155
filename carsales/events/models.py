import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


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

    class Meta:
        verbose_name_plural = "deliveries"
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
