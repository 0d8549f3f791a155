from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from carsales.catalog.models import Car

from .models import CartItem, Order, OrderItem


def order_list_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Order]:
    """The user's own orders (staff: all), items and cars loaded in a fixed number of queries."""
    orders = Order.objects.select_related("buyer__user").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("car__brand"))
    )
    if getattr(user, "is_staff", False):
        return orders
    return orders.filter(buyer__user_id=user.pk or 0)


def cart_items(*, cart_id: int) -> QuerySet[CartItem]:
    return CartItem.objects.filter(cart_id=cart_id).select_related("car__brand")


def order_holding(*, car: Car, user: AbstractBaseUser | AnonymousUser) -> Order | None:
    """The user's live order holding `car` (reserved or bought by them), or None; one query."""
    if not user.is_authenticated:
        return None
    return Order.objects.filter(items__car=car, items__holds_car=True, buyer__user_id=user.pk).first()
