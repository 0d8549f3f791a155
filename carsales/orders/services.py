"""The order flow: cart, checkout, payment, cancellation. Each service is one transaction;
the order's events are sent from here, after the writes."""

import secrets
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, DecimalField, OuterRef, ProtectedError, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format

from carsales.accounts.models import Buyer
from carsales.catalog.models import Car, CarStatus
from carsales.catalog.services import OFF_SALE, StockError, cars_release, cars_reserve, cars_sell
from carsales.core.gone import deleted_meanwhile, found_or_made_for, stored_or_gone
from carsales.core.money import format_money
from carsales.core.state import transition

from .models import (
    CancellationReason,
    Cart,
    CartItem,
    Order,
    OrderItem,
    OrderStatus,
    PaymentMethod,
    VoidReason,
    payment_reference_as_stored,
    validate_payment_reference,
)
from .signals import order_cancelled, order_paid, order_payment_recorded, order_placed, order_refunded

MONEY: DecimalField = DecimalField(max_digits=14, decimal_places=2)


class CartError(Exception):
    """The cart change cannot be made; the message says why, for the buyer."""


class CheckoutError(Exception):
    """The checkout is refused; the message says why. Nothing was written."""

    def said_over_the_cart(self) -> str:
        """The refusal as the cart page says it above the cart, which shows each car as it is now."""
        return str(self)


class AlreadyOrdered(CheckoutError):
    """The checkout's cars are the buyer's order already (the same checkout sent twice)."""

    def __init__(self, order_id: int, *, cars: int, confirmed: bool) -> None:
        held = "the car" if cars == 1 else "the cars"
        # A checkout that named no cars (an API call without confirmed_car_ids) confirmed none.
        which = f"{held} you confirmed" if confirmed else f"{held} your cart held"
        super().__init__(f"Order #{order_id} is placed already: it holds {which}.")
        self.order_id = order_id


class _CarsRefused(CheckoutError):
    """The stock refused `refused` of the cart's cars (`car_ids`), each named in the message;
    `repriced`: what the buyer must also hear (the prices changed meanwhile), or ""."""

    def __init__(self, message: str, *, car_ids: set[int], refused: int, repriced: str) -> None:
        super().__init__(message)
        self.car_ids, self.refused, self.repriced = car_ids, refused, repriced

    def said_over_the_cart(self) -> str:
        # The cart marks each car refused with why, and says what to do: named again, it read thrice.
        cars = "the car marked below" if self.refused == 1 else f"the {self.refused} cars marked below"
        return f"Your order was not placed: {cars} cannot be ordered now.{self.repriced}"


class OrderStateError(Exception):
    """The order is not in a state that allows this action."""


def cart_for_buyer(*, buyer: Buyer) -> Cart:
    """The buyer's cart, made on first need. Made with the buyer's row locked against its deletion
    (buyer_leaving): a buyer deleted meanwhile is a 404 (deleted_meanwhile), not a cart for no one."""
    return found_or_made_for(buyer, Cart, buyer=buyer)


def cart_for_token(*, token: str | None) -> Cart:
    """The visitor cart with this token, or a new one with a fresh token."""
    if token:
        cart = Cart.objects.filter(token=token, buyer__isnull=True).first()
        if cart is not None:
            return cart
    return Cart.objects.create(token=secrets.token_urlsafe(24))


@transaction.atomic  # within the deletion's own
def buyer_leaving(*, buyer_id: int) -> None:
    """What a buyer's deletion (their account's, by any path) must find as stored: Django looked
    for the rows protecting the buyer and those it takes along before it deletes, unlocked, so a
    checkout or a first cart committed in between was unseen (a foreign-key error, or a deadlock
    with the checkout deleting the same cart lines). Here, before the deletion writes: the cart
    locked as a checkout, an add and a merge lock it first (one in flight finishes), then the
    buyer (a cart being made for them is committed, cart_for_buyer), then their cart again (one made
    meanwhile, its first line being added: the add finishes); an order of theirs found now refuses
    the deletion (ProtectedError, as Django's own check would have), else their cart goes, with
    every line it holds by now. Refused here, inside Django's deletion, the refusal leaves the
    caller's transaction to be rolled back, as a database error would."""
    carts = Cart.objects.select_for_update().filter(buyer_id=buyer_id).values_list("pk", flat=True)
    list(carts.all())
    list(Buyer.objects.select_for_update().filter(pk=buyer_id).values_list("pk", flat=True))
    list(carts.all())
    orders = list(Order.objects.filter(buyer_id=buyer_id))
    if orders:
        raise ProtectedError(
            f"This buyer cannot be deleted: their order{'s' if len(orders) > 1 else ''} "
            f"{', '.join(f'#{order.pk}' for order in orders)} must be kept.",
            set(orders),
        )
    Cart.objects.filter(buyer_id=buyer_id).delete()


def cars_held_by(*, cart: Cart) -> int:
    """Cars the cart's owner holds: in the cart, plus reserved by their unpaid orders."""
    in_cart = CartItem.objects.filter(cart=cart).count()
    if cart.buyer_id is None:
        return in_cart
    reserved = OrderItem.objects.filter(
        holds_car=True, order__buyer_id=cart.buyer_id, order__status=OrderStatus.PLACED
    ).count()
    return in_cart + reserved


@transaction.atomic
def cart_item_add(*, cart: Cart, car: Car) -> CartItem:
    """Put a car that is for sale in the cart.

    Raises CartError if it is not available, has no price (price on request), is already
    there, or the owner already holds CARSALES_MAX_CARS_HELD cars in carts and unpaid orders
    (one buyer cannot hoard the stock). The cart row is locked, so two adds at once for one
    buyer cannot both slip under the limit.
    """
    if not _cart_locked(cart):
        raise deleted_meanwhile(Cart)
    car = stored_or_gone(Car.objects.select_for_update(of=("self",)).select_related("brand"), pk=car.pk)
    if not car.is_available:
        raise CartError(f"{car} {OFF_SALE[CarStatus(car.status)]}.")
    if car.value is None:
        raise CartError(f"{car} has no price yet: ask us for a price (price on request).")
    if CartItem.objects.filter(cart=cart, car=car).exists():
        raise CartError(f"{car} is already in your cart.")
    limit = settings.CARSALES_MAX_CARS_HELD
    if cars_held_by(cart=cart) >= limit:
        if cart.buyer_id is None:  # a visitor's: no order of theirs holds a car
            raise CartError(f"You can hold at most {limit} cars at once in your cart: remove one to make room.")
        raise CartError(
            f"You can hold at most {limit} cars at once, in your cart and unpaid orders. "
            "Remove a car from your cart, or cancel an unpaid order, to make room (a paid order holds none)."
        )
    return CartItem.objects.create(cart=cart, car=car, price_when_added=car.value)


def _cart_locked(cart: Cart | int) -> bool:
    """Lock the cart's row, as a checkout, an add, a merge and a deletion lock it first: a change to
    its lines waits for the one under way. False: the cart is gone (merged into an account's at a
    log-in, deleted with its buyer): the caller says whether that is a 404 or nothing to do."""
    cart_id = cart if isinstance(cart, int) else cart.pk
    return bool(list(Cart.objects.select_for_update().filter(pk=cart_id).values_list("pk", flat=True)))


def cart_leaving(*, cart_id: int) -> None:
    """What a cart's deletion, by any path, waits for: a car being added meanwhile, its line not
    yet committed, was unseen by the statement deleting the cart's lines, and left pointing at no
    cart (a foreign-key error at commit). Locked first, as an add locks it: the add finishes, and
    the lines' statement, run after this (pre_delete) by Django's deletion, takes its line too; an
    add that comes after finds the cart gone (a 404). That holds while the lines are deleted by a
    statement and not as collected before (no receiver on CartItem's deletion: a test keeps it)."""
    _cart_locked(cart_id)


@transaction.atomic
def cart_item_remove(*, cart: Cart, car_id: int) -> bool:
    """Take the car out of the cart; returns whether it was there. A car the checkout under way in
    another tab orders stays in the order, and is not said taken out (the cart locked first)."""
    if not _cart_locked(cart):
        return False
    deleted, _ = CartItem.objects.filter(cart=cart, car_id=car_id).delete()
    return bool(deleted)


@transaction.atomic
def cart_items_unavailable_remove(*, cart: Cart) -> int:
    """Take out of the cart every car no longer for sale (reserved, sold, withdrawn or unpriced
    meanwhile), so the others can be ordered; returns how many."""
    if not _cart_locked(cart):
        return 0
    for_sale = Q(car__status=CarStatus.AVAILABLE, car__value__isnull=False)
    deleted, _ = CartItem.objects.filter(cart=cart).exclude(for_sale).delete()
    return deleted


@dataclass(frozen=True)
class CartMerge:
    """What a login did with the visitor's cart: cars moved, and cars left out, with why."""

    moved: list[Car]
    over_the_limit: list[Car]
    unavailable: list[Car]


@transaction.atomic
def cart_merge(*, source: Cart, target: Cart) -> CartMerge:
    """Move a visitor's cart into the buyer's cart at login.

    Cars already in the target are skipped; cars no longer for sale, and those past the buyer's
    hold limit, are left out and named in the result (for a message); the source cart is
    deleted. The buyer's cart row is locked first, as cart_item_add does, so a car added in
    another tab at the same moment cannot slip past the limit; then the visitor's, so a car being
    added to it is moved too, or waits and finds the cart gone; then the cars moved, in id order as
    every car lock is taken, so a car deleted or ordered meanwhile is judged as stored.
    """
    if not _cart_locked(target):
        raise deleted_meanwhile(Cart)
    if not _cart_locked(source):  # merged by another log-in of this visitor meanwhile
        return CartMerge(moved=[], over_the_limit=[], unavailable=[])
    existing = CartItem.objects.filter(cart=target).values("car_id")
    # In the order the visitor added them (the cart's): past the limit, the last added are left out.
    lines = list(CartItem.objects.filter(cart=source).exclude(car_id__in=existing).select_related("car__brand"))
    cars = Car.objects.select_for_update(of=("self",)).select_related("brand")
    stored = {car.pk: car for car in cars.filter(pk__in=[line.car_id for line in lines]).order_by("pk")}
    offered = [stored.get(line.car_id, line.car) for line in lines]
    seen = {line.car_id: line.price_when_added for line in lines}
    for_sale = [car for car in offered if car.pk in stored and car.is_for_sale]
    room = max(settings.CARSALES_MAX_CARS_HELD - cars_held_by(cart=target), 0)
    moving = for_sale[:room]
    CartItem.objects.bulk_create([CartItem(cart=target, car=car, price_when_added=seen[car.pk]) for car in moving])
    source.delete()
    return CartMerge(
        moved=moving,
        over_the_limit=for_sale[room:],
        unavailable=[car for car in offered if car.pk not in stored or not car.is_for_sale],
    )


def order_totals_refresh(*, order_ids: Iterable[int]) -> None:
    """Recompute number of cars and total price of these orders in one UPDATE."""
    items = OrderItem.objects.filter(order=OuterRef("pk")).order_by().values("order")
    count = items.annotate(n=Count("id")).values("n")
    price = items.annotate(s=Sum("price")).values("s")
    Order.objects.filter(pk__in=list(order_ids)).state_write(
        total=Coalesce(Subquery(count), Value(0)),
        total_price=Coalesce(Subquery(price, output_field=MONEY), Value(0), output_field=MONEY),
    )


def _cart_changes(in_cart: dict[int, Car], confirmed: set[int], buyer: Buyer) -> list[str]:
    """What differs between the cart now and the cars the buyer confirmed, for a message: a car
    gone from the cart into one of their orders (the same checkout sent twice) says which."""
    dropped = confirmed - set(in_cart)
    still_listed = list(Car.objects.select_related("brand").filter(pk__in=dropped).order_by("pk"))
    ordered = dict(
        OrderItem.objects.filter(order__buyer=buyer, car_id__in=dropped, holds_car=True).values_list("car_id", "order")
    )
    named = _names_told_apart([*in_cart.values(), *still_listed])
    added = [f"{named[car_id]} was added" for car_id in sorted(set(in_cart) - confirmed)]
    removed = [
        f"{named[car.pk]} is in your order #{ordered[car.pk]}" if car.pk in ordered else f"{named[car.pk]} was removed"
        for car in still_listed
    ]
    # A car deleted since, or an id that never was one (an API caller's): either way, not listed.
    if gone := len(dropped) - len(still_listed):
        removed.append(f"{gone} car{'s are' if gone > 1 else ' is'} no longer listed")
    return added + removed


def _order_holding(buyer: Buyer, car_ids: set[int]) -> int | None:
    """The buyer's order whose live lines hold every one of these cars, if one does."""
    holding = list(
        OrderItem.objects.filter(order__buyer=buyer, car_id__in=car_ids, holds_car=True).values_list("order", flat=True)
    )
    return holding[0] if len(holding) == len(car_ids) and len(set(holding)) == 1 else None


def _names_told_apart(cars: Collection[Car]) -> dict[int, str]:
    """Each car's name, with its stock code where another of `cars` has the same name."""
    names = Counter(str(car) for car in cars)
    return {car.pk: f"{car} ({car.stock_code})" if names[str(car)] > 1 else str(car) for car in cars}


def order_place(
    *,
    cart: Cart,
    buyer: Buyer,
    actor: AbstractBaseUser | AnonymousUser,
    confirmed_car_ids: Collection[int] | None = None,
    confirmed_prices: Mapping[int, Decimal] | None = None,
) -> Order:
    """Turn the buyer's cart into an order, reserving its cars, then send order_placed.

    `confirmed_car_ids` are the cars the buyer saw when they confirmed; if the cart no longer
    holds exactly those, nothing is ordered. `confirmed_prices` (car id → price) are the prices
    they saw: a car whose price changed since is named, with both prices, and nothing is ordered.
    The cars are reserved through the catalogue, locked in id order, so concurrent checkouts
    queue instead of deadlocking and the second to reach a car finds it reserved; the partial
    unique constraint on live order lines backs this up. Raises CheckoutError (nothing written,
    no signal, a message naming the cars) for another buyer's cart, an empty or changed cart, a
    changed price, or a car gone, reserved, sold or unpriced; AlreadyOrdered, a CheckoutError naming
    the order, when the cars are this buyer's order already (the same checkout sent twice).
    """
    try:
        return _order_placed(
            cart=cart,
            buyer=buyer,
            actor=actor,
            confirmed_car_ids=confirmed_car_ids,
            confirmed_prices=confirmed_prices,
        )
    except _CarsRefused as refused:
        # The same checkout sent twice at once: the second, let through the cart's lock once the
        # first committed, read the cart's cars as they were before (PostgreSQL hands the rows
        # joined to a locked one as its statement first saw them). Its cars are then this buyer's
        # order's, not another buyer's: said once the refusal is rolled back.
        placed = _order_holding(buyer, refused.car_ids)
        if placed is not None:
            raise AlreadyOrdered(placed, cars=len(refused.car_ids), confirmed=bool(confirmed_car_ids)) from refused
        raise


@transaction.atomic
def _order_placed(
    *,
    cart: Cart,
    buyer: Buyer,
    actor: AbstractBaseUser | AnonymousUser,
    confirmed_car_ids: Collection[int] | None,
    confirmed_prices: Mapping[int, Decimal] | None,
) -> Order:
    if cart.buyer_id != buyer.pk:
        raise CheckoutError("This cart is not yours.")
    # The cart's row locked first (as an add, a removal and a merge lock it), then its items read:
    # a car added or taken out in another tab meanwhile waits for this checkout, or was before it,
    # and the items are read as they are once the lock is held (PostgreSQL hands the rows a locking
    # statement joins as it first saw them: a car taken out meanwhile would be ordered). Only the
    # items read are ordered, and deleted below. SQLite's transaction holds its write lock already.
    if connection.features.has_select_for_update:
        _cart_locked(cart)
    items = CartItem.objects.filter(cart=cart).select_related("cart", "car__brand")
    in_cart = {item.car_id: item.car for item in items}
    if confirmed_car_ids and not in_cart and (placed := _order_holding(buyer, set(confirmed_car_ids))):
        raise AlreadyOrdered(placed, cars=len(set(confirmed_car_ids)), confirmed=True)
    if confirmed_car_ids is not None and (changes := _cart_changes(in_cart, set(confirmed_car_ids), buyer)):
        raise CheckoutError(
            f"Your cart changed since you reviewed it: {'; '.join(changes)}. Check it and place the order again."
        )
    if not in_cart:
        raise CheckoutError("Your cart is empty.")
    try:
        cars = cars_reserve(car_ids=list(in_cart))
    except StockError as refusal:
        # Said with the refusal: once that car is out, the cart would show a new price unannounced.
        repriced = _repriced(in_cart.values(), confirmed_prices)
        also = f" Also, a price changed since you reviewed your cart: {'; '.join(repriced)}." if repriced else ""
        raise _CarsRefused(
            f"{refusal} {_remove_to_order(refusal.refused, len(in_cart))}{also}",
            car_ids=set(in_cart),
            refused=refusal.refused,
            repriced=also,
        )
    # Compared with the locked rows: a price changed after this point waits for the order.
    repriced = _repriced(cars, confirmed_prices)
    if repriced:
        raise CheckoutError(
            f"A price changed since you reviewed your cart: {'; '.join(repriced)}. Check it and place the order again."
        )
    # cars_reserve refused unpriced cars, so every value is set; the totals are the lines' own.
    prices = {car: cast(Decimal, car.value) for car in cars}
    with transition():
        order = Order.objects.create(
            buyer=buyer,
            expires_at=timezone.now() + timedelta(hours=settings.CARSALES_RESERVATION_HOURS),
            total=len(prices),
            total_price=sum(prices.values(), Decimal(0)),
        )
        try:
            # No savepoint: the refusal below fails the whole checkout, whose block rolls it back.
            with transaction.atomic(savepoint=False):
                lines = OrderItem.objects.bulk_create(
                    [OrderItem(order=order, car=car, price=price) for car, price in prices.items()]
                )
        except IntegrityError:
            # Only reachable if a car's status was forced outside the order flow.
            raise CheckoutError("A car in your cart is already held by another order.")
    CartItem.objects.filter(cart=cart, car_id__in=in_cart).delete()
    order_placed.send_robust(sender=Order, order=order, buyer=buyer, actor=actor, lines=lines)
    return order


def _remove_to_order(refused: int, in_cart: int) -> str:
    """What a buyer does when `refused` of the `in_cart` cars of their cart cannot be ordered."""
    left = in_cart - refused
    if left <= 0:
        return (
            "Remove it from your cart."
            if refused == 1
            else "None of them can be ordered now: remove them from your cart."
        )
    others = "the other car" if left == 1 else f"the other {left} cars"
    return f"Remove {'it' if refused == 1 else 'them'} from your cart to order {others}."


def _repriced(cars: Iterable[Car], confirmed_prices: Mapping[int, Decimal] | None) -> list[str]:
    """Each priced car whose price is not the one the buyer confirmed, with both prices."""
    return [
        f"{car} now costs {format_money(car.value)} (you saw {format_money(confirmed_prices[car.pk])})"
        for car in cars
        if confirmed_prices is not None
        and car.pk in confirmed_prices
        and car.value is not None
        and car.value != confirmed_prices[car.pk]
    ]


def _order_locked_placed(order_id: int, *, to: OrderStatus) -> Order:
    """The order, its row locked; raises OrderStateError unless it is placed and active: one the
    caller would make `to` (paid, cancelled) already is said to be so, since when, and that
    nothing changed (the same action sent again, from a page left open); another, that it cannot."""
    order = stored_or_gone(Order.objects.select_for_update(), pk=order_id)
    if order.awaits_payment:
        return order
    if not order.is_active:
        state, since = "voided", order.voided_at
    else:
        state = order.get_status_display().lower()
        since = order.paid_at if order.status == OrderStatus.PAID else order.cancelled_at
    when = f" on {date_format(timezone.localtime(since), 'DATETIME_FORMAT')}" if since else ""
    if order.is_active and order.status == to:
        how = (
            f" by {order.get_payment_method_display().lower()}"
            if to == OrderStatus.PAID and order.payment_method
            else ""
        )
        raise OrderStateError(f"Order #{order.pk} was {state} already{when}{how}: nothing changed.")
    became = f"was {state}{when}" if when else f"is {state}"
    raise OrderStateError(f"Order #{order.pk} {became}; it cannot be {to.label.lower()}.")


def _order_state_write(order: Order, **state: object) -> None:
    """Write state fields of the locked `order`, on its row and on the instance the caller holds."""
    Order.objects.filter(pk=order.pk).state_write(**state)
    for name, value in state.items():
        setattr(order, name, value)
    order._remember_state()


def _order_lines_release(order: Order) -> list[int]:
    """Clear the order's live lines; returns the ids of the cars they held."""
    lines = OrderItem.objects.filter(order=order, holds_car=True)
    car_ids = list(lines.values_list("car_id", flat=True))
    lines.state_write(holds_car=False)
    return car_ids


@transaction.atomic
def order_mark_paid(
    *,
    order: Order,
    actor: AbstractBaseUser | AnonymousUser,
    method: PaymentMethod | str = "",
    reference: str = "",
) -> Order:
    """Mark a placed order paid, by `method` (a PaymentMethod) with the payment's `reference`
    (its spaces as one), and its cars sold, then send order_paid.

    Raises ValidationError for an unknown method or a reference the order cannot keep (too
    long, a character that does not show), paying nothing; OrderStateError for an order not
    placed, voided, past its deadline (its expiry cancels it, as the buyer was told: whether
    it can be paid never depends on when that runs), without cars, or whose cars are not all
    reserved for it.
    """
    reference = payment_reference_as_stored(reference)
    if method not in PaymentMethod.values and method != "":
        raise ValidationError({"method": f"Choose one of: {', '.join(PaymentMethod.values)}."})
    try:
        validate_payment_reference(reference)
    except ValidationError as refused:
        raise ValidationError({"reference": refused.messages}) from None
    order = _order_locked_placed(order.pk, to=OrderStatus.PAID)
    if order.reservation_ran_out:
        deadline = date_format(timezone.localtime(order.expires_at), "DATETIME_FORMAT")
        raise OrderStateError(
            f"Order #{order.pk}'s reservation ran out on {deadline}, unpaid; it cannot be paid, and its expiry "
            "cancels it. If the buyer's money came in, refund it, or have them order the cars again."
        )
    car_ids = list(order.items.filter(holds_car=True).values_list("car_id", flat=True))
    if not car_ids:
        raise OrderStateError(f"Order #{order.pk} has no cars; it cannot be paid.")
    try:
        cars_sell(car_ids=car_ids)
    except StockError as refusal:
        raise OrderStateError(str(refusal))
    _order_state_write(
        order, status=OrderStatus.PAID, paid_at=timezone.now(), payment_method=method, payment_reference=reference
    )
    order_payment_recorded.send(sender=Order, order=order)
    order_paid.send_robust(sender=Order, order=order, actor=actor)
    return order


@transaction.atomic
def order_record_refund(*, order: Order, actor: AbstractBaseUser | AnonymousUser, reference: str = "") -> Order:
    """Record that the payment of `order`, whose sale was voided, went back to its buyer, with the
    refund's `reference` (its spaces as one), then send order_refunded (the buyer is told).

    Judged by the order as stored, locked: raises OrderStateError for an order whose sale stands,
    whose payment failed or was reversed (nothing to give back), or whose refund is recorded
    already; ValidationError for a reference the order cannot keep. Records nothing then.
    """
    reference = payment_reference_as_stored(reference)
    try:
        validate_payment_reference(reference)
    except ValidationError as refused:
        raise ValidationError({"reference": refused.messages}) from None
    order = stored_or_gone(Order.objects.select_for_update(), pk=order.pk)
    refusal = order.refund_refused_because
    if refusal:
        raise OrderStateError(refusal)
    _order_state_write(order, refunded_at=timezone.now(), refund_reference=reference)
    order_refunded.send_robust(sender=Order, order=order, actor=actor)
    return order


@transaction.atomic
def order_cancel(
    *,
    order: Order,
    actor: AbstractBaseUser | AnonymousUser | None,
    reason: CancellationReason = CancellationReason.STAFF,
) -> Order:
    """Cancel a placed order and put its reserved cars back on sale, then send order_cancelled.

    Raises OrderStateError for an order not placed. A car of the order that is not reserved
    (sold through a path outside the order flow) is left as it is. An order past its deadline
    is cancelled as expired, whoever asks: its expiry, not yet run, is what ended it.
    """
    locked = _order_locked_placed(order.pk, to=OrderStatus.CANCELLED)
    if locked.reservation_ran_out:
        reason = CancellationReason.EXPIRED
    return _order_cancel_locked(locked, actor=actor, reason=reason)


def _order_cancel_locked(
    order: Order, *, actor: AbstractBaseUser | AnonymousUser | None, reason: CancellationReason
) -> Order:
    cars_release(car_ids=_order_lines_release(order), held_as=CarStatus.RESERVED)
    _order_state_write(order, status=OrderStatus.CANCELLED, cancelled_at=timezone.now(), cancellation_reason=reason)
    order_cancelled.send_robust(sender=Order, order=order, actor=actor, reason=reason)
    return order


@transaction.atomic
def order_expire(*, order_id: int) -> bool:
    """Cancel the order if it is still placed and unpaid past its deadline; returns whether it was.

    Safe to call early, late or twice: the order row is locked and checked, so an order paid,
    cancelled or not yet due — even by a payment racing this call — is left alone.
    """
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None or not order.awaits_payment:
        return False
    if order.expires_at is None or order.expires_at > timezone.now():
        return False
    _order_cancel_locked(order, actor=None, reason=CancellationReason.EXPIRED)
    return True


@transaction.atomic
def order_cancel_emptied(*, order_id: int, actor: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Cancel the order if it awaits payment with no line left (every one removed, from a shell:
    `order.cars.clear()`); returns whether it was. Nothing is left to pay for, and a placed order
    is still the buyer's, told to pay. Judged by the rows as stored, the order's locked."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None or not order.awaits_payment or order.items.exists():
        return False
    # Past its deadline, its expiry (not yet run) is what ended it, as order_cancel says.
    reason = CancellationReason.EXPIRED if order.reservation_ran_out else CancellationReason.EMPTIED
    _order_cancel_locked(order, actor=actor, reason=reason)
    return True


@transaction.atomic
def order_deactivate(*, order_id: int, reason: VoidReason | str = "", note: str = "") -> None:
    """Mark a paid order inactive and put the cars sold to it back on sale (its sale was voided
    for `reason`, with staff's `note`; both blank when the path voiding it asks none).

    Only the cars this order's live lines hold are released, so a car another order holds is
    never touched. Idempotent: an order already inactive is left alone.
    """
    order = stored_or_gone(Order.objects.select_for_update(), pk=order_id)
    if not order.is_active:
        return
    cars_release(car_ids=_order_lines_release(order), held_as=CarStatus.SOLD)
    _order_state_write(order, is_active=False, voided_at=timezone.now(), void_reason=reason, void_note=note)


@transaction.atomic
def order_line_release(*, line_id: int, order_id: int, with_its_order: bool = False) -> None:
    """Before a line is deleted (`with_its_order`: as its order is): refuse if it is frozen,
    else release the car it holds.

    Judged by the rows as stored, never by the caller's copy of the line: one read before its
    order was cancelled would otherwise release a car another order holds now. Locks the order
    row first, then the line's (the order → lines → cars order of the transitions, so the two
    cannot deadlock). Raises OrderStateError for a line that holds a car its paid order bought,
    and for a line of a paid or cancelled order deleted without it: such an order's lines are its
    record of what was bought or asked for (an order emptied of them would read $0).
    """
    status = Order.objects.select_for_update().filter(pk=order_id).values_list("status", flat=True).first()
    stored = OrderItem.objects.select_for_update().filter(pk=line_id).values("holds_car", "car_id").first()
    if stored is None:
        return
    if stored["holds_car"] and status == OrderStatus.PAID:
        raise OrderStateError(f"Order #{order_id} is paid; its lines are frozen. Void its sale first.")
    if not with_its_order and status is not None and status != OrderStatus.PLACED:
        raise OrderStateError(
            f"Order #{order_id} is {OrderStatus(status).label.lower()}; its lines are its record. "
            "Delete the order itself once it is cancelled or its sale voided."
        )
    if not stored["holds_car"]:
        return
    # The line lets go first: the database keeps a car held while a live line holds it.
    OrderItem.objects.filter(pk=line_id).state_write(holds_car=False)
    cars_release(car_ids=[stored["car_id"]], held_as=CarStatus.RESERVED)


@transaction.atomic
def order_check_deletable(*, order_id: int) -> None:
    """Raise OrderStateError for an order that holds cars (its row as stored, locked): cancel it,
    or void its sale, instead; and for a voided one whose payment is owed back, not recorded as
    refunded yet (it is the record of that debt)."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    why = order.kept_because if order is not None else None
    if order is not None and why is not None:
        state = f"is {order.get_status_display().lower()}" if order.holds_cars else "owes its buyer a refund"
        raise OrderStateError(f"Order #{order.pk} {state}; {why}.")
