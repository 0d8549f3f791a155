"""The refund of a voided sale's payment, recorded by staff: once, only where a payment stood, on
every path (service, page, API), told to the buyer by email and kept in the audit log; the
database refuses what the flow refuses."""

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from carsales.audit.models import AuditEntry
from carsales.conftest import CarFactory, UserFactory, order_for, token_client
from carsales.core.groups import MANAGER, SALESPERSON
from carsales.orders.models import Order, PaymentMethod, VoidReason
from carsales.orders.services import OrderStateError, order_mark_paid, order_record_refund
from carsales.sales.services import sale_void

pytestmark = pytest.mark.django_db


def member_of(group: str) -> Any:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def manager() -> Any:
    """Who records refunds: the staff who void sales, as money going out."""
    return member_of(MANAGER)


def voided(reason: VoidReason | str = VoidReason.RETURNED, *, buyer: Any = None) -> Order:
    order = order_for(CarFactory(value=25_000), user=buyer or UserFactory(email="owner@example.com"))
    order = order_mark_paid(order=order, actor=AnonymousUser(), method=PaymentMethod.TRANSFER)
    sale_void(sale=order.sale, actor=None, reason=reason)
    return Order.objects.get(pk=order.pk)


def test_a_refund_is_recorded_once_told_to_the_buyer_and_logged(run_tasks: Any, mailoutbox: list[Any]):
    order, staff = voided(), manager()
    run_tasks()
    assert order.awaits_refund

    order_record_refund(order=order, actor=staff, reference="  RF   2026-7 ")
    run_tasks()

    stored = Order.objects.get(pk=order.pk)
    assert stored.refunded_at is not None and stored.refund_reference == "RF 2026-7" and not stored.awaits_refund
    entry = AuditEntry.objects.get(action="order.refunded")
    assert entry.actor_id == staff.pk and entry.detail == {"total_price": "25000.00", "reference": "RF 2026-7"}
    (email,) = [sent for sent in mailoutbox if "refunded" in sent.subject]
    assert "We have refunded your payment of $25,000 for order" in email.body and "(reference RF 2026-7)" in email.body
    with pytest.raises(OrderStateError, match="recorded already on"):
        order_record_refund(order=order, actor=staff)
    run_tasks()
    assert AuditEntry.objects.filter(action="order.refunded").count() == 1
    assert len([sent for sent in mailoutbox if "refunded" in sent.subject]) == 1


def test_no_refund_for_a_sale_that_stands_nor_for_a_payment_that_failed():
    standing = order_mark_paid(order=order_for(CarFactory()), actor=AnonymousUser(), method=PaymentMethod.CASH)
    failed = voided(VoidReason.PAYMENT)

    with pytest.raises(OrderStateError, match="void it before"):
        order_record_refund(order=standing, actor=manager())
    with pytest.raises(OrderStateError, match="no refund is owed"):
        order_record_refund(order=failed, actor=manager())
    assert not Order.objects.filter(refunded_at__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="order.refunded").exists()


@pytest.mark.parametrize(("reason", "owed"), [(VoidReason.ERROR, False), (VoidReason.OTHER, True), ("", True)])
def test_a_sale_voided_for_another_reason_may_have_its_refund_recorded(reason: str, owed: bool):
    """One recorded in error may have had no payment: listed to check, not as owed; a refund may be recorded."""
    order = voided(reason)
    assert order.awaits_refund is owed and order.refund_recordable
    client = Client()
    client.force_login(manager())
    listed = client.get("/orders/", {"status": "refund_owed"}).content.decode()
    to_check = client.get("/orders/", {"status": "refund_to_check"}).content.decode()
    assert (f'href="/orders/{order.pk}/"' in listed) is owed and (f'href="/orders/{order.pk}/"' in to_check) is not owed
    assert ("Voided, refund owed" if owed else "Voided in error, refund to check") in listed + to_check

    order_record_refund(order=order, actor=manager())

    assert Order.objects.get(pk=order.pk).refunded_at is not None


def test_a_reference_that_does_not_show_is_refused_and_records_nothing():
    order = voided()

    with pytest.raises(ValidationError):
        order_record_refund(order=order, actor=manager(), reference="RF\u202e1")

    assert Order.objects.get(pk=order.pk).awaits_refund


def test_a_stale_copy_of_the_order_records_no_second_refund():
    order = voided()
    stale = Order.objects.get(pk=order.pk)
    order_record_refund(order=order, actor=manager(), reference="RF 1")

    with pytest.raises(OrderStateError):
        order_record_refund(order=stale, actor=manager(), reference="RF 2")

    assert Order.objects.get(pk=order.pk).refund_reference == "RF 1"


def test_the_page_asks_then_records_and_the_order_page_says_it(mailoutbox: list[Any]):
    buyer = UserFactory()
    order = voided(buyer=buyer)
    staff = Client()
    staff.force_login(manager())
    mine = Client()
    mine.force_login(buyer)

    assert "Record the refund…" in staff.get(f"/orders/{order.pk}/").content.decode()
    assert "will be refunded in full" in mine.get(f"/orders/{order.pk}/").content.decode()
    asked = staff.get(f"/orders/{order.pk}/refund/")
    assert asked.status_code == 200 and "Record the refund of order" in asked.content.decode()
    refused = staff.post(f"/orders/{order.pk}/refund/", {"reference": "x" * 101})
    assert refused.status_code == 200 and "form-errors" in refused.content.decode()
    assert Order.objects.get(pk=order.pk).awaits_refund

    assert "Voided, refund owed" in staff.get("/orders/").content.decode()
    done = staff.post(f"/orders/{order.pk}/refund/", {"reference": "RF 9"}, follow=True)
    assert "Voided, refunded" in staff.get("/orders/").content.decode()

    assert "has its refund recorded" in done.content.decode()
    assert "Record the refund…" not in done.content.decode() and "(reference RF 9)" in done.content.decode()
    assert "was refunded on" in mine.get(f"/orders/{order.pk}/").content.decode()
    again = staff.post(f"/orders/{order.pk}/refund/", {"reference": "RF 10"}, follow=True)
    assert (
        "recorded already on" in again.content.decode()
        and "with reference RF 9: nothing changed." in again.content.decode()
    )
    assert Order.objects.get(pk=order.pk).refund_reference == "RF 9"
    asked_again = staff.get(f"/orders/{order.pk}/refund/", follow=True)  # nothing left to ask: it says why
    assert asked_again.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    assert f"Order #{order.pk}&#x27;s refund was recorded already on" in asked_again.content.decode()


@pytest.mark.parametrize("who", ["buyer", "salesperson"])
def test_only_staff_who_void_sales_record_a_refund(who: str):
    buyer = UserFactory()
    order = voided(buyer=buyer)
    user = buyer if who == "buyer" else member_of(SALESPERSON)
    client = Client()
    client.force_login(user)

    assert "Record the refund" not in client.get(f"/orders/{order.pk}/").content.decode()
    assert client.post(f"/orders/{order.pk}/refund/").status_code == 403
    assert token_client(user).post(f"/api/orders/{order.pk}/refund/").status_code == 403
    assert Order.objects.get(pk=order.pk).awaits_refund


def test_the_api_records_a_refund_and_refuses_a_second_with_409():
    order = voided()
    api = token_client(manager())

    bad = api.post(f"/api/orders/{order.pk}/refund/", {"reference": "RF\u202e1"}, format="json")
    done = api.post(f"/api/orders/{order.pk}/refund/", {"reference": "RF 3"}, format="json")
    again = api.post(f"/api/orders/{order.pk}/refund/", {"reference": "RF\u202e1"}, format="json")
    standing = order_mark_paid(order=order_for(CarFactory()), actor=AnonymousUser(), method=PaymentMethod.CASH)
    refused = api.post(f"/api/orders/{standing.pk}/refund/", {"reference": "RF 4"}, format="json")

    assert bad.status_code == 400 and "reference" in bad.json()
    assert done.status_code == 200 and done.json()["refund_reference"] == "RF 3" and done.json()["refunded_at"]
    assert again.status_code == 409 and "recorded already on" in again.json()["detail"]  # whatever the body
    assert refused.status_code == 409 and "void it before" in refused.json()["detail"]


def test_staff_find_the_voided_orders_whose_refund_is_not_recorded():
    owed, failed, refunded = voided(), voided(VoidReason.PAYMENT), voided()
    order_record_refund(order=refunded, actor=manager())
    client = Client()
    client.force_login(manager())

    listed = client.get("/orders/", {"status": "refund_owed"}).content.decode()

    assert f'href="/orders/{owed.pk}/"' in listed
    assert f'href="/orders/{failed.pk}/"' not in listed and f'href="/orders/{refunded.pk}/"' not in listed


def test_staff_list_the_voided_orders_whose_refund_is_recorded_on_the_site_and_in_the_admin():
    owed, refunded = voided(), voided()
    order_record_refund(order=refunded, actor=manager())
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    for page, parameter in (("/orders/", "status"), ("/admin/orders/order/", "state")):
        listed = client.get(page, {parameter: "refunded"}).content.decode()
        assert f"/{refunded.pk}/" in listed and f"/{owed.pk}/" not in listed, page
    assert "Voided, refunded" in client.get("/orders/").content.decode()  # offered among the states


def _raw_refund(order: Order, reference: str = "") -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orders_order SET refunded_at = %s, refund_reference = %s WHERE id = %s",
            [timezone.now(), reference, order.pk],
        )


def test_the_database_refuses_a_refund_the_flow_refuses_on_any_path():
    failed, standing = voided(VoidReason.PAYMENT), order_for(CarFactory())
    owed = voided()

    for order, reference in ((failed, ""), (standing, ""), (owed, "RF\u202e1"), (owed, "RF\xa01")):
        with pytest.raises(IntegrityError):
            _raw_refund(order, reference)
    _raw_refund(owed, "RF 1")  # as the flow records one
    assert Order.objects.get(pk=owed.pk).refund_reference == "RF 1"
    with pytest.raises(Exception, match="only through its transitions"):
        Order.objects.filter(pk=owed.pk).update(refund_reference="RF 2")


def test_an_order_owing_a_refund_is_kept_from_deletion_on_every_path():
    owed, refunded = voided(), voided()
    order_record_refund(order=refunded, actor=manager())
    client = Client()
    client.force_login(manager())

    client.post("/admin/orders/order/", {"action": "delete_finished", "_selected_action": [owed.pk, refunded.pk]})
    assert Order.objects.filter(pk=owed.pk).exists() and not Order.objects.filter(pk=refunded.pk).exists()
    for asked in (client.get(f"/admin/orders/order/{owed.pk}/delete/", follow=True),
                  client.post(f"/admin/orders/order/{owed.pk}/delete/", {"post": "yes"}, follow=True)):  # fmt: skip
        said = [str(message) for message in asked.context["messages"]]
        assert f"Order #{owed.pk} is kept: record its refund first." in said  # not "your role cannot"
    assert Order.objects.filter(pk=owed.pk).exists()
    for delete in (lambda: Order.objects.get(pk=owed.pk).delete(), lambda: Order.objects.filter(pk=owed.pk).delete()):
        with pytest.raises(OrderStateError, match="owes its buyer a refund"), transaction.atomic():
            delete()
    order_record_refund(order=owed, actor=manager())
    Order.objects.filter(pk=owed.pk).delete()
    assert not Order.objects.filter(pk=owed.pk).exists()


def test_the_admin_filters_orders_by_the_state_the_site_shows():
    standing = order_mark_paid(order=order_for(CarFactory()), actor=AnonymousUser(), method=PaymentMethod.CASH)
    owed, in_error = voided(), voided(VoidReason.ERROR)
    client = Client()
    client.force_login(manager())

    def listed(state: str) -> set[int]:
        return {order.pk for order in client.get("/admin/orders/order/", {"state": state}).context["cl"].result_list}

    assert listed("paid") == {standing.pk}  # a voided order's status is still "paid"
    assert listed("voided") == {owed.pk, in_error.pk}
    assert listed("refund_owed") == {owed.pk} and listed("refund_to_check") == {in_error.pk}


def test_the_error_summary_names_an_optional_field_without_its_mark():
    order, staff = voided(), Client()
    staff.force_login(manager())

    page = staff.post(f"/orders/{order.pk}/refund/", {"reference": "x" * 101}).content.decode()

    assert '">Refund reference</a>:' in page  # the summary's link: the field's name, not "(optional)"
    assert 'Refund reference <span class="optional">(optional)</span></label>' in page  # the field's own label


@pytest.mark.parametrize(("cars", "told"), [(1, "you returned the car"), (2, "you returned the cars")])
def test_the_buyer_is_told_of_their_returned_car_or_cars(cars: int, told: str):
    assert Order(void_reason=VoidReason.RETURNED, total=cars).void_told_buyer == told


def test_the_orders_api_says_where_each_order_stands_beyond_its_status():
    placed = order_for(CarFactory())
    paid = order_mark_paid(order=order_for(CarFactory()), actor=AnonymousUser(), method=PaymentMethod.CASH)
    owed, failed, in_error, refunded = voided(), voided(VoidReason.PAYMENT), voided(VoidReason.ERROR), voided()
    order_record_refund(order=refunded, actor=manager())
    api = token_client(manager())

    listed = {
        row["id"]: (row["status"], row["state"]) for row in api.get("/api/orders/", {"page_size": 50}).json()["results"]
    }

    assert listed[placed.pk] == ("placed", "placed") and listed[paid.pk] == ("paid", "paid")
    assert listed[owed.pk] == ("paid", "refund_owed") and listed[refunded.pk] == ("paid", "refunded")
    assert listed[failed.pk] == ("paid", "voided") and listed[in_error.pk] == ("paid", "refund_to_check")
    assert api.get(f"/api/orders/{owed.pk}/").json()["state"] == "refund_owed"
