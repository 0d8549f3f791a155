import pytest

from carsales.audit.models import AuditEntry
from carsales.conftest import CarFactory, UserFactory, run_together
from carsales.core.gone import DeletedMeanwhile
from carsales.orders.models import Order
from carsales.orders.services import cart_for_buyer, cart_item_add, order_mark_paid, order_place
from carsales.sales.models import Sale
from carsales.sales.services import sale_record, sale_void

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_recordings_of_one_paid_order_make_one_sale(staff):
    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory(value=100))
    order = order_mark_paid(order=order_place(cart=cart, buyer=user.buyer, actor=user), actor=staff)

    errors = run_together([lambda: sale_record(order=Order.objects.get(pk=order.pk)) for _ in range(4)])

    assert errors == []
    assert Sale.objects.filter(order=order).count() == 1


def test_concurrent_payments_of_one_order_pay_it_once(staff):
    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory(value=100))
    order = order_place(cart=cart, buyer=user.buyer, actor=user)

    errors = run_together(
        [lambda: order_mark_paid(order=Order.objects.get(pk=order.pk), actor=staff) for _ in range(3)]
    )

    assert len(errors) == 2
    assert Sale.objects.filter(order=order).count() == 1


def _paid_sale(staff) -> Sale:
    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory(value=100))
    return order_mark_paid(order=order_place(cart=cart, buyer=user.buyer, actor=user), actor=staff).sale


def test_two_staff_voiding_one_sale_at_once_void_it_once_and_the_second_is_told(staff):
    sale = _paid_sale(staff)
    read_by_each = [Sale.objects.get(pk=sale.pk) for _ in range(2)]  # both found it before either voided

    errors = run_together([lambda read=read: sale_void(sale=read, actor=staff) for read in read_by_each])

    assert len(errors) == 1 and isinstance(errors[0], Sale.DoesNotExist) and isinstance(errors[0], DeletedMeanwhile)
    assert str(errors[0]) == "This sale was deleted meanwhile."
    assert AuditEntry.objects.filter(action="sale.voided").count() == 1
    assert not Sale.objects.exists() and not Order.objects.get().is_active


def _voided_by_someone_else_first(monkeypatch, module: str, staff) -> None:
    """The view's sale_void, preceded by another staff member's void of the same sale: the
    request found the sale, and it is gone when the service reads it locked."""
    real = sale_void

    def voided_meanwhile(*, sale, **given):
        real(sale=Sale.objects.get(pk=sale.pk), actor=staff, reason="returned")
        return real(sale=sale, **given)

    monkeypatch.setattr(f"{module}.sale_void", voided_meanwhile)


def test_the_api_answers_404_to_a_void_of_a_sale_voided_since_it_was_found(staff, staff_api, monkeypatch):
    sale = _paid_sale(staff)
    _voided_by_someone_else_first(monkeypatch, "carsales.sales.api", staff)

    response = staff_api.post(f"/api/sales/{sale.pk}/void/", {"reason": "payment"}, format="json")

    assert (response.status_code, response.json()) == (404, {"detail": "This sale was deleted meanwhile."})
    assert Order.objects.get().void_reason == "returned"  # the void that happened, not this one's
    assert AuditEntry.objects.filter(action="sale.voided").count() == 1


def test_the_void_page_says_a_sale_voided_since_it_was_found_was_voided_already(staff, staff_client, monkeypatch):
    sale = _paid_sale(staff)
    named = staff_client.get(f"/sales/{sale.pk}/void/").context["order_named"]
    _voided_by_someone_else_first(monkeypatch, "carsales.sales.views", staff)

    page = staff_client.post(f"/sales/{sale.pk}/void/", {"reason": "payment", "order": named}, follow=True)

    assert f"The sale of order #{sale.order_id} was voided already on " in page.content.decode()
    assert Order.objects.get().void_reason == "returned"
    assert AuditEntry.objects.filter(action="sale.voided").count() == 1


def test_the_admin_voids_the_sales_still_there_and_says_which_were_voided_meanwhile(staff, staff_client, monkeypatch):
    sale = _paid_sale(staff)
    _voided_by_someone_else_first(monkeypatch, "carsales.sales.admin", staff)

    chosen = {"action": "void", "_selected_action": [sale.pk], "post": "yes", "reason": "payment"}
    page = staff_client.post("/admin/sales/sale/", chosen, follow=True).content.decode()

    assert "1 voided by someone else meanwhile: nothing changed." in page and "Sale(s) voided." not in page
    assert Order.objects.get().void_reason == "returned"
