"""Orders keep their own truth on every path, not only through the services.

- Order totals follow the order's lines (seed 001's m2m_changed, from either side, plus line
  deletes, which m2m_changed does not see).
- Lines are created by checkout alone (order_place: one reservation path); `order.cars.add(car)`
  and every other way of writing a line outside it is refused by the model, naming order_place.
- Removing a line releases the car its stored row holds; a paid order's lines and a live order
  cannot be deleted (each judged by its row as stored, locked, never by the caller's copy). A
  placed order left with no line is cancelled: nothing is left to pay for.
- A visitor's cart follows them through login (django.contrib.auth's user_logged_in).
- A reservation not paid by its deadline is cancelled: a durable receiver of order_placed,
  deferred to the order's `expires_at`; another of a fixture's placed orders (post_save, raw).
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from carsales.accounts.models import Buyer
from carsales.accounts.services import buyer_ensure
from carsales.catalog.facts import car_identity
from carsales.catalog.models import Car, CarStatus
from carsales.catalog.signals import CarNote, car_page_notes
from carsales.core.actor import current_actor
from carsales.core.money import format_money
from carsales.core.permissions import has_staff_power
from carsales.events.durable import Event, RetryLater, durable_receiver

from .models import Cart, Order, OrderItem, OrderStatus
from .selectors import car_reserved_until, order_holding, order_holding_car
from .services import (
    buyer_leaving,
    cart_for_buyer,
    cart_leaving,
    cart_merge,
    order_cancel_emptied,
    order_check_deletable,
    order_expire,
    order_line_release,
    order_totals_refresh,
)
from .signals import order_placed

CART_TOKEN_SESSION_KEY = "cart_token"


def order_cars_changed(
    sender: type, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Keep `total` / `total_price` of every order whose cars were removed, from either side.

    From the order's side (`order.cars.remove(car)`) that is the order itself; from the car's
    side (`car.orders.remove(order)`) the orders in pk_set, or for a clear the orders the car was
    in, noted before the clear since the clear leaves no pk_set.
    """
    if action == "pre_clear" and reverse:
        instance._orders_before_clear = list(instance.orders.values_list("pk", flat=True))
        return
    if action not in {"post_remove", "post_clear"}:
        return
    if not reverse:
        order_totals_refresh(order_ids=[instance.pk])
        instance.refresh_from_db(fields=["total", "total_price"])
    elif action == "post_clear":
        order_totals_refresh(order_ids=instance.__dict__.pop("_orders_before_clear", []))
    else:
        order_totals_refresh(order_ids=pk_set or [])


def _with_its_order(origin: Any) -> bool:
    """Whether a line's delete was asked of its order (or orders), which takes its lines with it."""
    return isinstance(origin, Order) or (isinstance(origin, QuerySet) and origin.model is Order)


def order_line_before_delete(sender: type[OrderItem], instance: OrderItem, origin: Any = None, **kwargs: Any) -> None:
    order_line_release(line_id=instance.pk, order_id=instance.order_id, with_its_order=_with_its_order(origin))


def order_line_deleted(sender: type[OrderItem], instance: OrderItem, origin: Any = None, **kwargs: Any) -> None:
    order_totals_refresh(order_ids=[instance.order_id])
    # An order deleted whole is never a placed one (order_check_deletable): no lock and read of it per line.
    if not _with_its_order(origin):
        order_cancel_emptied(order_id=instance.order_id, actor=current_actor())


def order_before_delete(sender: type[Order], instance: Order, **kwargs: Any) -> None:
    order_check_deletable(order_id=instance.pk)


def merge_visitor_cart_at_login(sender: type, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """The cars a visitor put in their cart follow them into their account; those that cannot
    (past the hold limit, no longer for sale) are named in a message, never dropped silently."""
    if request is None or not hasattr(request, "session"):
        return
    token = request.session.pop(CART_TOKEN_SESSION_KEY, None)
    visitor_cart = Cart.objects.filter(token=token, buyer__isnull=True).first() if token else None
    if visitor_cart is None:
        return
    merged = cart_merge(source=visitor_cart, target=cart_for_buyer(buyer=buyer_ensure(user=user)))
    if merged.over_the_limit:
        names = ", ".join(str(car) for car in merged.over_the_limit)
        messages.warning(
            request,
            f"You can hold at most {settings.CARSALES_MAX_CARS_HELD} cars at once, in your cart and unpaid "
            f"orders, so these were not added to your cart: {names}.",
        )
    if merged.unavailable:
        names = ", ".join(str(car) for car in merged.unavailable)
        messages.warning(request, f"No longer for sale, so not added to your cart: {names}.")


def note_buyers_own_order(sender: type[Car], car: Car, user: Any, **kwargs: Any) -> CarNote | None:
    """On a reserved or sold car's page, its buyer finds the way to their order, staff the order
    holding it; anyone else learns that a reservation may end, and where cars like it are."""
    if car.is_available:
        return None
    if has_staff_power(user, ["orders.view_order"]):
        holder = order_holding_car(car=car)
        if holder is None:
            return None
        # At the order's price, which a price changed since does not move: staff repricing it see so.
        at = format_money(holder.line_price)
        held = (
            f"Sold on order #{holder.pk} to {holder.buyer} at {at}:"
            if holder.status == OrderStatus.PAID
            else f"Held by order #{holder.pk} ({holder.get_status_display().lower()}) for {holder.buyer} at {at}:"
        )
        return CarNote(
            text=held,
            link_text="see the order",
            url=holder.get_absolute_url(),
        )
    order = order_holding(car=car, user=user)
    if order is not None:
        if order.status != OrderStatus.PAID:
            price = (
                ""
                if order.line_price == car.value
                else f" at {format_money(order.line_price)}, the price you ordered it at,"
            )
            text = f"Reserved for you{price} until your order is paid:"
        else:  # its plate and VIN whole, as the order's page names them (masked in the page shared by all)
            papers = car_identity(car)
            text = f"This car is yours ({papers}):" if papers else "This car is yours:"
        return CarNote(text=text, link_text=f"see order #{order.pk}", url=order.get_absolute_url())
    if car.status != CarStatus.RESERVED:
        return None
    # The same for every viewer but its buyer: an anonymous viewer's note follows from the rows as stored.
    due = car_reserved_until(car=car)
    # Its deadline while it is ahead: past it, the order is about to lapse (order expiry runs soon).
    when = (
        f"by {date_format(timezone.localtime(due), 'DATETIME_FORMAT')}" if due and due > timezone.now() else "in time"
    )
    return CarNote(
        text=f"Another buyer reserved this car: if their order is not paid {when}, it comes back on sale.",
        link_text="See cars like it",
        url="#similar",  # offered on its page (a search for its model could find none: it may be the only one)
    )


@durable_receiver(
    order_placed,
    sender=Order,
    dispatch_uid="orders.expire_unpaid_order",
    queue="default",
    ordered=False,
    not_before=lambda kwargs: kwargs["order"].expires_at,
    carries={"order"},
)
def expire_unpaid_order(event: Event) -> None:
    """At the order's deadline, cancel it if it is still unpaid (order_expire: a no-op for an
    order paid or cancelled meanwhile, so a second delivery does nothing)."""
    _expire_when_due(event.order.pk)


@durable_receiver(
    post_save,
    sender=Order,
    dispatch_uid="orders.expire_loaded_order",
    queue="default",
    ordered=False,
    when=lambda kwargs: kwargs["raw"] and kwargs["instance"].awaits_payment,
    not_before=lambda kwargs: _aware(kwargs["instance"].expires_at),
    carries={"instance"},
)
def expire_loaded_order(event: Event) -> None:
    """A placed order a fixture loads (a backup restored) expires at its deadline as checkout's
    does: order_placed, which schedules that, is checkout's alone (loaddata refuses one with no
    deadline). Loaded again, an order owes a second run, which finds it paid, cancelled or gone."""
    _expire_when_due(event.instance_pk)


def _aware(deadline: datetime | None) -> datetime | None:
    """A fixture's deadline as stored: one written without a zone is in the default zone."""
    return timezone.make_aware(deadline) if deadline is not None and timezone.is_naive(deadline) else deadline


def _expire_when_due(order_id: int) -> None:
    if order_expire(order_id=order_id):
        return
    # Run early (another machine's clock, a deadline moved later): try again when it is due.
    due = (
        Order.objects.filter(pk=order_id, status=OrderStatus.PLACED, is_active=True, expires_at__gt=timezone.now())
        .values_list("expires_at", flat=True)
        .first()
    )
    if due is not None:
        raise RetryLater((due - timezone.now()).total_seconds(), f"order #{order_id} is due at {due}")


def buyer_before_delete(sender: type, instance: Buyer, **kwargs: Any) -> None:
    """A buyer deleted by any path (their account's deletion in the admin or a shell, a queryset's)
    is judged by their orders and cart as stored, locked, not as Django's deletion saw them a moment
    before (buyer_leaving)."""
    buyer_leaving(buyer_id=instance.pk)


def cart_before_delete(sender: type, instance: Cart, **kwargs: Any) -> None:
    """A cart deleted by any path (with its buyer, merged at a log-in, a queryset's in a shell)
    waits for a car being added to it, and takes that line along (cart_leaving)."""
    cart_leaving(cart_id=instance.pk)


m2m_changed.connect(order_cars_changed, sender=Order.cars.through, dispatch_uid="orders.order_cars_changed")
pre_delete.connect(order_line_before_delete, sender=OrderItem, dispatch_uid="orders.order_line_before_delete")
post_delete.connect(order_line_deleted, sender=OrderItem, dispatch_uid="orders.order_line_deleted")
pre_delete.connect(order_before_delete, sender=Order, dispatch_uid="orders.order_before_delete")
pre_delete.connect(buyer_before_delete, sender=Buyer, dispatch_uid="orders.buyer_before_delete")
pre_delete.connect(cart_before_delete, sender=Cart, dispatch_uid="orders.cart_before_delete")
user_logged_in.connect(merge_visitor_cart_at_login, dispatch_uid="orders.merge_visitor_cart_at_login")
car_page_notes.connect(note_buyers_own_order, sender=Car, dispatch_uid="orders.note_buyers_own_order")
