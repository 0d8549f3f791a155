import json

import pytest
from django.core.management import call_command
from django.db.models.signals import post_save

from carsales.catalog.models import Car
from carsales.core.signal_map import receiver_label, signal_map

pytestmark = pytest.mark.django_db

EMAILS = "durable (queue email, ordered in lane notifications.order)"


def _by_name():
    return {info.name: info for info in signal_map()}


def test_the_signal_map_lists_each_receiver_with_its_sender():
    by_name = _by_name()

    placed = {c.receiver for c in by_name["carsales.orders.signals.order_placed"].connections}
    assert "carsales.notifications.receivers.confirm_placed_order" in placed
    assert "carsales.analytics.receivers.count_placed_order" in placed
    assert "Not sent when the checkout is refused" in by_name["carsales.orders.signals.order_placed"].doc
    post_save = {(c.sender, c.receiver) for c in by_name["django.db.models.signals.post_save"].connections}
    assert ("auth.User", "carsales.accounts.receivers.create_buyer_for_new_user") in post_save


def test_plain_custom_signals_are_on_the_map_with_their_contract():
    by_name = _by_name()

    for name in (
        "carsales.catalog.signals.car_stock_moved",
        "carsales.catalog.signals.car_page_notes",
        "carsales.orders.signals.order_payment_recorded",
    ):
        assert by_name[name].kind == "custom", name
        assert by_name[name].connections, name
    assert "Sent when cars change status" in by_name["carsales.catalog.signals.car_stock_moved"].doc


def test_each_receiver_shows_how_it_runs():
    modes = {
        c.receiver: c.mode_detail
        for info in signal_map()
        for c in info.connections
        if c.receiver.startswith("carsales.")
    }

    assert modes["carsales.analytics.receivers.count_placed_order"] == "savepoint"
    assert modes["carsales.notifications.receivers.confirm_placed_order"] == EMAILS
    assert modes["carsales.orders.receivers.expire_unpaid_order"] == "durable (queue default, any order, deferred)"
    assert modes["carsales.accounts.receivers.create_buyer_for_new_user"] == "inline"


def test_receivers_are_listed_in_the_order_django_calls_them():
    connections = _by_name()["django.db.models.signals.post_save"].connections
    listed = [c.receiver for c in connections if c.sender in {"catalog.Car", "any sender"}]

    called = [receiver_label(receiver) for receiver in post_save._live_receivers(Car)[0]]

    assert len(called) > 3 and listed == called


def test_the_signals_command_prints_the_map_and_json_for_machines(capsys):
    call_command("signals")
    text = capsys.readouterr().out
    call_command("signals", "--json")
    data = json.loads(capsys.readouterr().out)

    assert "carsales.orders.signals.order_placed  [domain]" in text
    assert (
        "uid: notifications.confirm_placed_order · durable (queue email, ordered in lane notifications.order)" in text
    )
    placed = next(signal for signal in data if signal["name"] == "carsales.orders.signals.order_placed")
    assert {"order", "receiver", "app", "sender", "dispatch_uid", "mode", "durable"} <= set(placed["connections"][0])


def test_staff_see_the_signals_page_with_modes_and_failures(staff_client):
    from carsales.core.models import ReceiverFailure

    ReceiverFailure.objects.create(signal="order_placed", receiver="x.broken", error="ValueError: boom", traceback="")

    response = staff_client.get("/staff/signals/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "carsales.orders.signals.order_placed" in content and "ValueError: boom" in content
    assert "carsales.catalog.signals.car_stock_moved" in content and EMAILS in content


def test_the_diagram_draws_sending_app_signal_and_receiving_app_with_durable_edges_dashed():
    from carsales.core.signal_diagram import signal_diagram

    svg = str(signal_diagram(signal_map()))

    assert svg.startswith("<svg") and svg.count("<a href=") >= 10
    assert ">order_placed</text>" in svg and ">notifications</text>" in svg and ">orders</text>" in svg
    assert '<a href="/staff/timeline/?signal=order_placed">' in svg
    assert 'class="edge durable"' in svg  # notifications only reacts through durable receivers
    assert ">post_save · catalog.Car</text>" in svg


def test_the_map_in_the_docs_is_the_map_of_the_code():
    from pathlib import Path

    from carsales.core.signal_map import MAP_END, MAP_START, signal_map_markdown

    page = (Path(__file__).resolve().parents[3] / "docs" / "signals.md").read_text()
    embedded = page[page.index(MAP_START) : page.index(MAP_END) + len(MAP_END)]

    assert page.count(MAP_START) == page.count(MAP_END) == 1, "docs/signals.md holds the map once"
    assert embedded == signal_map_markdown(), "docs/signals.md is stale: paste `manage.py signals --markdown` into it"
