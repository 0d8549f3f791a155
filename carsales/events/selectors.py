from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone

from .models import Delivery


@dataclass(frozen=True)
class DeliveryStats:
    pending: int
    running: int
    retrying: int
    dead: int
    oldest_pending_age: timedelta | None  # since the oldest PENDING delivery was sent


def delivery_stats() -> DeliveryStats:
    """Count unfinished and dead deliveries per status (DONE is not counted: it only grows)."""
    counts = dict(
        Delivery.objects.exclude(status=Delivery.Status.DONE)
        .values_list("status")
        .annotate(count=Count("id"))
        .values_list("status", "count")
    )
    oldest = Delivery.objects.filter(status=Delivery.Status.PENDING).aggregate(oldest=Min("created_at"))["oldest"]
    return DeliveryStats(
        pending=counts.get(Delivery.Status.PENDING, 0),
        running=counts.get(Delivery.Status.RUNNING, 0),
        retrying=counts.get(Delivery.Status.RETRYING, 0),
        dead=counts.get(Delivery.Status.DEAD, 0),
        oldest_pending_age=timezone.now() - oldest if oldest else None,
    )


def dead_deliveries(*, limit: int = 50) -> list[Delivery]:
    """The most recent DEAD deliveries, newest first."""
    return list(Delivery.objects.filter(status=Delivery.Status.DEAD).order_by("-id")[:limit])
