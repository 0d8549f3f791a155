from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction

from carsales.core.actor import acting_as
from carsales.core.state import transition
from carsales.orders.models import Order, VoidReason

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


# Why the sales being deleted in this block are voided: (reason, note). A sale's delete by any
# path deactivates its order (receivers); only sale_void knows why.
_void_given: ContextVar[tuple[str, str]] = ContextVar("sale_void_given", default=("", ""))
VOID_NOTE_LENGTH = Order._meta.get_field("void_note").max_length or 0


def void_given() -> tuple[str, str]:
    """The reason and note of the sale being voided now; blank from a path that asks none."""
    return _void_given.get()


@contextmanager
def _voided_because(reason: str, note: str) -> Iterator[None]:
    token = _void_given.set((reason, note))
    try:
        yield
    finally:
        _void_given.reset(token)


@transaction.atomic
def sale_void(
    *, sale: Sale, actor: AbstractBaseUser | AnonymousUser | None, reason: VoidReason | str = "", note: str = ""
) -> None:
    """Void a sale by deleting it, as `actor`, for `reason` (a VoidReason) with staff's `note`.

    The reactions hang on the Sale model signals, so they happen on every path that removes a
    sale (this service, the admin, the API, `sale.delete()` or a queryset delete in a shell):
    the order is deactivated with the reason and its cars go back on sale (sales, pre_delete),
    the day's revenue is reversed (analytics), the audit log names the actor and the reason
    (audit, post_delete) and the buyer is told why (notifications). Raises ValidationError for
    an unknown reason or a note too long, voiding nothing; the sale's DoesNotExist (deleted_meanwhile)
    for a sale voided since `sale` was read, voiding nothing again: of two staff voiding it at once,
    the second is told it was voided, not answered as if it had voided it.
    """
    note = note.strip()
    if reason not in VoidReason.values and reason != "":
        raise ValidationError({"reason": f"Choose one of: {', '.join(VoidReason.values)}."})
    if len(note) > VOID_NOTE_LENGTH:
        raise ValidationError({"note": f"Keep the note within {VOID_NOTE_LENGTH} characters (it has {len(note)})."})
    with acting_as(actor), _voided_because(str(reason), note), Sale.stored.locked(sale):
        sale.delete()
