from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from .durable import registry
from .models import Delivery


@dataclass(frozen=True)
class DeliveryStats:
    due: int  # ready to run now: the backlog
    running: int
    retrying: int  # failed, waiting for their next attempt
    scheduled: int  # deferred to a time still to come (a reservation's expiry): not a backlog
    dead: int
    oldest_due_wait: timedelta | None  # how long the oldest due delivery has waited since it fell due
    next_scheduled: datetime | None


def delivery_stats() -> DeliveryStats:
    """Count unfinished and dead deliveries (DONE is not counted: it only grows), telling the
    backlog (due now) from work deferred to a future time, which a healthy system always has."""
    now = timezone.now()
    unfinished = Delivery.objects.exclude(status=Delivery.Status.DONE)
    pending = Q(status=Delivery.Status.PENDING)
    figures = unfinished.aggregate(
        due=Count("id", filter=pending & Q(run_after__lte=now)),
        running=Count("id", filter=Q(status=Delivery.Status.RUNNING)),
        retrying=Count("id", filter=Q(status=Delivery.Status.RETRYING)),
        scheduled=Count("id", filter=pending & Q(run_after__gt=now)),
        dead=Count("id", filter=Q(status=Delivery.Status.DEAD)),
        oldest_due=Min("run_after", filter=pending & Q(run_after__lte=now)),
        next_scheduled=Min("run_after", filter=pending & Q(run_after__gt=now)),
    )
    oldest_due = figures.pop("oldest_due")
    return DeliveryStats(**figures, oldest_due_wait=now - oldest_due if oldest_due else None)


def dead_deliveries(*, limit: int = 50) -> list[Delivery]:
    """The most recent DEAD deliveries, newest first."""
    return list(Delivery.objects.filter(status=Delivery.Status.DEAD).order_by("-id")[:limit])


def deliveries_without_receiver(*, limit: int = 50) -> list[Delivery]:
    """Unfinished deliveries whose receiver this release does not have (a rolling deploy)."""
    return list(
        Delivery.objects.filter(status__in=Delivery.ACTIVE).exclude(receiver__in=list(registry)).order_by("id")[:limit]
    )
