"""Analytics only observes: it records order events and keeps the daily figures."""

from typing import Any

from django.db.models.signals import post_delete, pre_save
from django.utils import timezone

from carsales.events.dumps import changed_on_load
from carsales.orders.models import Order
from carsales.orders.signals import order_cancelled, order_paid, order_placed, order_refunded, orders_loaded
from carsales.sales.models import Sale

from .models import DailySales, OrderEvent
from .services import analytics_recount, figures_described, order_event_record, sale_day


def count_placed_order(sender: type, order: Order, **kwargs: Any) -> None:
    order_event_record(
        order_id=order.pk, kind=OrderEvent.Kind.PLACED, amount=order.total_price, cars=order.total, placed=1
    )


def count_paid_order(sender: type, order: Order, **kwargs: Any) -> None:
    order_event_record(
        order_id=order.pk,
        kind=OrderEvent.Kind.PAID,
        amount=order.total_price,
        cars=order.total,
        sales=1,
        revenue=order.total_price,
    )


def count_cancelled_order(sender: type, order: Order, **kwargs: Any) -> None:
    order_event_record(order_id=order.pk, kind=OrderEvent.Kind.CANCELLED, amount=order.total_price, cars=order.total)


def note_refunded_order(sender: type, order: Order, **kwargs: Any) -> None:
    """A refund is listed with the order's events; the void already took its sale off the figures."""
    order_event_record(order_id=order.pk, kind=OrderEvent.Kind.REFUNDED, amount=order.total_price, cars=order.total)


def uncount_voided_sale(sender: type, instance: Sale, **kwargs: Any) -> None:
    """A sale removed by any path is taken off the figures of the day it was made: that day
    stops counting a sale that did not stand, and the day of the void is not pushed negative."""
    order_event_record(
        order_id=instance.order_id,
        kind=OrderEvent.Kind.SALE_VOIDED,
        amount=instance.amount,
        cars=Order.objects.values_list("total", flat=True).get(pk=instance.order_id),
        day=sale_day(order_id=instance.order_id, default=timezone.localdate(instance.created_at)),
        sales=-1,
        revenue=-instance.amount,
        voided=1,
    )


def refuse_rewriting_a_record(sender: type[OrderEvent | DailySales], instance: Any, raw: bool, **kwargs: Any) -> None:
    """A fixture writes rows past the models' guard: it may restore events and figures (a dump
    loaded again writes each as it is), never change one stored. A day's figures whose events
    were pruned are the record: nothing recounts them, so this is their only check."""
    if raw and changed_on_load(instance, None, kwargs.get("using")):
        raise TypeError(f"The sales records are kept as recorded: a fixture cannot rewrite {instance!r}.")


def check_figures_of_loaded_rows(sender: type, **kwargs: Any) -> list[str]:
    """A load leaving a day's figures other than its events say (a row of figures loaded alone, an
    event added) is refused, as recount_analytics would report it."""
    return [
        f"the sales figures of {drift.day} ({figures_described(drift.recorded)}) are not its order events' "
        f"({figures_described(drift.actual)})"
        for drift in analytics_recount(fix=False)
    ]


order_placed.connect(count_placed_order, dispatch_uid="analytics.count_placed_order")
order_paid.connect(count_paid_order, dispatch_uid="analytics.count_paid_order")
order_cancelled.connect(count_cancelled_order, dispatch_uid="analytics.count_cancelled_order")
order_refunded.connect(note_refunded_order, dispatch_uid="analytics.note_refunded_order")
post_delete.connect(uncount_voided_sale, sender=Sale, dispatch_uid="analytics.uncount_voided_sale")
for model in (OrderEvent, DailySales):
    pre_save.connect(
        refuse_rewriting_a_record, sender=model, dispatch_uid=f"analytics.refuse_rewriting.{model._meta.model_name}"
    )
orders_loaded.connect(check_figures_of_loaded_rows, dispatch_uid="analytics.check_figures_of_loaded_rows")
