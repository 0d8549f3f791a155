from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from carsales.orders.models import Order

from .models import Sale
from .signals import sale_recorded, sale_voided


@transaction.atomic
def sale_record(*, order: Order) -> Sale:
    """Create the sale of a paid order, once: a second call returns the existing sale.

    get_or_create relies on the unique order column, so two concurrent calls make one row.
    """
    sale, created = Sale.objects.get_or_create(order=order, defaults={"amount": order.total_price})
    if created:
        sale_recorded.send_robust(sender=Sale, sale=sale, order=order)
    return sale


@transaction.atomic
def sale_void(*, sale: Sale, actor: AbstractBaseUser | AnonymousUser) -> None:
    """Void a sale: delete it (its pre_delete receiver deactivates the order), then tell others."""
    order = sale.order
    pk = sale.pk
    sale.delete()
    sale.pk = pk
    sale_voided.send_robust(sender=Sale, sale=sale, order=order, actor=actor)
