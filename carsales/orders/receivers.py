"""Order totals follow the order's cars (m2m_changed), and a visitor's cart follows them
through login (django.contrib.auth's user_logged_in)."""

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed
from django.http import HttpRequest

from carsales.accounts.services import buyer_ensure

from .models import Cart, Order
from .services import cart_for_buyer, cart_merge, order_totals_refresh

CART_TOKEN_SESSION_KEY = "cart_token"


def order_cars_changed(
    sender: type, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """Keep `total` and `total_price` of every order whose cars changed, from either side.

    From the order's side (`order.cars.add(car)`) that is the order itself; from the car's side
    (`car.orders.add(order)`) the orders in pk_set, or for a clear the orders the car was in,
    noted before the clear since the clear leaves no pk_set.
    """
    if action == "pre_clear" and reverse:
        instance._orders_before_clear = list(instance.orders.values_list("pk", flat=True))
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if not reverse:
        order_totals_refresh(order_ids=[instance.pk])
        instance.refresh_from_db(fields=["total", "total_price"])
    elif action == "post_clear":
        order_totals_refresh(order_ids=instance.__dict__.pop("_orders_before_clear", []))
    else:
        order_totals_refresh(order_ids=pk_set or [])


def merge_visitor_cart_at_login(sender: type, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    token = request.session.pop(CART_TOKEN_SESSION_KEY, None)
    visitor_cart = Cart.objects.filter(token=token, buyer__isnull=True).first() if token else None
    if visitor_cart is not None:
        cart_merge(source=visitor_cart, target=cart_for_buyer(buyer=buyer_ensure(user=user)))


m2m_changed.connect(order_cars_changed, sender=Order.cars.through, dispatch_uid="orders.order_cars_changed")
user_logged_in.connect(merge_visitor_cart_at_login, dispatch_uid="orders.merge_visitor_cart_at_login")
