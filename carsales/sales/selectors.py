from django.db.models import F, Prefetch, QuerySet

from carsales.orders.models import Order, OrderItem, OrderStatus

from .models import Sale


def sale_list() -> QuerySet[Sale]:
    return Sale.objects.select_related("order__buyer__user")


def sales_latest(*, limit: int = 20) -> list[Sale]:
    """The latest sales with their order, buyer and cars, in two queries."""
    lines = OrderItem.objects.select_related("car__brand").order_by("pk")
    return list(sale_list().prefetch_related(Prefetch("order__items", queryset=lines))[:limit])


def sale_contradictions() -> list[str]:
    """Where sales and orders disagree, as sentences: a sale stands for each paid, active order,
    for its total, and for no other order."""
    paid = Order.objects.filter(status=OrderStatus.PAID, is_active=True)
    without_sale = paid.exclude(pk__in=Sale.objects.values("order_id")).values_list("pk", flat=True)
    sale_of_unpaid = Sale.objects.exclude(order__in=paid).values_list("order_id", flat=True)
    wrong_amount = Sale.objects.exclude(amount=F("order__total_price")).values_list("pk", "amount", "order_id")
    return (
        [f"paid order #{pk} has no sale" for pk in without_sale]
        + [f"order #{pk} has a sale but is not paid and active" for pk in sale_of_unpaid]
        + [f"sale #{pk} is for {amount}, not its order #{order}'s total" for pk, amount, order in wrong_amount]
    )
