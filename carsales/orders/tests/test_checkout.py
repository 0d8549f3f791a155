import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from carsales.analytics.models import DailySales, OrderEvent
from carsales.catalog.models import Car, CarStatus
from carsales.catalog.services import car_update, cars_withdraw
from carsales.conftest import BrandFactory, CarFactory, UserFactory, order_for, token_client
from carsales.core.models import ReceiverFailure
from carsales.events.models import Delivery
from carsales.orders.models import CartItem, Order
from carsales.orders.services import (
    AlreadyOrdered,
    CheckoutError,
    cart_for_buyer,
    cart_item_add,
    order_mark_paid,
    order_place,
)
from carsales.orders.signals import order_placed

pytestmark = pytest.mark.django_db


def cart_with(user, *cars):
    cart = cart_for_buyer(buyer=user.buyer)
    for car in cars:
        cart_item_add(cart=cart, car=car)
    return cart


def test_checkout_creates_the_order_at_current_prices_reserves_the_cars_and_empties_the_cart():
    user = UserFactory()
    a, b = CarFactory(value=100), CarFactory(value=50)

    order = order_place(cart=cart_with(user, a, b), buyer=user.buyer, actor=user)

    assert (order.total, order.total_price) == (2, Decimal("150"))
    assert sorted(order.items.values_list("price", flat=True)) == [Decimal("50"), Decimal("100")]
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == b.status == CarStatus.RESERVED
    assert not CartItem.objects.filter(cart__buyer=user.buyer).exists()


def test_a_car_reserved_by_another_buyer_stays_in_the_cart_and_blocks_checkout_by_name():
    """The second buyer saw two cars; the order must not go through silently with one."""
    first, second = UserFactory(), UserFactory()
    wanted, other = CarFactory(model="Civic", value=91_500), CarFactory(model="Up", value=13_500)
    second_cart = cart_with(second, wanted, other)

    order_place(cart=cart_with(first, wanted), buyer=first.buyer, actor=first)

    assert CartItem.objects.filter(cart=second_cart).count() == 2
    with pytest.raises(CheckoutError, match=r"Civic 2021 is reserved by another buyer for now"):
        order_place(cart=second_cart, buyer=second.buyer, actor=second, confirmed_car_ids=[wanted.pk, other.pk])
    assert Order.objects.filter(buyer=second.buyer).count() == 0


def test_a_checkout_meeting_a_car_sold_or_withdrawn_says_which_happened():
    user = UserFactory()
    sold, withdrawn = CarFactory(model="Sold"), CarFactory(model="Withdrawn")
    cart = cart_with(user, sold, withdrawn)
    order_mark_paid(order=order_for(sold), actor=UserFactory(is_staff=True))
    cars_withdraw(car_ids=[withdrawn.pk])

    said = f"{sold} has been sold; {withdrawn} has been taken off sale. None of them can be ordered now: remove them"
    with pytest.raises(CheckoutError, match=re.escape(said)):
        order_place(cart=cart, buyer=user.buyer, actor=user)


def test_a_refusal_names_the_cars_in_the_carts_order_and_says_what_is_left_to_order():
    user = UserFactory()
    later, earlier, free = (CarFactory(model=name) for name in ("Later", "Earlier", "Free"))
    cart = cart_with(user, free, later, earlier)
    CartItem.objects.filter(car=earlier).update(
        added_at=CartItem.objects.get(car=later).added_at - timedelta(seconds=1)
    )
    order_for(later)
    cars_withdraw(car_ids=[earlier.pk])

    said = f"{earlier} has been taken off sale; {later} is reserved by another buyer for now"
    with pytest.raises(
        CheckoutError, match=re.escape(said) + r".* Remove them from your cart to order the other car\."
    ):
        order_place(cart=cart, buyer=user.buyer, actor=user)


def test_a_checkout_of_a_cart_that_changed_since_it_was_reviewed_is_refused_naming_the_change():
    user = UserFactory()
    seen, added = CarFactory(model="Seen"), CarFactory(model="Added")
    cart = cart_with(user, seen, added)

    with pytest.raises(CheckoutError, match=r"changed since you reviewed it: .*Added 2021 was added"):
        order_place(cart=cart, buyer=user.buyer, actor=user, confirmed_car_ids=[seen.pk])

    assert not Order.objects.exists()


def test_a_checkout_sent_again_is_sent_to_the_order_it_placed(client):
    user = UserFactory()
    cars = [CarFactory(), CarFactory()]
    cart = cart_with(user, *cars)
    confirmed = [car.pk for car in cars]
    order = order_place(cart=cart, buyer=user.buyer, actor=user, confirmed_car_ids=confirmed)

    with pytest.raises(AlreadyOrdered) as again:
        order_place(cart=cart, buyer=user.buyer, actor=user, confirmed_car_ids=confirmed)
    client.force_login(user)
    page = client.post("/checkout/", {"cars": confirmed}, follow=True)
    api = token_client(user).post("/api/checkout/", {"cars": confirmed}, format="json")

    assert again.value.order_id == order.pk and Order.objects.count() == 1
    assert page.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert f"Order #{order.pk} is placed already: it holds the cars you confirmed." in page.content.decode()
    assert api.status_code == 409 and api.json()["order"] == order.pk


def test_a_checkout_that_read_its_cart_before_its_twin_committed_names_the_order_placed():
    """The read PostgreSQL gives a checkout let through the cart's lock after another committed:
    the cart's items as they were. Its refusal of its own order's car becomes that order's name."""
    user = UserFactory()
    car = CarFactory()
    cart = cart_with(user, car)
    order = order_place(cart=cart, buyer=user.buyer, actor=user)
    CartItem.objects.create(cart=cart, car=car)  # the item the twin read, deleted since

    with pytest.raises(AlreadyOrdered) as again:
        order_place(cart=cart, buyer=user.buyer, actor=user)

    assert again.value.order_id == order.pk and str(again.value).endswith("it holds the car your cart held.")
    assert Order.objects.count() == 1


def test_a_cart_changed_into_an_order_and_more_says_which_car_is_in_it_telling_twins_apart():
    user = UserFactory()
    brand = BrandFactory()
    twins = [CarFactory(brand=brand, model="Twin") for _ in range(2)]
    cart = cart_with(user, *twins)
    order = order_place(cart=cart, buyer=user.buyer, actor=user, confirmed_car_ids=[car.pk for car in twins])
    added = CarFactory(model="Later")
    cart_item_add(cart=cart, car=added)

    with pytest.raises(CheckoutError) as refused:
        order_place(cart=cart, buyer=user.buyer, actor=user, confirmed_car_ids=[car.pk for car in twins])

    first, second = (f"{car} ({car.stock_code}) is in your order #{order.pk}" for car in twins)
    assert f"{added} was added; {first}; {second}" in str(refused.value)


def test_a_checkout_racing_the_deletion_of_its_car_is_refused():
    user = UserFactory()
    doomed = CarFactory(model="Doomed")
    cart = cart_with(user, doomed)
    doomed.delete()  # committed by a staff member between the cart page and the checkout

    with pytest.raises(CheckoutError, match=r"1 car is no longer listed"):
        order_place(cart=cart, buyer=user.buyer, actor=user, confirmed_car_ids=[doomed.pk])

    assert not Order.objects.exists()


def test_an_empty_cart_is_refused_and_nothing_is_sent(sent_signals):
    user = UserFactory()

    with pytest.raises(CheckoutError, match=r"Your cart is empty\."):
        order_place(cart=cart_for_buyer(buyer=user.buyer), buyer=user.buyer, actor=user)

    assert sent_signals.of("order_placed") == [] and not Order.objects.exists()


def test_another_buyers_cart_is_refused():
    owner, other = UserFactory(), UserFactory()

    with pytest.raises(CheckoutError, match="not yours"):
        order_place(cart=cart_with(owner, CarFactory()), buyer=other.buyer, actor=other)

    assert not Order.objects.exists()


def test_a_car_no_longer_available_is_refused_with_its_name_and_nothing_is_written():
    user = UserFactory()
    free, taken = CarFactory(model="Free"), CarFactory(model="Taken")
    cart = cart_with(user, free, taken)
    order_for(taken)

    with pytest.raises(
        CheckoutError,
        match=r"Taken 2021 is reserved by another buyer for now\. Remove it from your cart to order the other car\.$",
    ):
        order_place(cart=cart, buyer=user.buyer, actor=user)

    free.refresh_from_db()
    assert free.status == CarStatus.AVAILABLE and cart.items.count() == 2
    assert not Order.objects.filter(buyer=user.buyer).exists()


def test_checkout_queues_one_confirmation_email_sent_by_the_worker(run_tasks, django_capture_on_commit_callbacks):
    user = UserFactory(email="buyer@example.com")

    order = order_place(cart=cart_with(user, CarFactory(value=100)), buyer=user.buyer, actor=user)
    assert mail.outbox == []  # nothing leaves before the worker runs the committed job
    run_tasks()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["buyer@example.com"]
    assert f"order #{order.pk}" in mail.outbox[0].subject and "$100" in mail.outbox[0].body


def test_a_redelivered_order_placed_sends_no_second_email_and_counts_once(run_tasks):
    user = UserFactory()
    order = order_place(cart=cart_with(user, CarFactory(value=100)), buyer=user.buyer, actor=user)

    order_placed.send_robust(sender=Order, order=order, buyer=user.buyer, actor=user)
    run_tasks()

    assert len(mail.outbox) == 1
    assert Delivery.objects.filter(receiver="notifications.confirm_placed_order", status="done").count() == 2
    assert OrderEvent.objects.filter(order_id=order.pk, kind="placed").count() == 1
    assert DailySales.objects.get().orders_placed == 1


def test_a_rolled_back_checkout_sends_no_email_and_records_no_analytics(run_tasks):
    user = UserFactory()
    cart = cart_with(user, CarFactory(value=100))

    with pytest.raises(RuntimeError), transaction.atomic():
        order_place(cart=cart, buyer=user.buyer, actor=user)
        raise RuntimeError("payment gateway said no")
    run_tasks()

    assert mail.outbox == []
    assert not OrderEvent.objects.exists() and not DailySales.objects.exists()
    assert not Order.objects.exists()


def test_a_failing_receiver_does_not_break_checkout_and_is_recorded(caplog):
    user = UserFactory()

    def broken(**kwargs):
        with OrderEvent.own_writes.opened():  # as the analytics app writes it
            OrderEvent.objects.create(order_id=0, kind="placed", amount=0, cars=0, day="2026-01-01")  # rolled back
        raise ValueError("analytics warehouse is down")

    order_placed.connect(broken, dispatch_uid="test.broken")
    try:
        order = order_place(cart=cart_with(user, CarFactory(value=100)), buyer=user.buyer, actor=user)
    finally:
        order_placed.disconnect(dispatch_uid="test.broken")

    assert Order.objects.filter(pk=order.pk).exists()
    failure = ReceiverFailure.objects.get()
    assert failure.signal == "order_placed" and failure.receiver.endswith("broken")
    assert "ValueError: analytics warehouse is down" in failure.error and "Traceback" in failure.traceback
    assert "analytics warehouse is down" in caplog.text
    assert not OrderEvent.objects.filter(order_id=0).exists()
    assert OrderEvent.objects.filter(order_id=order.pk).exists()  # the other receivers ran


def test_a_receiver_without_a_dispatch_uid_is_refused():
    with pytest.raises(ValueError, match="dispatch_uid"):
        order_placed.connect(lambda **kw: None)


def test_checkout_costs_the_same_queries_whatever_the_number_of_cars(settings):
    settings.CARSALES_MAX_CARS_HELD = 100  # measures queries, not the hold limit

    def queries_to_check_out(cars_in_cart: int) -> int:
        user = UserFactory()
        cart = cart_with(user, *CarFactory.create_batch(cars_in_cart))
        with CaptureQueriesContext(connection) as captured:
            order_place(cart=cart, buyer=user.buyer, actor=user)
        return len(captured)

    queries_to_check_out(1)  # the day's first order also creates its analytics row

    assert queries_to_check_out(1) == queries_to_check_out(10)


def test_a_price_raised_after_the_cart_review_refuses_the_order_naming_both_prices(buyer_client, user):
    car = CarFactory(value=Decimal("20000"))
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)
    review = buyer_client.get("/cart/")
    assert f'name="price-{car.pk}" value="20000.00"' in review.content.decode()
    car_update(car=car, value=Decimal("23000"))  # staff reprice it while the buyer reads

    response = buyer_client.post("/checkout/", {"cars": [car.pk], f"price-{car.pk}": "20000.00"}, follow=True)

    assert any("now costs $23,000 (you saw $20,000)" in str(m) for m in response.context["messages"])
    assert not Order.objects.exists() and Car.objects.get(pk=car.pk).status == "available"


def test_a_checkout_refused_for_one_car_also_names_another_cars_new_price(buyer_client, user):
    unpriced, raised = CarFactory(value=Decimal("72500")), CarFactory(value=Decimal("71500"))
    cart = cart_for_buyer(buyer=user.buyer)
    for car in (unpriced, raised):
        cart_item_add(cart=cart, car=car)
    seen = {f"price-{unpriced.pk}": "72500.00", f"price-{raised.pk}": "71500.00"}
    car_update(car=unpriced, value=None)  # staff: now priced on request
    car_update(car=raised, value=Decimal("75000"))

    response = buyer_client.post("/checkout/", {"cars": [unpriced.pk, raised.pk], **seen}, follow=True)

    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("Your order was not placed: the car marked below cannot be ordered now.")
    assert "now costs $75,000 (you saw $71,500)" in message
    assert "This car has no price at the moment" in response.content.decode()  # the cart marks it
    assert not Order.objects.exists()


@pytest.mark.parametrize("taken", [1, 2])
def test_a_checkout_refused_on_the_page_says_so_once_the_cart_marking_each_car_and_what_to_do(
    buyer_client, user, taken
):
    cars = [CarFactory(value=Decimal("1000")) for _ in range(3)]
    for car in cars:
        cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)
    for car in cars[:taken]:
        order_for(car)  # another buyer's order takes it while this one reads the cart

    response = buyer_client.post("/checkout/", {"cars": [car.pk for car in cars]}, follow=True)

    (message,) = [str(m) for m in response.context["messages"]]
    marked = "the car marked below" if taken == 1 else f"the {taken} cars marked below"
    assert message == f"Your order was not placed: {marked} cannot be ordered now."
    page = response.content.decode()
    assert page.count("Another buyer's order holds this car for now.") == taken
    assert "place your order" in page and not Order.objects.filter(buyer=user.buyer).exists()


def test_the_api_checkout_confirms_prices_too(buyer_api, user):
    car = CarFactory(value=Decimal("100"))
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)

    refused = buyer_api.post("/api/checkout/", {"cars": [car.pk], "prices": {str(car.pk): "90.00"}}, format="json")
    placed = buyer_api.post("/api/checkout/", {"cars": [car.pk], "prices": {str(car.pk): "100.00"}}, format="json")

    assert refused.status_code == 400 and "now costs $100 (you saw $90)" in refused.json()["detail"]
    assert placed.status_code == 201
