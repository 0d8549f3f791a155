import json

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from carsales.core.explain import explain

pytestmark = pytest.mark.django_db


def _row_counts():
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()}


def _receivers(nodes):
    return [node.name for node in nodes if node.kind == "receiver"]


@pytest.mark.django_db(transaction=True)
def test_explaining_a_checkout_leaves_nothing_behind(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    before = _row_counts()

    result = explain("checkout")

    assert result.fired and result.owed
    assert _row_counts() == before
    assert list(tmp_path.rglob("*")) == []


def test_the_checkout_tree_shows_each_signal_its_receivers_in_order_and_the_deliveries_owed():
    result = explain("checkout")

    by_signal = {node.name: node for node in result.fired}
    placed = by_signal["order_placed"]
    assert _receivers(placed.children) == [
        "carsales.orders.receivers.expire_unpaid_order",
        "carsales.notifications.receivers.confirm_placed_order",
        "carsales.analytics.receivers.count_placed_order",
        "carsales.audit.receivers.log_order_placed",
    ]
    analytics = placed.children[2]
    assert analytics.detail == "savepoint" and analytics.queries > 0 and analytics.ms > 0
    assert _receivers(by_signal["car_stock_moved"].children) == [
        "carsales.catalog.receivers.catalogue_changed",
        "carsales.inventory.receivers.cars_moved_update_inventory",
        "carsales.audit.receivers.log_cars_taken_off_or_back_on_sale",
    ]
    assert {owed.receiver for owed in result.owed} == {
        "orders.expire_unpaid_order",
        "notifications.confirm_placed_order",
    }
    assert result.queries >= sum(node.queries for node in placed.children)


def test_nested_signals_appear_under_the_receiver_that_sent_them():
    result = explain("sales.Sale delete")

    pre_delete = next(node for node in result.fired if node.name == "pre_delete")
    deactivate = next(node for node in pre_delete.children if node.name.endswith("deactivate_order_of_voided_sale"))
    [moved] = [node for node in deactivate.children if node.name == "car_stock_moved"]
    assert _receivers(moved.children) == [
        "carsales.catalog.receivers.catalogue_changed",
        "carsales.inventory.receivers.cars_moved_update_inventory",
        "carsales.audit.receivers.log_cars_taken_off_or_back_on_sale",
    ]
    assert moved.children[0].queries > 0


def test_the_command_explains_an_operation_named_by_a_signal_it_sends(capsys):
    call_command("signals", "--explain", "order_placed")
    text = capsys.readouterr().out
    call_command("signals", "--explain", "catalog.Car", "save", "--json")
    data = json.loads(capsys.readouterr().out)

    assert text.startswith("checkout:") and "rolled back" in text
    assert "├─ carsales.orders.receivers.expire_unpaid_order  durable (queue default, any order, deferred)" in text
    assert data["operation"] == "catalog.Car save"
    assert "post_save" in [node["name"] for node in data["fired"]]


def test_an_unknown_operation_is_a_clear_error():
    with pytest.raises(CommandError, match="known: cancel"):
        call_command("signals", "--explain", "teleport")
