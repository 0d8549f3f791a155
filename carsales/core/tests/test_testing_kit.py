import pytest
from django.core import mail
from django.db.models.signals import post_save

from carsales.catalog.models import Car
from carsales.conftest import CarFactory, order_for
from carsales.inventory.models import CarInventory

pytestmark = pytest.mark.django_db


def test_a_muted_receiver_does_not_run_and_comes_back_in_its_place(mute):
    before = list(post_save.receivers)

    with mute("inventory.car_saved_update_inventory"):
        CarFactory()
    assert CarInventory.objects.count() == 0

    assert post_save.receivers == before
    CarFactory()
    assert CarInventory.objects.count() == 1


def test_muting_a_receiver_nobody_connected_is_an_error(mute):
    with pytest.raises(LookupError, match="such_receiver"), mute("no.such_receiver"):
        pass


def test_a_muted_durable_receiver_owes_nothing(mute, durable):
    with durable.owed() as owed, mute("notifications.confirm_placed_order"):
        order_for(CarFactory())

    assert "notifications.confirm_placed_order" not in owed.receivers()
    assert "orders.expire_unpaid_order" in owed.receivers()


def test_the_signals_a_checkout_sent_are_recorded_in_order(sent_signals):
    order_for(CarFactory())

    names = [name.rsplit(".", 1)[-1] for name in sent_signals.names()]
    assert names.index("car_stock_moved") < names.index("order_placed")
    [placed] = sent_signals.of("order_placed")
    assert placed.sender.__name__ == "Order" and placed.kwargs["order"].total == 1


def test_the_deliveries_a_block_owed_run_now_as_a_worker_would(durable):
    with durable.owed() as owed:
        order = order_for(CarFactory())

    outcomes = dict(durable.run(owed))

    assert outcomes["notifications.confirm_placed_order"] == "done"
    assert [message.subject for message in mail.outbox if f"#{order.pk}" in message.subject]
    assert dict(durable.run(owed))["notifications.confirm_placed_order"] == "skipped"  # done once


def test_recording_stops_with_the_block(sent_signals):
    from carsales.core.testing import signals_sent

    with signals_sent() as inner:
        CarFactory()
    CarFactory()

    assert inner.of("post_save") and len(inner.of("post_save")) < len(sent_signals.of("post_save"))
    assert [sent.sender for sent in inner.of("post_save")].count(Car) == 1
