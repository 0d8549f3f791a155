from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from carsales.core.actor import acting_as
from carsales.core.state import transition
from carsales.orders.models import Order

from .models import Sale
from .signals import sale_recorded


@transaction.atomic
def sale_record(*, order: Order) -> Sale:
    """Create the sale of a paid order, once: a second call returns the existing sale.

    get_or_create relies on the unique order column, so two concurrent calls make one row.
    """
    with transition():
        sale, created = Sale.objects.get_or_create(order=order, defaults={"amount": order.total_price})
    if created:
        sale_recorded.send_robust(sender=Sale, sale=sale, order=order)
    return sale


@transaction.atomic
def sale_void(*, sale: Sale, actor: AbstractBaseUser | AnonymousUser | None) -> None:
    """Void a sale by deleting it, as `actor`.

    The reactions hang on the Sale model signals, so they happen on every path that removes a
    sale (this service, the admin, the API, `sale.delete()` or a queryset delete in a shell):
    the order is deactivated and its cars go back on sale (sales, pre_delete), the day's
    revenue is reversed (analytics) and the audit log names the actor (audit, post_delete).
    """
    with acting_as(actor):
        sale.delete()
