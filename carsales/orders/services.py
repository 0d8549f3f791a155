"""The order flow: cart, checkout, payment, cancellation. Each service is one transaction;
the order's events are sent from here, after the writes."""

import secrets
from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from carsales.accounts.models import Buyer
from carsales.catalog.models import Car, CarStatus
from carsales.core.dispatch import DomainSignal

from .models import Cart, CartItem, Order, OrderItem, OrderStatus
from .signals import order_cancelled, order_paid, order_placed

MONEY: DecimalField = DecimalField(max_digits=14, decimal_places=2)


class CartError(Exception):
    """The cart change cannot be made; the message says why, for the buyer."""


class CheckoutError(Exception):
    """The checkout is refused; the message says why. Nothing was written."""


class OrderStateError(Exception):
    """The order is not in a state that allows this action."""


def cart_for_buyer(*, buyer: Buyer) -> Cart:
    cart, _ = Cart.objects.get_or_create(buyer=buyer)
    return cart


def cart_for_token(*, token: str | None) -> Cart:
    """The visitor cart with this token, or a new one with a fresh token."""
    if token:
        cart = Cart.objects.filter(token=token, buyer__isnull=True).first()
        if cart is not None:
            return cart
    return Cart.objects.create(token=secrets.token_urlsafe(24))


@transaction.atomic
def cart_item_add(*, cart: Cart, car: Car) -> CartItem:
    """Put an available car in the cart. Raises CartError if it is not available or already there."""
    car = Car.objects.select_for_update().get(pk=car.pk)
    if car.status != CarStatus.AVAILABLE:
        raise CartError(f"{car} is no longer available.")
    try:
        with transaction.atomic():
            return CartItem.objects.create(cart=cart, car=car)
    except IntegrityError:
        raise CartError(f"{car} is already in your cart.")


def cart_item_remove(*, cart: Cart, car_id: int) -> bool:
    """Take the car out of the cart; returns whether it was there."""
    deleted, _ = CartItem.objects.filter(cart=cart, car_id=car_id).delete()
    return bool(deleted)


@transaction.atomic
def cart_merge(*, source: Cart, target: Cart) -> int:
    """Move a visitor's cart into the buyer's cart at login; returns how many cars moved.

    Cars already in the target, or no longer available, are dropped; the source cart is deleted.
    """
    existing = CartItem.objects.filter(cart=target).values("car_id")
    moving = list(
        CartItem.objects.filter(cart=source, car__status=CarStatus.AVAILABLE)
        .exclude(car_id__in=existing)
        .values_list("car_id", flat=True)
    )
    CartItem.objects.bulk_create([CartItem(cart=target, car_id=car_id) for car_id in moving])
    source.delete()
    return len(moving)


def order_totals_refresh(*, order_ids: Iterable[int]) -> None:
    """Recompute number of cars and total price of these orders in one UPDATE.

    An item's price is the price at ordering, or the car's value for a car added by hand.
    """
    items = OrderItem.objects.filter(order=OuterRef("pk")).order_by().values("order")
    count = items.annotate(n=Count("id")).values("n")
    price = items.annotate(s=Sum(Coalesce("price", "car__value", Value(0), output_field=MONEY))).values("s")
    Order.objects.filter(pk__in=list(order_ids)).update(
        total=Coalesce(Subquery(count), Value(0)),
        total_price=Coalesce(Subquery(price, output_field=MONEY), Value(0), output_field=MONEY),
    )


@transaction.atomic
def order_place(*, cart: Cart, buyer: Buyer, actor: AbstractBaseUser | AnonymousUser) -> Order:
    """Turn the buyer's cart into an order, reserving its cars, then send order_placed.

    The cars are locked in id order, so concurrent checkouts queue instead of deadlocking and
    the second one to reach a car sees it reserved. Raises CheckoutError (nothing written, no
    signal) for another buyer's cart, an empty cart or a car no longer available.
    """
    if cart.buyer_id != buyer.pk:
        raise CheckoutError("This cart is not yours.")
    car_ids = list(CartItem.objects.filter(cart=cart).values_list("car_id", flat=True))
    if not car_ids:
        raise CheckoutError("Your cart is empty.")
    cars = list(Car.objects.select_for_update().select_related("brand").filter(pk__in=car_ids).order_by("pk"))
    gone = [str(car) for car in cars if car.status != CarStatus.AVAILABLE]
    if gone:
        raise CheckoutError(f"No longer available: {', '.join(gone)}. Remove it from your cart to go on.")
    order = Order.objects.create(buyer=buyer)
    OrderItem.objects.bulk_create([OrderItem(order=order, car=car, price=car.value or 0) for car in cars])
    Car.objects.filter(pk__in=car_ids).update(status=CarStatus.RESERVED)
    # A reserved car leaves every cart, not only this one.
    CartItem.objects.filter(car_id__in=car_ids).delete()
    order_totals_refresh(order_ids=[order.pk])
    order.refresh_from_db(fields=["total", "total_price"])
    order_placed.send_robust(sender=Order, order=order, buyer=buyer, actor=actor)
    return order


def _order_leave_placed(
    *,
    order: Order,
    to: OrderStatus,
    stamp: str,
    cars_become: CarStatus,
    signal: DomainSignal,
    actor: AbstractBaseUser | AnonymousUser,
) -> Order:
    """Move a placed, active order to `to` under its row lock, set its cars' status, then send `signal`."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != OrderStatus.PLACED or not order.is_active:
        raise OrderStateError(
            f"Order #{order.pk} is {order.get_status_display().lower()}; it cannot be {to.label.lower()}."
        )
    order.status = to
    setattr(order, stamp, timezone.now())
    order.save(update_fields=["status", stamp])
    Car.objects.filter(order_items__order=order).update(status=cars_become)
    signal.send_robust(sender=Order, order=order, actor=actor)
    return order


@transaction.atomic
def order_mark_paid(*, order: Order, actor: AbstractBaseUser | AnonymousUser) -> Order:
    """Mark a placed order paid and its cars sold, then send order_paid. Raises OrderStateError."""
    return _order_leave_placed(
        order=order, to=OrderStatus.PAID, stamp="paid_at", cars_become=CarStatus.SOLD, signal=order_paid, actor=actor
    )


@transaction.atomic
def order_cancel(*, order: Order, actor: AbstractBaseUser | AnonymousUser) -> Order:
    """Cancel a placed order and put its cars back on sale, then send order_cancelled. Raises OrderStateError."""
    return _order_leave_placed(
        order=order,
        to=OrderStatus.CANCELLED,
        stamp="cancelled_at",
        cars_become=CarStatus.AVAILABLE,
        signal=order_cancelled,
        actor=actor,
    )


@transaction.atomic
def order_deactivate(*, order_id: int) -> None:
    """Mark an order inactive and return its cars to stock (its sale was voided)."""
    Order.objects.filter(pk=order_id).update(is_active=False)
    Car.objects.filter(order_items__order_id=order_id).update(status=CarStatus.AVAILABLE)
