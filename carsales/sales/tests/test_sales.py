import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import ProtectedError

from carsales.analytics.models import DailySales
from carsales.audit.models import AuditEntry
from carsales.catalog.models import CarStatus
from carsales.conftest import CarFactory, UserFactory, order_for
from carsales.core.state import transition
from carsales.orders.models import Order, OrderStatus, VoidReason
from carsales.orders.services import (
    OrderStateError,
    cart_for_buyer,
    cart_item_add,
    order_cancel,
    order_mark_paid,
    order_place,
    order_record_refund,
)
from carsales.orders.signals import order_paid, order_payment_recorded
from carsales.sales.models import Sale
from carsales.sales.receivers import record_sale_for_paid_order
from carsales.sales.services import sale_void

pytestmark = pytest.mark.django_db


def placed_order(*values):
    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cars = [CarFactory(value=v) for v in values]
    for car in cars:
        cart_item_add(cart=cart, car=car)
    return order_place(cart=cart, buyer=user.buyer, actor=user), cars


def statuses(cars):
    return [type(c).objects.get(pk=c.pk).status for c in cars]


def test_a_paid_order_gets_one_sale_of_its_amount_and_its_cars_are_sold(staff):
    order, cars = placed_order(100, 50)

    order_mark_paid(order=order, actor=staff)

    sale = Sale.objects.get(order=order)
    assert sale.amount == Decimal("150")
    assert statuses(cars) == [CarStatus.SOLD, CarStatus.SOLD]
    day = DailySales.objects.get()
    assert (day.orders_placed, day.sales_count, day.revenue) == (1, 1, Decimal("150"))
    assert AuditEntry.objects.filter(action="order.paid", actor=staff).exists()


def test_a_redelivered_payment_creates_no_second_sale(staff):
    order, _ = placed_order(100)
    order_mark_paid(order=order, actor=staff)

    record_sale_for_paid_order(sender=Order, order=order)
    order_payment_recorded.send(sender=Order, order=order)
    order_paid.send_robust(sender=Order, order=order, actor=staff)

    assert Sale.objects.filter(order=order).count() == 1
    assert DailySales.objects.get().sales_count == 1


def test_an_order_cannot_be_paid_twice(staff):
    order, _ = placed_order(100)
    order_mark_paid(order=order, actor=staff, method="transfer")

    with pytest.raises(OrderStateError, match=r"was paid already on .* by bank transfer: nothing changed\.$"):
        order_mark_paid(order=order, actor=staff, method="cash")


def test_an_order_acted_on_from_a_page_left_open_says_what_it_became_and_since_when(staff):
    (paid, _), (cancelled, _), (voided, _) = placed_order(100), placed_order(100), placed_order(100)
    order_mark_paid(order=paid, actor=staff)
    order_cancel(order=cancelled, actor=staff)
    sale_void(sale=order_mark_paid(order=voided, actor=staff).sale, actor=staff)

    refusals = {}
    for name, act in {
        "cancel paid": lambda: order_cancel(order=paid, actor=staff),
        "cancel twice": lambda: order_cancel(order=cancelled, actor=staff),
        "pay cancelled": lambda: order_mark_paid(order=cancelled, actor=staff),
        "pay voided": lambda: order_mark_paid(order=voided, actor=staff),
    }.items():
        with pytest.raises(OrderStateError) as refused:
            act()
        refusals[name] = str(refused.value)

    on = r" on \d+ \w+ \d{4}, \d\d:\d\d \w+"
    assert re.fullmatch(rf"Order #{paid.pk} was paid{on}; it cannot be cancelled\.", refusals["cancel paid"])
    assert re.fullmatch(
        rf"Order #{cancelled.pk} was cancelled already{on}: nothing changed\.", refusals["cancel twice"]
    )
    assert re.fullmatch(rf"Order #{cancelled.pk} was cancelled{on}; it cannot be paid\.", refusals["pay cancelled"])
    assert re.fullmatch(rf"Order #{voided.pk} was voided{on}; it cannot be paid\.", refusals["pay voided"])


def test_cancelling_a_placed_order_returns_its_cars_to_stock(staff):
    order, cars = placed_order(100)

    order_cancel(order=order, actor=staff)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert statuses(cars) == [CarStatus.AVAILABLE]
    assert not Sale.objects.exists()


def test_a_paid_order_cannot_be_cancelled(staff):
    order, _ = placed_order(100)
    order_mark_paid(order=order, actor=staff)

    with pytest.raises(OrderStateError):
        order_cancel(order=order, actor=staff)


def test_voiding_a_sale_deactivates_its_order_and_returns_the_cars(staff):
    order, cars = placed_order(100, 50)
    order_mark_paid(order=order, actor=staff)

    sale_void(sale=Sale.objects.get(order=order), actor=staff)

    assert Order.objects.get(pk=order.pk).is_active is False
    assert statuses(cars) == [CarStatus.AVAILABLE, CarStatus.AVAILABLE]
    day = DailySales.objects.get()
    assert (day.sales_count, day.revenue) == (0, Decimal("0"))
    assert AuditEntry.objects.filter(action="sale.voided").exists()


def test_deleting_a_sale_directly_also_deactivates_its_order(staff):
    order, _ = placed_order(100)
    order_mark_paid(order=order, actor=staff)

    Sale.objects.filter(order=order).delete()

    assert Order.objects.get(pk=order.pk).is_active is False


def test_a_paid_order_cannot_be_deleted_while_its_sale_stands_and_can_once_voided_and_refunded(staff):
    order, cars = placed_order(100)
    order_mark_paid(order=order, actor=staff)

    with pytest.raises(ProtectedError):
        Order.objects.get(pk=order.pk).delete()

    sale_void(sale=Sale.objects.get(order=order), actor=staff)
    order_record_refund(order=order, actor=staff)  # until then, the order is the record of the debt
    Order.objects.get(pk=order.pk).delete()
    assert statuses(cars) == [CarStatus.AVAILABLE] and not Order.objects.exists()


def test_a_payment_whose_sale_cannot_be_recorded_is_rolled_back(staff, monkeypatch):
    order, cars = placed_order(100)

    def broken_sale_record(**kwargs):
        raise RuntimeError("the sales table is unavailable")

    monkeypatch.setattr("carsales.sales.receivers.sale_record", broken_sale_record)
    with pytest.raises(RuntimeError):
        order_mark_paid(order=order, actor=staff)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
    assert statuses(cars) == [CarStatus.RESERVED] and not Sale.objects.exists()


def test_a_sale_cannot_be_recorded_for_an_order_not_paid():
    order, _ = placed_order(100)

    with pytest.raises(TypeError, match=r"created by sales\.services\.sale_record only"), transaction.atomic():
        Sale.objects.create(order=order, amount=100)
    with pytest.raises(TypeError, match=r"created by sales\.services\.sale_record only"), transaction.atomic():
        Sale.objects.bulk_create([Sale(order=order, amount=100)])
    # Even the service's own path checks the order: a paid order only.
    with pytest.raises(TypeError, match="paid order only"), transaction.atomic(), transition():
        Sale.objects.create(order=order, amount=100)


def test_staff_void_a_sale_from_its_order_page_after_being_asked(staff):
    from django.test import Client

    from carsales.conftest import sold_car

    sold_car()
    sale = Sale.objects.get()
    client = Client()
    client.force_login(staff)
    order_page = client.get(sale.order.get_absolute_url()).content.decode()
    assert f'href="/sales/{sale.pk}/void/"' in order_page

    asked = client.get(f"/sales/{sale.pk}/void/")
    assert asked.status_code == 200 and f"Void the sale of order #{sale.order_id}?" in asked.content.decode()
    # One car, said in the singular on the page and in the reason picked.
    assert "This car goes back on sale, where another buyer may take it," in asked.content.decode()
    assert '<option value="returned">The buyer returned the car</option>' in asked.content.decode()
    assert Sale.objects.filter(pk=sale.pk).exists()  # a GET voids nothing

    unexplained = client.post(f"/sales/{sale.pk}/void/", {"note": "Called on Monday."})
    assert unexplained.status_code == 200 and Sale.objects.filter(pk=sale.pk).exists()  # a reason is asked
    assert '<a href="#id_reason">Reason</a>: This field is required.' in unexplained.content.decode()
    assert "Called on Monday." in unexplained.content.decode()  # what was typed is kept

    named = re.search(r'name="order" value="([^"]+)"', asked.content.decode()).group(1)  # type: ignore[union-attr]
    done = client.post(f"/sales/{sale.pk}/void/", {"reason": "returned", "note": " Called on Monday. "}, follow=True)
    assert not Sale.objects.filter(pk=sale.pk).exists()
    again = client.post(f"/sales/{sale.pk}/void/", {"reason": "payment", "order": named}, follow=True)
    assert again.redirect_chain == [(f"/orders/{sale.order_id}/", 302)]
    assert f"The sale of order #{sale.order_id} was voided already on " in again.content.decode()
    assert "nothing changed" in again.content.decode() and AuditEntry.objects.filter(action="sale.voided").count() == 1
    assert client.post(f"/sales/{sale.pk}/void/", {"reason": "payment"}).status_code == 404  # no order named
    page = done.content.decode()
    assert f"The sale of order #{sale.order_id} is voided; its car is back on sale." in page  # one car: said so
    assert "(the buyer returned the car)" in page and "Staff's note: Called on Monday." in page
    order = Order.objects.get(pk=sale.order_id)
    assert (order.void_reason, order.void_note) == (VoidReason.RETURNED, "Called on Monday.")
    entry = AuditEntry.objects.get(action="sale.voided")
    assert (entry.actor_id, entry.detail["reason"], entry.detail["note"]) == (staff.pk, "returned", "Called on Monday.")
    activity = client.get("/staff/activity/").content.decode()
    assert f"Voided the sale of order #{sale.order_id}" in activity and "the buyer returned the car<" in activity

    client.force_login(order.buyer.user)
    own = client.get(order.get_absolute_url()).content.decode()
    assert "cancelled the sale of this order" in own and ": you returned the car." in own
    assert "Called on Monday." not in own  # the note is staff's


def test_a_void_posted_again_is_told_only_of_its_own_orders_void(staff):
    """The sale is gone once voided: the page's signed order names which one it was; a post naming
    another voided order (its number, or another sale's page's value) is told of none."""
    from django.test import Client

    from carsales.conftest import sold_car

    sold_car()
    sold_car()
    first, second = Sale.objects.order_by("pk")
    client = Client()
    client.force_login(staff)
    named = {
        sale.pk: re.search(
            r'name="order" value="([^"]+)"', client.get(f"/sales/{sale.pk}/void/").content.decode()
        ).group(1)  # type: ignore[union-attr]
        for sale in (first, second)
    }
    for sale in (first, second):
        client.post(f"/sales/{sale.pk}/void/", {"reason": "returned", "order": named[sale.pk]})
    assert not Sale.objects.exists()

    for forged in (str(second.order_id), named[second.pk], f"{first.pk}:{second.order_id}"):
        assert client.post(f"/sales/{first.pk}/void/", {"reason": "payment", "order": forged}).status_code == 404
    own = client.post(f"/sales/{first.pk}/void/", {"reason": "payment", "order": named[first.pk]}, follow=True)
    assert f"The sale of order #{first.order_id} was voided already on " in own.content.decode()


def test_a_void_reason_is_one_of_the_reasons_and_its_note_fits(staff):
    from django.core.exceptions import ValidationError

    order, cars = placed_order(100)
    order_mark_paid(order=order, actor=staff)
    sale = Sale.objects.get(order=order)

    with pytest.raises(ValidationError, match="Choose one of"):
        sale_void(sale=sale, actor=staff, reason="felt like it")
    with pytest.raises(ValidationError, match="within 500 characters"):
        sale_void(sale=sale, actor=staff, reason=VoidReason.OTHER, note="x" * 501)
    assert Sale.objects.filter(pk=sale.pk).exists() and statuses(cars) == [CarStatus.SOLD]

    # A path that asks no reason (a shell's delete) voids with none.
    Sale.objects.filter(pk=sale.pk).delete()
    assert Order.objects.values_list("void_reason", "void_note").get(pk=order.pk) == ("", "")


def test_the_api_voids_a_sale_for_the_reason_its_body_gives(staff):
    from rest_framework.test import APIClient

    order, _ = placed_order(100)
    order_mark_paid(order=order, actor=staff)
    sale = Sale.objects.get(order=order)
    client = APIClient()
    client.force_authenticate(staff)

    for unexplained in ({}, {"reason": "whim"}, {"reason": "payment", "note": "x" * 501}):
        refused = client.post(f"/api/sales/{sale.pk}/void/", unexplained, format="json")
        assert refused.status_code == 400 and Sale.objects.filter(pk=sale.pk).exists(), unexplained
    assert client.delete(f"/api/sales/{sale.pk}/").status_code == 405  # voiding says why: no DELETE

    given = {"reason": "payment", "note": "Bank reversed it."}
    voided = client.post(f"/api/sales/{sale.pk}/void/", given, format="json")
    assert voided.status_code == 204
    assert Order.objects.values_list("void_reason", "void_note").get(pk=order.pk) == ("payment", "Bank reversed it.")
    client.force_authenticate(order.buyer.user)
    assert client.get(f"/api/orders/{order.pk}/").json()["void_reason"] == "payment"


def test_the_admins_void_action_asks_first(staff):
    from django.test import Client

    from carsales.conftest import sold_car

    sold_car()
    sale = Sale.objects.get()
    client = Client()
    client.force_login(staff)

    # Django's delete page and bulk delete would void without asking why: not offered.
    assert client.get(f"/admin/sales/sale/{sale.pk}/delete/").status_code == 403
    assert client.post(f"/admin/sales/sale/{sale.pk}/delete/", {"post": "yes"}).status_code == 403
    changelist = client.get("/admin/sales/sale/").content.decode()
    assert 'value="delete_selected"' not in changelist and 'value="void"' in changelist
    asked = client.post("/admin/sales/sale/", {"action": "void", "_selected_action": [sale.pk]})
    assert asked.status_code == 200 and "Yes, go ahead" in asked.content.decode()
    assert Sale.objects.filter(pk=sale.pk).exists()

    assert 'name="reason"' in asked.content.decode()

    unexplained = client.post("/admin/sales/sale/", {"action": "void", "_selected_action": [sale.pk], "post": "yes"})
    assert unexplained.status_code == 200 and "This field is required." in unexplained.content.decode()
    assert Sale.objects.filter(pk=sale.pk).exists()

    client.post(
        "/admin/sales/sale/", {"action": "void", "_selected_action": [sale.pk], "post": "yes", "reason": "error"}
    )
    assert not Sale.objects.filter(pk=sale.pk).exists()
    assert Order.objects.get(pk=sale.order_id).void_reason == VoidReason.ERROR


@pytest.mark.parametrize(("cars", "said"), [(1, "the buyer returned the car"), (2, "the buyer returned the cars")])
def test_staff_read_why_a_sale_was_voided_for_as_many_cars_as_it_held(staff, cars, said):
    from django.test import Client

    from carsales.orders.services import order_mark_paid

    order = order_for(*CarFactory.create_batch(cars))
    order_mark_paid(order=order, actor=staff)
    client = Client()
    client.force_login(staff)

    done = client.post(f"/sales/{order.sale.pk}/void/", {"reason": "returned"}, follow=True).content.decode()

    assert f"({said})" in done
    assert ("its car is back on sale" if cars == 1 else "its cars are back on sale") in done
