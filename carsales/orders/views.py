import functools
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from carsales.accounts.services import buyer_ensure
from carsales.catalog.models import Car
from carsales.catalog.selectors import cars_visible_to
from carsales.core.decorators import posted_else_back_to
from carsales.core.pagination import page_of
from carsales.core.permissions import has_staff_power, staff_required
from carsales.core.text import duration_said

from .forms import PaymentForm, RefundForm
from .models import CancellationReason, Cart, Order, back_on_sale
from .receivers import CART_TOKEN_SESSION_KEY
from .selectors import (
    ORDER_STATES,
    buyer_cart_items,
    cart_held,
    order_cancellable_by,
    order_list_for,
    order_search,
    order_shows_car_identity,
    visitor_cart_items,
)
from .services import (
    AlreadyOrdered,
    CartError,
    CheckoutError,
    OrderStateError,
    cart_for_buyer,
    cart_for_token,
    cart_item_add,
    cart_item_remove,
    cart_items_unavailable_remove,
    order_cancel,
    order_mark_paid,
    order_place,
    order_record_refund,
)

ORDERS_PER_PAGE = 25
# A price as the cart page showed it: never NaN, infinite or past what a car's price column holds.
PRICE_SHOWN = forms.DecimalField(max_digits=12, decimal_places=2)


def current_cart(request: HttpRequest) -> Cart:
    """The buyer's cart, or the visitor's, whose token is kept in the session until login."""
    if request.user.is_authenticated:
        return cart_for_buyer(buyer=buyer_ensure(user=request.user))
    cart = cart_for_token(token=request.session.get(CART_TOKEN_SESSION_KEY))
    request.session[CART_TOKEN_SESSION_KEY] = cart.token
    return cart


def cart_view(request: HttpRequest) -> HttpResponse:
    # Looking at a cart writes nothing: its row is made by its first car.
    token = request.session.get(CART_TOKEN_SESSION_KEY)
    if request.user.is_authenticated:
        items = list(buyer_cart_items(user_id=request.user.pk))
    else:
        items = list(visitor_cart_items(token=token)) if token else []
    # A car reserved, sold, withdrawn or unpriced meanwhile stays listed, saying why, until the
    # buyer takes it out: a reservation may end, and the car come back on sale.
    orderable = [item.car for item in items if item.car.is_for_sale]
    total = sum((car.value or Decimal("0") for car in orderable), Decimal("0"))
    held_back = len(items) - len(orderable)
    context = {
        "items": items,
        "orderable": orderable,
        "total": total,
        "blocked": held_back > 0,
        "held_back": held_back,
        # What placing the order commits the buyer to, said before they place it.
        "held_for": duration_said(timedelta(hours=settings.CARSALES_RESERVATION_HOURS)),
    }
    return render(request, "orders/cart.html", context)


@posted_else_back_to(lambda car_id: reverse("catalog:car_detail", args=[car_id]))
def cart_add(request: HttpRequest, car_id: int) -> HttpResponse:
    # A car this viewer may not open is no car: its refusal would name it.
    car = get_object_or_404(cars_visible_to(request.user), pk=car_id)
    try:
        cart_item_add(cart=current_cart(request), car=car)
    except CartError as refusal:
        messages.error(request, str(refusal))
        return redirect(car)
    messages.success(request, f"{car} is in your cart.")
    return redirect("orders:cart")


def _cart_held(request: HttpRequest) -> Cart | None:
    user_id = request.user.pk if request.user.is_authenticated else None
    return cart_held(user_id=user_id, token=request.session.get(CART_TOKEN_SESSION_KEY))


@posted_else_back_to(lambda car_id: "orders:cart")
def cart_remove(request: HttpRequest, car_id: int) -> HttpResponse:
    cart = _cart_held(request)
    car = Car.objects.with_brand().filter(pk=car_id).first()  # named as adding it was
    if cart is not None and cart_item_remove(cart=cart, car_id=car_id):
        messages.success(request, f"{car or 'The car'} is no longer in your cart.")
    else:
        said = f"{car or 'That car'} is not in your cart: nothing changed."
        if not request.user.is_authenticated:  # maybe a page opened while signed in, logged out since
            said += " If you were logged in, log in again to see your account's cart."
        messages.info(request, said)
    return redirect("orders:cart")


@posted_else_back_to(lambda: "orders:cart")
def cart_remove_unavailable(request: HttpRequest) -> HttpResponse:
    cart = _cart_held(request)
    if cart is not None and (removed := cart_items_unavailable_remove(cart=cart)):
        left = cart.items.count()
        then = f" Order the {'one' if left == 1 else left} left now." if left else ""
        messages.success(request, f"Took out {removed} car{pluralize(removed)} you could not order now.{then}")
    return redirect("orders:cart")


@posted_else_back_to(lambda: "orders:cart")
def checkout(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:  # a visitor, or logged out in another tab since the cart opened
        messages.info(request, "Log in to place your order: the cars stay in your cart.")
        # The log-in returns here by a GET: to the cart, which kept the cars.
        return redirect_to_login(request.get_full_path())
    buyer = buyer_ensure(user=request.user)
    try:
        # The cars and prices the page showed; absent when the form did not list them.
        confirmed = [int(car_id) for car_id in request.POST.getlist("cars")] if "cars" in request.POST else None
        prices = {
            car_id: PRICE_SHOWN.clean(request.POST[f"price-{car_id}"])
            for car_id in confirmed or ()
            if request.POST.get(f"price-{car_id}")
        }
    except (ValueError, ValidationError):
        messages.error(request, "Your cart could not be read; check it and place the order again.")
        return redirect("orders:cart")
    try:
        order = order_place(
            cart=cart_for_buyer(buyer=buyer),
            buyer=buyer,
            actor=request.user,
            confirmed_car_ids=confirmed,
            confirmed_prices=prices,
        )
    except AlreadyOrdered as placed:  # the same checkout sent twice: the order it placed
        messages.info(request, str(placed))
        return redirect("orders:order_detail", pk=placed.order_id)
    except CheckoutError as refusal:
        messages.error(request, refusal.said_over_the_cart())
        return redirect("orders:cart")
    messages.success(request, f"Thank you! Order #{order.pk} is placed; a confirmation is on its way by email.")
    return redirect(order)


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    """A page of orders, newest first: the buyer's own; for staff all, by state and searched."""
    orders = order_list_for(user=request.user)
    # A NUL byte, which no text column holds, never gets here (core.security.NulInQueryMiddleware).
    status, query = request.GET.get("status", ""), request.GET.get("q", "").strip()[:100]
    staff_view = has_staff_power(request.user, ["orders.view_order"])
    if staff_view:
        orders = order_search(orders, status=status, query=query)
    page = page_of(orders, ORDERS_PER_PAGE, request.GET.get("page"))
    return render(
        request,
        "orders/order_list.html",
        {
            "page": page,
            "status": status,
            "q": query,
            "statuses": ORDER_STATES,
            "staff_view": staff_view,
        },
    )


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_object_or_404(order_list_for(user=request.user), pk=pk)
    context = {
        "order": order,
        "may_cancel": order_cancellable_by(order=order, user=request.user),
        "shows_identity": order_shows_car_identity(order=order, user=request.user),
    }
    return render(request, "orders/order_detail.html", context)


def _staff_transition(request: HttpRequest, order: Order, action, verb: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    # `order` as the view read it: the transition reads the row again, locked, and judges by that.
    try:
        action(order=order, actor=request.user)
    except OrderStateError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Order #{order.pk} {verb}.")
    return redirect(order)


def _why_not_payable(order: Order) -> str:
    if order.reservation_ran_out:
        return "its reservation ran out, unpaid"
    if not order.is_active:
        return "its sale was voided"
    return f"it is {order.get_status_display().lower()} already"


@staff_required("orders.change_order")
@require_http_methods(["GET", "POST"])
def order_pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Asked first (GET), with how the buyer paid: a payment sells the cars and emails the buyer
    a receipt; only voiding the sale, a refund, undoes it."""
    order = get_object_or_404(Order, pk=pk)
    payable = order.awaits_payment and not order.reservation_ran_out
    if request.method == "GET" and not payable:
        messages.info(request, f"Order #{order.pk} cannot be paid: {_why_not_payable(order)}.")
        return redirect(order)
    form = PaymentForm(request.POST if request.method == "POST" else None)
    if payable and not form.is_valid():
        return render(request, "orders/order_confirm_pay.html", {"order": order, "form": form})
    # Not payable (any more): the transition refuses, saying why.
    given = form.cleaned_data if payable else {}
    return _staff_transition(request, order, functools.partial(order_mark_paid, **given), "is paid")


# Money going out: recorded by the staff who void sales (the Manager), not by every order handler.
@staff_required("orders.change_order", "sales.delete_sale")
@require_http_methods(["GET", "POST"])
def order_refund(request: HttpRequest, pk: int) -> HttpResponse:
    """Asked first (GET), with the refund's reference: records that a voided sale's payment went
    back to its buyer, who is told by email."""
    order = get_object_or_404(Order, pk=pk)
    refusal = order.refund_refused_because
    if request.method == "GET" and refusal:  # nothing to refund (any more)
        messages.info(request, refusal)
        return redirect(order)
    form = RefundForm(request.POST if request.method == "POST" else None)
    if form.is_valid():  # the locked transition decides whether it may be recorded
        given = form.cleaned_data
    elif order.refund_recordable:
        return render(request, "orders/order_confirm_refund.html", {"order": order, "form": form})
    else:  # nothing to record (any more): the transition refuses, saying why
        given = {}
    return _staff_transition(request, order, functools.partial(order_record_refund, **given), "has its refund recorded")


@login_required
@require_http_methods(["GET", "POST"])
def order_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff cancel any placed order; a buyer cancels their own (others' are a 404 to them).
    Asked first (GET): a cancellation cannot be undone, and its cars may go to another buyer."""
    order = get_object_or_404(order_list_for(user=request.user), pk=pk)
    if not order_cancellable_by(order=order, user=request.user):
        raise PermissionDenied("Seeing orders is not cancelling them.")
    if request.method == "GET":
        if not order.awaits_payment:
            return redirect(order)  # nothing to cancel (any more): its page says why
        return render(request, "orders/order_confirm_cancel.html", {"order": order})
    reason = CancellationReason.STAFF if request.user.has_perm("orders.change_order") else CancellationReason.BUYER
    try:
        order_cancel(order=order, actor=request.user, reason=reason)
    except OrderStateError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Order #{order.pk} is cancelled; {back_on_sale(order.total)}.")
    return redirect(order)
