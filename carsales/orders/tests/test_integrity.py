"""One truth for cars, orders and sales, whatever path a write takes: page, API, admin, shell."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from carsales.analytics.models import DailySales
from carsales.audit.models import AuditEntry
from carsales.catalog.models import Car, CarStatus
from carsales.catalog.services import StockError, car_update, cars_release, cars_reserve, stored_files_delete
from carsales.conftest import CarFactory, UserFactory, image_upload, order_for, reserved_car
from carsales.core.state import transition
from carsales.inventory.models import InventoryTotals
from carsales.orders.models import CancellationReason, Order, OrderItem, OrderStatus
from carsales.orders.services import (
    CartError,
    OrderStateError,
    cart_for_buyer,
    cart_item_add,
    order_cancel,
    order_expire,
    order_mark_paid,
)
from carsales.sales.models import Sale

pytestmark = pytest.mark.django_db

ORDER_PLACE = r"created by orders\.services\.order_place only"


def status_of(car: Car) -> str:
    return Car.objects.values_list("status", flat=True).get(pk=car.pk)


def paid_order(*cars: Car, staff) -> Order:
    return order_mark_paid(order=order_for(*cars), actor=staff)


# 1. A car is in at most one live order.


def test_the_staff_car_form_cannot_put_a_reserved_car_back_on_sale(staff_client):
    car = reserved_car(model="Civic", factory_year=2020, model_year=2021)
    form = {
        "brand": car.brand_id,
        "model": "Civic",
        "factory_year": 2020,
        "model_year": 2021,
        "plate": car.plate,
        "value": car.value,
        "status": CarStatus.AVAILABLE,
        "bio": "x",
    }

    staff_client.post(f"/cars/{car.pk}/edit/", form)

    assert status_of(car) == CarStatus.RESERVED


def test_a_patch_of_status_through_the_api_leaves_the_car_reserved(staff_api):
    car = reserved_car()

    response = staff_api.patch(f"/api/cars/{car.pk}/", {"status": "available"}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "reserved"
    assert status_of(car) == CarStatus.RESERVED


def test_the_admin_car_form_cannot_change_the_status(staff_client):
    car = reserved_car(factory_year=2020, model_year=2021)
    staff_client.post(
        f"/admin/catalog/car/{car.pk}/change/",
        {
            "brand": car.brand_id,
            "model": car.model,
            "factory_year": 2020,
            "model_year": 2021,
            "plate": car.plate,
            "value": car.value,
            "status": "available",
            "bio": "x",
        },
    )

    assert status_of(car) == CarStatus.RESERVED


def test_a_shell_cannot_set_a_status_by_hand_or_in_bulk():
    car = reserved_car()

    car.status = CarStatus.AVAILABLE
    with pytest.raises(TypeError, match="status change only through its transitions"):
        car.save()
    with pytest.raises(TypeError, match="status change only through its transitions"):
        Car.objects.filter(pk=car.pk).update(status=CarStatus.AVAILABLE)
    with pytest.raises(TypeError, match="starts with status 'available'"):
        CarFactory(status=CarStatus.SOLD)

    assert status_of(car) == CarStatus.RESERVED


def test_a_stale_instance_saved_after_a_checkout_keeps_the_car_reserved():
    car = CarFactory()
    stale = Car.objects.get(pk=car.pk)
    order_for(car)

    stale.model = "Renamed"
    stale.save()

    assert status_of(car) == CarStatus.RESERVED and Car.objects.get(pk=car.pk).model == "Renamed"


def test_the_database_refuses_a_second_live_order_line_for_one_car():
    car = reserved_car()

    # As a faulty service would, inside a transition: the constraint still holds the line.
    with pytest.raises(IntegrityError), transaction.atomic(), transition():
        second = Order.objects.create(buyer=UserFactory().buyer)
        OrderItem.objects.bulk_create([OrderItem(order=second, car=car, price=Decimal("1"))])


def test_a_shell_cannot_add_a_car_to_an_order_by_any_orm_path_only_checkout_reserves():
    reserved, available = reserved_car(), CarFactory()
    second = order_for(CarFactory())

    for car in (reserved, available):
        with pytest.raises(TypeError, match=ORDER_PLACE), transaction.atomic():
            second.cars.add(car)
        with pytest.raises(TypeError, match=ORDER_PLACE), transaction.atomic():
            car.orders.add(second)
        with pytest.raises(TypeError, match=ORDER_PLACE), transaction.atomic():
            OrderItem.objects.create(order=second, car=car, price=Decimal("1"))
    with pytest.raises(TypeError, match=ORDER_PLACE), transaction.atomic():
        Order.objects.create(buyer=UserFactory().buyer)

    assert second.items.count() == 1 and status_of(available) == CarStatus.AVAILABLE


def test_one_car_can_never_be_sold_twice(staff):
    car = CarFactory()
    first = order_for(car)
    second = order_for(CarFactory())
    with pytest.raises(TypeError, match=ORDER_PLACE), transaction.atomic():
        second.cars.add(car)

    order_mark_paid(order=first, actor=staff)
    order_mark_paid(order=second, actor=staff)

    assert Sale.objects.filter(order__items__car=car).count() == 1 and status_of(car) == CarStatus.SOLD


def test_voiding_a_sale_releases_only_the_cars_of_its_own_order(staff):
    sold, held = CarFactory(), CarFactory()
    sale = Sale.objects.get(order=paid_order(sold, staff=staff))
    order_for(held)

    sale.delete()

    assert (status_of(sold), status_of(held)) == (CarStatus.AVAILABLE, CarStatus.RESERVED)


def test_releasing_a_reservation_never_resurrects_a_sold_car(staff):
    car = CarFactory()
    paid_order(car, staff=staff)

    released = cars_release(car_ids=[car.pk], held_as=CarStatus.RESERVED)

    assert released == [] and status_of(car) == CarStatus.SOLD


# 2. The admin goes through the services.


def test_the_admin_pay_action_makes_the_sale_and_sells_the_cars(staff_client):
    car = CarFactory()
    order = order_for(car)

    asked = staff_client.post("/admin/orders/order/", {"action": "mark_paid", "_selected_action": [order.pk]})
    assert "Mark these orders paid?" in asked.content.decode() and status_of(car) == CarStatus.RESERVED
    chosen = {"action": "mark_paid", "_selected_action": [order.pk], "post": "yes"}
    other = order_for(CarFactory())
    one_reference_for_two = chosen | {"_selected_action": [order.pk, other.pk], "method": "cash", "reference": "R1"}
    refused = staff_client.post("/admin/orders/order/", one_reference_for_two, follow=True)
    assert "A reference names one payment" in refused.content.decode() and status_of(car) == CarStatus.RESERVED
    assert 'value="R1"' in refused.content.decode()  # asked again, with what was typed
    unsaid = staff_client.post("/admin/orders/order/", chosen)
    assert "Choose how the buyer paid." in unsaid.content.decode() and status_of(car) == CarStatus.RESERVED
    staff_client.post("/admin/orders/order/", chosen | {"method": "financing", "reference": "Contract 77"})

    paid = Order.objects.get(pk=order.pk)
    assert (paid.status, paid.payment_method, paid.payment_reference) == (OrderStatus.PAID, "financing", "Contract 77")
    assert Sale.objects.filter(order=order).exists() and status_of(car) == CarStatus.SOLD


def test_deleting_orders_in_the_admin_keeps_placed_ones_and_says_to_cancel(staff_client, staff):
    order = order_for(CarFactory())
    finished = order_cancel(order=order_for(CarFactory()), actor=staff)

    response = staff_client.post(
        "/admin/orders/order/",
        {"action": "delete_finished", "_selected_action": [order.pk, finished.pk]},
        follow=True,
    )

    assert list(Order.objects.values_list("pk", flat=True)) == [order.pk]
    assert any("cancel it" in str(message) for message in response.context["messages"])
    asked = staff_client.get(f"/admin/orders/order/{order.pk}/delete/", follow=True)  # says why, not "your role"
    assert f"Order #{order.pk} is kept: cancel it" in " ".join(str(message) for message in asked.context["messages"])
    assert Order.objects.filter(pk=order.pk).exists()


def test_deleting_an_order_line_by_any_path_keeps_the_totals_and_releases_its_car():
    kept, dropped = CarFactory(value=100), CarFactory(value=50)
    order = order_for(kept, dropped)

    OrderItem.objects.get(order=order, car=dropped).delete()

    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.total, fresh.total_price) == (1, Decimal("100"))
    assert status_of(dropped) == CarStatus.AVAILABLE

    OrderItem.objects.filter(order=order).delete()
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.total, fresh.total_price) == (0, Decimal("0")) and status_of(kept) == CarStatus.AVAILABLE


# Every way a shell empties a placed order of its lines (each takes both lines of `order`).
EMPTYING = {
    "order.cars.clear()": lambda order, cars: order.cars.clear(),
    "order.cars.remove(both)": lambda order, cars: order.cars.remove(*cars),
    "car.orders.remove(order), each": lambda order, cars: [car.orders.remove(order) for car in cars],
    "car.orders.clear(), each": lambda order, cars: [car.orders.clear() for car in cars],
    "OrderItem queryset delete": lambda order, cars: OrderItem.objects.filter(order=order).delete(),
    "each line's delete()": lambda order, cars: [line.delete() for line in list(order.items.all())],
}


@pytest.mark.parametrize("empty", EMPTYING.values(), ids=EMPTYING.keys())
def test_a_placed_order_emptied_of_its_lines_by_any_path_is_cancelled_and_its_buyer_told(empty, run_tasks, client):
    """Nothing is left to pay for: left placed, the buyer would still be asked to pay $0 by its deadline."""
    cars = [CarFactory(value=100), CarFactory(value=50)]
    order = order_for(*cars, user=UserFactory(email="ana@example.com"))
    other = order_for(CarFactory(value=70))
    totals_before = InventoryTotals.objects.values().get()

    empty(order, cars)

    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.cancellation_reason) == (OrderStatus.CANCELLED, CancellationReason.EMPTIED)
    assert (fresh.total, fresh.total_price) == (0, Decimal("0"))
    client.force_login(fresh.buyer.user)
    assert ": no car was left on it." in client.get(fresh.get_absolute_url()).content.decode()
    assert [status_of(car) for car in cars] == [CarStatus.AVAILABLE] * 2
    assert Order.objects.get(pk=other.pk).status == OrderStatus.PLACED
    totals = InventoryTotals.objects.values().get()
    assert (totals["available_count"], totals["reserved_count"]) == (
        totals_before["available_count"] + 2,
        totals_before["reserved_count"] - 2,
    )
    run_tasks()
    (told,) = [email for email in mail.outbox if "is cancelled" in email.subject]
    assert told.to == ["ana@example.com"] and "No car was left on it." in told.body


def test_a_placed_order_emptied_past_its_deadline_is_cancelled_as_expired(run_tasks):
    """Its expiry, not yet run, is what ended it (as order_cancel judges): the buyer told so."""
    order = order_for(CarFactory(value=100), user=UserFactory(email="ana@example.com"))

    with time_machine.travel(order.expires_at + timedelta(minutes=5)):
        order.cars.clear()
        run_tasks()

    assert Order.objects.get(pk=order.pk).cancellation_reason == CancellationReason.EXPIRED
    assert [email.subject for email in mail.outbox][1:] == [f"Your carsales reservation #{order.pk} has expired"]


def test_a_placed_order_keeps_its_state_while_a_line_is_left(run_tasks):
    kept, dropped = CarFactory(value=100), CarFactory(value=50)
    order = order_for(kept, dropped)

    order.cars.remove(dropped)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED and status_of(kept) == CarStatus.RESERVED
    run_tasks()
    assert not [email for email in mail.outbox if "is cancelled" in email.subject]


def test_a_paid_orders_lines_are_frozen(staff):
    order = paid_order(CarFactory(), staff=staff)

    with pytest.raises(OrderStateError, match="lines are frozen"), transaction.atomic():
        order.items.get().delete()
    with pytest.raises(OrderStateError, match="lines are frozen"), transaction.atomic():
        order.cars.clear()


# 3. Deletion never loses truth.


def test_deleting_a_car_on_an_order_is_a_clear_message_on_the_page(staff_client):
    car = reserved_car()

    response = staff_client.post(f"/cars/{car.pk}/delete/", follow=True)

    assert Car.objects.filter(pk=car.pk).exists()
    assert any("cannot be deleted" in str(message) for message in response.context["messages"])


def test_deleting_a_car_on_an_order_is_a_409_in_the_api(staff_api):
    car = reserved_car()

    response = staff_api.delete(f"/api/cars/{car.pk}/")

    assert response.status_code == 409 and "on order #" in response.json()["detail"]


def test_a_placed_order_cannot_be_deleted_from_a_shell():
    order = order_for(CarFactory())

    with pytest.raises(OrderStateError, match="cancel it instead"), transaction.atomic():
        order.delete()
    with pytest.raises(OrderStateError, match="cancel it instead"), transaction.atomic():
        Order.objects.all().delete()


def test_a_cancelled_order_can_be_deleted_and_its_cars_stay_on_sale(staff):
    car = CarFactory()
    order = order_cancel(order=order_for(car), actor=staff)

    order.delete()

    assert status_of(car) == CarStatus.AVAILABLE


@pytest.mark.parametrize("path", ["instance", "queryset", "admin", "api"])
def test_a_sale_removed_by_any_path_undoes_everything_it_did(path, staff, staff_client, staff_api):
    car = CarFactory(value=300)
    order = paid_order(car, staff=staff)
    sale = Sale.objects.get(order=order)
    revenue_before = DailySales.objects.get().revenue

    if path == "instance":
        sale.delete()
    elif path == "queryset":
        Sale.objects.filter(pk=sale.pk).delete()
    elif path == "admin":
        voided = {"action": "void", "_selected_action": [sale.pk], "post": "yes", "reason": "returned"}
        staff_client.post("/admin/sales/sale/", voided)
    else:
        assert staff_api.post(f"/api/sales/{sale.pk}/void/", {"reason": "returned"}).status_code == 204

    assert not Sale.objects.exists()
    assert Order.objects.get(pk=order.pk).is_active is False
    assert status_of(car) == CarStatus.AVAILABLE
    assert DailySales.objects.get().revenue == revenue_before - Decimal("300")
    entry = AuditEntry.objects.get(action="sale.voided")
    assert entry.actor == (staff if path in {"admin", "api"} else None)


# 4. Races.


def test_an_edit_of_a_car_deleted_meanwhile_is_a_404_and_does_not_bring_it_back(staff_client):
    car = CarFactory()
    stale = Car.objects.get(pk=car.pk)
    Car.objects.get(pk=car.pk).delete()

    with pytest.raises(Car.DoesNotExist):
        car_update(car=stale, model="Back from the dead")
    with pytest.raises(DatabaseError), transaction.atomic():
        stale.save()

    assert not Car.objects.exists()
    assert InventoryTotals.objects.get().cars_count == 0


def test_the_file_clean_up_keeps_files_a_car_points_to():
    car = CarFactory(photo=image_upload())
    name = car.photo.name

    stored_files_delete(names=[name])

    assert car.photo.storage.exists(name)


# 5. Money.


def test_a_car_without_a_price_cannot_enter_a_cart_or_an_order(buyer_client):
    car = CarFactory(value=None)
    user = UserFactory()

    with pytest.raises(CartError, match="price on request"):
        cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=car)
    with pytest.raises(StockError, match="price on request"), transaction.atomic():
        cars_reserve(car_ids=[car.pk])  # the one reservation path, under checkout
    response = buyer_client.post(f"/cart/add/{car.pk}/", follow=True)
    assert any("price on request" in str(message) for message in response.context["messages"])


def test_a_car_without_a_price_is_a_400_in_the_cart_api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    response = client.post("/api/cart/items/", {"car": CarFactory(value=None).pk})

    assert response.status_code == 400 and "price on request" in response.json()["car"][0]


def test_an_order_lines_price_is_set_once_by_every_path():
    car = CarFactory(value=100)
    order = order_for(car)
    line = order.items.get()
    assert line.price == Decimal("100")

    line.price = Decimal("1")
    with pytest.raises(TypeError, match="price change only through its transitions"):
        line.save()
    with pytest.raises(TypeError, match="price change only through its transitions"):
        OrderItem.objects.filter(pk=line.pk).update(price=Decimal("1"))
    car_update(car=car, value=Decimal("999"))

    assert OrderItem.objects.get(pk=line.pk).price == Decimal("100")


def test_an_order_with_no_lines_cannot_be_paid(staff):
    car = CarFactory()
    order = order_for(car)
    order.items.get().delete()  # in a shell: the line goes, its car back on sale, the order cancelled
    assert status_of(car) == CarStatus.AVAILABLE

    with pytest.raises(OrderStateError, match=r"was cancelled on .*; it cannot be paid"):
        order_mark_paid(order=order, actor=staff)


# 6. Inventory means stock on hand.


def stock() -> tuple[int, Decimal, int, int, int]:
    totals = InventoryTotals.objects.get()
    return (
        totals.cars_count,
        totals.cars_value,
        totals.available_count,
        totals.reserved_count,
        totals.sold_count,
    )


def test_the_inventory_counts_stock_on_hand_through_a_sale_and_its_void(staff):
    kept, bought = CarFactory(value=200), CarFactory(value=50)
    assert stock() == (2, Decimal("250"), 2, 0, 0)

    order = order_for(bought)
    assert stock() == (2, Decimal("250"), 1, 1, 0)

    order_mark_paid(order=order, actor=staff)
    assert stock() == (1, Decimal("200"), 1, 0, 1)

    Sale.objects.get(order=order).delete()
    assert stock() == (2, Decimal("250"), 2, 0, 0)
    assert kept.pk


def test_the_inventory_page_shows_available_reserved_and_sold(staff_client, staff):
    CarFactory(value=10)
    order_for(CarFactory(value=20))
    paid_order(CarFactory(value=30), staff=staff)

    page = staff_client.get("/staff/inventory/").content.decode()

    for label, figure in (("Cars in stock", 2), ("Available", 1), ("Reserved", 1), ("Sold", 1)):
        assert f'<span class="stat-label">{label}</span><span class="stat-value">{figure}</span>' in page


# Reservations expire.


def test_an_unpaid_order_past_its_deadline_is_cancelled_once_and_its_cars_are_available_again(staff):
    car = CarFactory()
    order = order_for(car)

    with time_machine.travel(timezone.now() + timedelta(hours=48, seconds=1)):
        assert order_expire(order_id=order.pk) is True
        assert order_expire(order_id=order.pk) is False

    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.cancellation_reason) == (OrderStatus.CANCELLED, CancellationReason.EXPIRED)
    assert status_of(car) == CarStatus.AVAILABLE


def test_an_order_not_yet_due_or_already_paid_is_not_expired(staff):
    waiting = order_for(CarFactory())
    paid = paid_order(CarFactory(), staff=staff)

    assert order_expire(order_id=waiting.pk) is False
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert order_expire(order_id=paid.pk) is False
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.PAID


def test_the_order_page_shows_the_reservation_deadline(client):
    user = UserFactory()
    order = order_for(CarFactory(), user=user)
    client.force_login(user)

    page = client.get(f"/orders/{order.pk}/").content.decode()

    assert "reserved until" in page and order.expires_at is not None
    hours = (order.expires_at - order.placed_at) / timedelta(hours=1)
    assert round(hours) == 48


# Fair reservations (no hoarding) and buyers cancelling their own orders.


def test_a_buyer_holds_at_most_three_cars_across_cart_and_unpaid_orders(settings):
    assert settings.CARSALES_MAX_CARS_HELD == 3
    user = UserFactory()
    order_for(CarFactory(), CarFactory(), user=user)
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory())

    with pytest.raises(CartError, match="at most 3 cars at once"):
        cart_item_add(cart=cart, car=CarFactory())


def test_a_paid_order_frees_the_buyers_room_to_hold_more(staff):
    user = UserFactory()
    order_mark_paid(order=order_for(CarFactory(), CarFactory(), CarFactory(), user=user), actor=staff)

    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=CarFactory())


def test_the_hold_limit_is_a_message_on_the_page_and_a_400_in_the_api(buyer_client, user):
    order_for(CarFactory(), CarFactory(), CarFactory(), user=user)
    car = CarFactory()

    response = buyer_client.post(f"/cart/add/{car.pk}/", follow=True)
    assert any("at most 3 cars" in str(message) for message in response.context["messages"])
    api = APIClient()
    api.force_authenticate(user)
    assert api.post("/api/cart/items/", {"car": car.pk}).status_code == 400


def test_a_buyer_cancels_their_own_placed_order_on_the_page_and_the_api(client):
    user = UserFactory()
    car, other_car = CarFactory(), CarFactory()
    page_order, api_order = order_for(car, user=user), order_for(other_car, user=user)
    client.force_login(user)

    client.post(f"/orders/{page_order.pk}/cancel/")
    api = APIClient()
    api.force_authenticate(user)
    response = api.post(f"/api/orders/{api_order.pk}/cancel/")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    for order in (page_order, api_order):
        fresh = Order.objects.get(pk=order.pk)
        assert (fresh.status, fresh.cancellation_reason) == (OrderStatus.CANCELLED, CancellationReason.BUYER)
    assert status_of(car) == status_of(other_car) == CarStatus.AVAILABLE


def test_a_buyer_cannot_cancel_someone_elses_order(client):
    order = order_for(CarFactory())
    client.force_login(UserFactory())

    assert client.post(f"/orders/{order.pk}/cancel/").status_code == 404
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED


# Holes found in review: every one is closed.


def test_a_new_instance_with_a_stored_cars_pk_is_refused_not_written_over_it():
    car = reserved_car()
    clone = Car(
        pk=car.pk,
        brand=car.brand,
        model=car.model,
        factory_year=car.factory_year,
        model_year=car.model_year,
        plate=car.plate,
        created_at=car.created_at,
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()

    assert status_of(car) == CarStatus.RESERVED


def test_the_base_manager_refuses_a_bulk_status_write_too():
    car = reserved_car()

    with pytest.raises(TypeError, match="status change only through its transitions"):
        Car._base_manager.filter(pk=car.pk).update(status=CarStatus.AVAILABLE)


def test_a_line_that_holds_nothing_cannot_be_created_by_any_path():
    car = CarFactory()
    order = order_for(CarFactory())

    with pytest.raises(TypeError, match=ORDER_PLACE), transaction.atomic():
        OrderItem.objects.create(order=order, car=car, holds_car=False, price=Decimal("1"))
    with pytest.raises(TypeError, match=ORDER_PLACE), transaction.atomic():
        order.cars.add(car, through_defaults={"holds_car": False, "price": Decimal("1")})
    with pytest.raises(TypeError, match="holds its car"), transaction.atomic(), transition():
        OrderItem.objects.create(order=order, car=car, holds_car=False, price=Decimal("1"))

    assert status_of(car) == CarStatus.AVAILABLE and order.items.count() == 1


NOT_HELD = "needs the car reserved or sold"


def _raw(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_line_holding_a_car_on_sale_is_refused_by_the_database_on_every_path():
    car = CarFactory()
    order = order_for(CarFactory())
    insert = "INSERT INTO orders_orderitem (order_id, car_id, price, holds_car) VALUES (%s, %s, 1, %s)"
    paths = {
        "bulk_create": lambda: OrderItem.objects.bulk_create([OrderItem(order=order, car=car, price=Decimal("1"))]),
        "create": lambda: OrderItem.objects.create(order=order, car=car, price=Decimal("1")),
        "SQL": lambda: _raw(insert, [order.pk, car.pk, True]),
    }

    for path, write in paths.items():
        with pytest.raises(IntegrityError, match=NOT_HELD), transaction.atomic(), transition():
            write()
        assert order.items.count() == 1, path
    assert status_of(car) == CarStatus.AVAILABLE


def test_a_released_line_cannot_be_made_to_hold_its_car_again_once_the_car_is_back_on_sale():
    car = CarFactory()
    order = order_for(car)
    order_cancel(order=order, actor=order.buyer.user, reason=CancellationReason.BUYER)
    line = OrderItem.objects.get(order=order)

    with pytest.raises(IntegrityError, match=NOT_HELD), transaction.atomic():
        _raw("UPDATE orders_orderitem SET holds_car = %s WHERE id = %s", [True, line.pk])

    assert not OrderItem.objects.get(pk=line.pk).holds_car and status_of(car) == CarStatus.AVAILABLE


def test_a_line_holding_a_sold_or_reserved_car_is_written_as_a_fixture_writes_it():
    sold, reserved = CarFactory(), CarFactory()
    order = order_for(CarFactory())
    insert = "INSERT INTO orders_orderitem (order_id, car_id, price, holds_car) VALUES (%s, %s, 1, %s)"
    Car.objects.filter(pk=sold.pk).state_write(status=CarStatus.SOLD)
    Car.objects.filter(pk=reserved.pk).state_write(status=CarStatus.RESERVED)

    for car in (sold, reserved):
        _raw(insert, [order.pk, car.pk, True])

    assert set(OrderItem.objects.filter(order=order, holds_car=True).values_list("car", flat=True)) >= {
        sold.pk,
        reserved.pk,
    }


def test_a_lines_car_order_and_hold_cannot_be_bulk_updated():
    order = order_for(CarFactory())
    other = CarFactory()
    lines = OrderItem.objects.filter(order=order)

    for change in ({"holds_car": False}, {"car": other}, {"car_id": other.pk}, {"order": order}):
        with pytest.raises(TypeError, match="change only through its transitions"):
            lines.update(**change)


def test_an_orders_state_cannot_be_set_by_hand_or_in_bulk():
    car = CarFactory()
    order = order_for(car)

    order.status = OrderStatus.CANCELLED
    with pytest.raises(TypeError, match="status change only through its transitions"):
        order.save()
    with pytest.raises(TypeError, match="is_active change only through its transitions"):
        Order.objects.filter(pk=order.pk).update(is_active=False)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED and status_of(car) == CarStatus.RESERVED


def test_a_stale_order_instance_saved_after_its_payment_keeps_it_paid(staff):
    order = order_for(CarFactory())
    stale = Order.objects.get(pk=order.pk)
    order_mark_paid(order=order, actor=staff)

    stale.save()

    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.total) == (OrderStatus.PAID, 1)


def test_deleting_an_order_judges_it_by_its_stored_row_not_a_stale_copy(staff):
    from carsales.sales.services import sale_void

    order = order_for(CarFactory())
    stale = Order.objects.get(pk=order.pk)  # read while placed
    sale_void(sale=order_mark_paid(order=order, actor=staff).sale, actor=staff, reason="payment")

    stale.delete()  # voided meanwhile (its payment failed: no refund owed): it holds no car, so it may go

    assert not Order.objects.filter(pk=order.pk).exists()
    live = order_for(CarFactory())
    stale_live = Order.objects.get(pk=live.pk)
    with pytest.raises(OrderStateError, match=r"is placed; cancel it instead"):
        stale_live.delete()


HELD = "stays reserved or sold"


@pytest.mark.parametrize("status", [CarStatus.AVAILABLE, CarStatus.WITHDRAWN])
def test_a_car_a_live_line_holds_cannot_leave_reserved_or_sold_by_any_path(status, staff):
    reserved, sold = reserved_car(), CarFactory()
    paid_order(sold, staff=staff)
    paths = {
        "SQL": lambda car: _raw("UPDATE catalog_car SET status = %s WHERE id = %s", [status, car.pk]),
        "state_write": lambda car: Car.objects.filter(pk=car.pk).state_write(status=status),
    }

    for car in (reserved, sold):
        held_as = status_of(car)
        for path, write in paths.items():
            with pytest.raises(IntegrityError, match=HELD), transaction.atomic(), transition():
                write(car)
            assert status_of(car) == held_as, path


def test_a_car_whose_lines_let_go_goes_back_on_sale_by_every_release_path(staff):
    from carsales.sales.services import sale_void

    cancelled, expired, deleted_line = (reserved_car() for _ in range(3))
    voided, deleted_sale = CarFactory(), CarFactory()
    order_cancel(order=Order.objects.get(items__car=cancelled), actor=None)
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        assert order_expire(order_id=Order.objects.get(items__car=expired).pk)
    OrderItem.objects.get(car=deleted_line).delete()
    sale_void(sale=Sale.objects.get(order=paid_order(voided, staff=staff)), actor=staff)
    Sale.objects.get(order=paid_order(deleted_sale, staff=staff)).delete()

    for car in (cancelled, expired, deleted_line, voided, deleted_sale):
        assert status_of(car) == CarStatus.AVAILABLE
        assert not OrderItem.objects.filter(car=car, holds_car=True).exists()


def test_the_admin_says_a_voided_orders_state_as_the_site_does(staff_client, staff):
    from carsales.sales.services import sale_void

    order = paid_order(CarFactory(), staff=staff)
    sale_void(sale=order.sale, actor=staff, reason="returned")

    listed = staff_client.get("/admin/orders/order/").content.decode()
    shown = staff_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert "Voided" in listed and "Voided" in shown
    # Its number of cars and its price, as money.
    assert '<td class="field-car_count">1</td>' in listed and '<td class="field-amount">$' in listed
