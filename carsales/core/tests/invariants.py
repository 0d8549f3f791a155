"""The invariants carsales keeps on every write path, checked against the stored rows.

One function the write-path matrices call after each write (ORM, admin, API, fixtures), so
every path is judged by the same truth: the inventory equals a recount, a car's price history
ends at its price, every car's status is what the live order line holding it says, order totals
equal their lines, a sale stands for every paid active order and for no other.
"""

from decimal import Decimal

from django.db.models import Count, F, Sum

from carsales.catalog.models import Car, CarStatus, PriceChange
from carsales.inventory.services import inventory_reconcile
from carsales.orders.models import Order, OrderItem, OrderStatus
from carsales.sales.models import Sale


def store_problems() -> list[str]:
    """Every way the stored rows break an invariant, as sentences; empty when all hold."""
    problems: list[str] = []
    drift = inventory_reconcile(fix=False)
    if drift.totals_drifted:
        problems.append(f"inventory totals {drift.recorded} differ from the recount {drift.actual}")
    if drift.snapshot_drifted:
        problems.append(f"the latest inventory snapshot {drift.shown} differs from the totals {drift.recorded}")

    last_prices = dict(
        PriceChange.objects.order_by("car_id", "changed_at", "pk").values_list("car_id", "new_value")
    )  # the last of each car's, since later rows overwrite earlier ones
    for car_id, value in Car.objects.filter(pk__in=list(last_prices)).values_list("pk", "value"):
        if last_prices[car_id] != value:
            problems.append(f"car #{car_id} costs {value} but its price history ends at {last_prices[car_id]}")

    live_lines = {line.car_id: line for line in OrderItem.objects.filter(holds_car=True).select_related("order")}
    for car_id, status in Car.objects.values_list("pk", "status"):
        line = live_lines.get(car_id)
        if line is None:
            expected = status if status == CarStatus.WITHDRAWN else CarStatus.AVAILABLE
        elif line.order.status == OrderStatus.PLACED:
            expected = CarStatus.RESERVED
        else:
            expected = CarStatus.SOLD
        if status != expected:
            problems.append(f"car #{car_id} is {status}, its order lines say {expected}")
    for line in live_lines.values():
        if not line.order.holds_cars:
            problems.append(f"order #{line.order_id} is {line.order.status} but its line holds car #{line.car_id}")

    for order in Order.objects.annotate(lines=Count("items"), lines_price=Sum("items__price")):
        if (order.total, order.total_price) != (order.lines, order.lines_price or Decimal("0")):
            problems.append(f"order #{order.pk} totals {order.total}/{order.total_price} differ from its lines")
        if order.holds_cars and order.items.filter(holds_car=False).exists():
            problems.append(f"live order #{order.pk} has a line that holds nothing")

    paid = set(Order.objects.filter(status=OrderStatus.PAID, is_active=True).values_list("pk", flat=True))
    with_sale = set(Sale.objects.values_list("order_id", flat=True))
    problems += [f"paid order #{pk} has no sale" for pk in sorted(paid - with_sale)]
    problems += [f"order #{pk} has a sale but is not paid and active" for pk in sorted(with_sale - paid)]
    for sale in Sale.objects.exclude(amount=F("order__total_price")):
        problems.append(f"sale #{sale.pk} is for {sale.amount}, not its order's total")
    return problems


def assert_store_is_true(context: str = "") -> None:
    problems = store_problems()
    assert not problems, f"{context}: " + "; ".join(problems) if context else "; ".join(problems)
