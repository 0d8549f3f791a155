import pytest

from carsales.core.signal_map import signal_map

pytestmark = pytest.mark.django_db


def test_the_signal_map_lists_each_receiver_with_its_sender():
    by_name = {info.name: info for info in signal_map()}

    placed = {c.receiver for c in by_name["orders.order_placed"].connections}
    assert "carsales.notifications.receivers.confirm_placed_order" in placed
    assert "carsales.analytics.receivers.count_placed_order" in placed
    assert "Not sent when the checkout is refused" in by_name["orders.order_placed"].doc
    post_save = {(c.sender, c.receiver) for c in by_name["django.db.models.signals.post_save"].connections}
    assert ("catalog.Car", "carsales.inventory.receivers.car_saved_update_inventory") in post_save
    assert ("auth.User", "carsales.accounts.receivers.create_buyer_for_new_user") in post_save


def test_staff_see_the_signals_page_with_failures(staff_client):
    from carsales.core.models import ReceiverFailure

    ReceiverFailure.objects.create(signal="order_placed", receiver="x.broken", error="ValueError: boom", traceback="")

    response = staff_client.get("/staff/signals/")

    assert response.status_code == 200
    assert b"orders.order_placed" in response.content and b"ValueError: boom" in response.content
