from django.db.models import QuerySet

from .models import CarInventory

CHART_POINTS = 200


def inventory_current() -> CarInventory | None:
    """The latest snapshot, or None before the first car."""
    return CarInventory.objects.first()


def inventory_history(*, limit: int = CHART_POINTS) -> list[CarInventory]:
    """The latest `limit` snapshots, oldest first (for a chart)."""
    latest: QuerySet[CarInventory] = CarInventory.objects.all()[:limit]
    return list(reversed(latest))
