from collections.abc import Collection, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Aggregate,
    Count,
    DecimalField,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Coalesce

from carsales.catalog.facts import sees_car_identity
from carsales.catalog.models import Car, CarStatus, plate_as_stored
from carsales.catalog.vin import vin_normalise
from carsales.core.converters import id_in
from carsales.core.permissions import has_staff_power
from carsales.core.prepared import PreparedQuery

from .models import ORDER_STATE_NAMES, Cart, CartItem, Order, OrderItem, OrderStatus, VoidReason


def order_list_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Order]:
    """The user's own orders (staff: all), items and cars loaded in a fixed number of queries."""
    orders = Order.objects.select_related("buyer__user").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.select_related("car__brand"))
    )
    if has_staff_power(user, ["orders.view_order"]):
        return orders
    return orders.filter(buyer__user_id=user.pk or 0)


def order_ids_existing(*, ids: Iterable[int]) -> set[int]:
    """Those of `ids` whose order still exists (a record elsewhere may outlive its order); one query."""
    return set(Order.objects.filter(pk__in=set(ids)).values_list("pk", flat=True))


def order_cancellable_by(*, order: Order, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether `user` may cancel `order`: their own, or any as staff who change orders (seeing
    every order is not cancelling them)."""
    own = user.pk is not None and order.buyer.user_id == user.pk
    return own or has_staff_power(user, ["orders.change_order"])


def order_shows_car_identity(*, order: Order, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether the order's page names its cars' plates and VINs to `user`: staff who see them
    anyway, and the buyer once paid, while the sale stands (the cars are theirs). Not for a placed
    order: anyone could order a car, read them and cancel. Visitors see them masked on the car's page."""
    own = user.pk is not None and order.buyer.user_id == user.pk
    return (own and order.is_active and order.status == OrderStatus.PAID) or sees_car_identity(user)


# The states staff filter orders by (order_search's `status`), on the site and in the admin.
ORDER_STATES = list(ORDER_STATE_NAMES.items())


def order_search(orders: QuerySet[Order], *, status: str = "", query: str = "") -> QuerySet[Order]:
    """Orders in one state ("voided" for every voided sale, whatever its refund; "refund_owed" for one
    whose payment is owed back and not recorded as refunded yet; "refund_to_check" for one voided as
    recorded in error, which may have had a payment, no refund recorded; "refunded" for one whose
    refund is recorded), and matching `query` on the buyer (username, email, name), a car (model,
    brand, plate, VIN, stock code), a payment's or refund's reference, or an order number. For
    staff: plates and VINs are theirs to search."""
    if status == "voided":
        orders = orders.filter(is_active=False)
    elif status == "refund_owed":  # Order.awaits_refund, as a query
        not_owed = Q(void_reason__in=[VoidReason.PAYMENT, VoidReason.ERROR])
        orders = orders.filter(Q(is_active=False, refunded_at__isnull=True) & ~not_owed)
    elif status == "refund_to_check":
        orders = orders.filter(is_active=False, refunded_at__isnull=True, void_reason=VoidReason.ERROR)
    elif status == "refunded":
        orders = orders.filter(is_active=False, refunded_at__isnull=False)
    elif status in OrderStatus.values:
        orders = orders.filter(status=status, is_active=True)
    for word in query.split()[:8]:
        match = (
            Q(buyer__user__username__icontains=word)
            | Q(buyer__user__email__icontains=word)
            | Q(buyer__user__first_name__icontains=word)
            | Q(buyer__user__last_name__icontains=word)
            | Q(items__car__model__icontains=word)
            | Q(items__car__brand__name__icontains=word)
            | Q(items__car__plate=plate_as_stored(word))
            | Q(items__car__vin=vin_normalise(word))
            | Q(items__car__stock_code=word.upper())
            | Q(payment_reference__icontains=word)
            | Q(refund_reference__icontains=word)
        )
        number = id_in(word.lstrip("#"))
        if number is not None:
            match |= Q(pk=number)
        orders = orders.filter(pk__in=Order.objects.filter(match).values("pk"))
    return orders


# Reading a cart writes nothing: a buyer's or visitor's cart row is made by its first car.
def buyer_cart_items(*, user_id: int) -> QuerySet[CartItem]:
    return CartItem.objects.filter(cart__buyer__user_id=user_id).select_related("car__brand")


def visitor_cart_items(*, token: str) -> QuerySet[CartItem]:
    return CartItem.objects.filter(cart__token=token, cart__buyer__isnull=True).select_related("car__brand")


def cart_held(*, user_id: int | None, token: str | None) -> Cart | None:
    """The signed-in user's cart, or else the visitor's with this token; None when there is none
    (a cart's row is made by its first car, never by looking for it)."""
    if user_id is not None:
        return Cart.objects.filter(buyer__user_id=user_id).first()
    return Cart.objects.filter(token=token, buyer__isnull=True).first() if token else None


def cart_car_ids(*, user_id: int | None, token: str | None) -> frozenset[int]:
    """The ids of the cars in the signed-in user's cart, or else in the visitor's with this token
    (as cart_held finds the cart); one query, none without a user or a token."""
    if user_id is not None:
        return frozenset(_CART_CARS_BY_USER.rows(user_id=user_id))
    return frozenset(_CART_CARS_BY_TOKEN.rows(token=token)) if token else frozenset()


class _IdsAsText(Aggregate):
    """Ids joined by commas, as text."""

    function = "GROUP_CONCAT"
    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler, connection, function="STRING_AGG", template="%(function)s((%(expressions)s)::text, ',')"
        )


def cart_car_ids_of_outer_user() -> Subquery:
    """The ids of the cars in the cart of the user whose row the outer query reads, as text
    ("3,5"; NULL for none): read with the user on each signed-in request
    (accounts.backends.read_with_each_request_user, OrdersConfig.ready), one statement fewer."""
    items = CartItem.objects.filter(cart__buyer__user_id=OuterRef("pk")).order_by()
    return Subquery(items.values("cart_id").annotate(ids=_IdsAsText("car_id")).values("ids"))


CART_READ_WITH_USER = "cart_car_ids_read"


def cart_car_ids_as_read(ids: str | None) -> frozenset[int]:
    """The ids cart_car_ids_of_outer_user read, as cart_car_ids gives them."""
    return frozenset(int(car_id) for car_id in ids.split(",")) if ids else frozenset()


# Built once (core.prepared): built on every page that shows the cart's count, the query cost ten
# times the read itself (SQLite: 185 µs to 16).
_CART_CARS_BY_USER = PreparedQuery(
    lambda user_id: CartItem.objects.filter(cart__buyer__user_id=user_id).order_by().values_list("car_id", flat=True),
    user_id=int,
)
_CART_CARS_BY_TOKEN = PreparedQuery(
    lambda token: (
        CartItem.objects.filter(cart__token=token, cart__buyer__isnull=True).order_by().values_list("car_id", flat=True)
    ),
    token=str,
)


def buyer_cart_id(*, user_id: int) -> int | None:
    return Cart.objects.filter(buyer__user_id=user_id).values_list("pk", flat=True).first()


def car_reserved_until(*, car: Car) -> datetime | None:
    """When the unpaid order holding `car` lapses unless paid (None: no such order); one query."""
    held = Order.objects.filter(items__car=car, items__holds_car=True, status=OrderStatus.PLACED, is_active=True)
    return held.values_list("expires_at", flat=True).first()


def order_holding_car(*, car: Car) -> Order | None:
    """The live order holding `car` (reserved or sold to its buyer), whoever that is, or None; its
    `line_price`: the price the order holds the car at. One query."""
    holding = Order.objects.filter(items__car=car, items__holds_car=True)  # the line joined, then its price
    return holding.annotate(line_price=F("items__price")).select_related("buyer__user").first()


def order_holding(*, car: Car, user: AbstractBaseUser | AnonymousUser) -> Order | None:
    """The user's live order holding `car` (reserved or bought by them), or None; its `line_price`
    as order_holding_car's. One query."""
    if not user.is_authenticated:
        return None
    holding = Order.objects.filter(items__car=car, items__holds_car=True, buyer__user_id=user.pk)
    return holding.annotate(line_price=F("items__price")).first()


def order_total_contradictions() -> list[str]:
    """Orders whose totals (cars, price) are not their lines', as sentences; empty when all agree."""
    lines_price = Coalesce(Sum("items__price"), Value(Decimal(0)), output_field=DecimalField())
    orders = Order.objects.annotate(lines=Count("items"), lines_price=lines_price).exclude(
        total=F("lines"), total_price=F("lines_price")
    )  # compared by the database: only the orders that disagree are read
    return [
        f"order #{order.pk} totals {order.total} cars / {order.total_price} but its lines {order.lines} / "
        f"{order.lines_price}"
        for order in orders
    ]


def stock_contradictions() -> list[str]:
    """Where the stored cars and order lines disagree, as sentences; empty when they agree.

    A reserved or sold car must be held by a live line, and a live line's car must be reserved
    (its order placed) or sold (its order paid). The order flow keeps this on every path; a
    fixture load writes rows as given, so `loaddata` asks this before it commits.
    """
    live = OrderItem.objects.filter(holds_car=True)
    held_without_line = Car.objects.exclude(status__in=[CarStatus.AVAILABLE, CarStatus.WITHDRAWN]).exclude(
        pk__in=live.values("car_id")
    )
    problems = [f"{car} (#{car.pk}) is {car.status} but no order holds it" for car in held_without_line]
    wrong = live.exclude(order__status=OrderStatus.PLACED, car__status=CarStatus.RESERVED).exclude(
        order__status=OrderStatus.PAID, order__is_active=True, car__status=CarStatus.SOLD
    )
    problems += [
        f"order #{line.order_id} holds car #{line.car_id}, which is {line.car.status} while the order is "
        f"{line.order.status}"
        for line in wrong.select_related("car", "order")
    ]
    # A placed or paid order holds every car it lists until it ends (cancelled, expired, voided).
    released = OrderItem.objects.filter(
        holds_car=False, order__is_active=True, order__status__in=[OrderStatus.PLACED, OrderStatus.PAID]
    ).select_related("order")
    problems += [
        f"order #{line.order_id} is {line.order.status} but no longer holds car #{line.car_id}" for line in released
    ]
    return problems


def loaded_order_contradictions(*, order_ids: Collection[int]) -> list[str]:
    """Where these orders (a fixture's) are not as checkout writes one, as sentences: a live order
    with its lines, a placed one with its deadline to pay by. Only the rows a load wrote: a row
    stored before (a placed order of the days before deadlines) is no reason to refuse a load."""
    ids, problems = sorted(order_ids), []
    for start in range(0, len(ids), 1000):  # a large fixture's ids, within a statement's parameters
        live = Order.objects.filter(
            pk__in=ids[start : start + 1000], is_active=True, status__in=[OrderStatus.PLACED, OrderStatus.PAID]
        )
        empty = live.filter(items=None).values_list("pk", "status")
        problems += [f"order #{pk} is {status} but lists no car" for pk, status in empty]
        undated = live.filter(status=OrderStatus.PLACED, expires_at=None).values_list("pk", flat=True)
        problems += [f"order #{pk} is placed with no deadline to pay by" for pk in undated]
    return problems
