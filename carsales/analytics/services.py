from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from carsales.core.db import update_seeding_row

from .models import DailySales, OrderEvent


@transaction.atomic
def order_event_record(
    *,
    order_id: int,
    kind: str,
    amount: Decimal,
    cars: int,
    placed: int = 0,
    sales: int = 0,
    revenue: Decimal = Decimal("0"),
) -> bool:
    """Record an order event once and move today's figures by the given deltas.

    Returns False, changing nothing, when this event of this order was already recorded
    (a redelivered signal).
    """
    try:
        with transaction.atomic():
            OrderEvent.objects.create(order_id=order_id, kind=kind, amount=amount, cars=cars)
    except IntegrityError:
        return False
    update_seeding_row(
        DailySales,
        lookup={"day": timezone.localdate()},
        changes={
            "orders_placed": F("orders_placed") + placed,
            "sales_count": F("sales_count") + sales,
            "revenue": F("revenue") + revenue,
        },
    )
    return True
