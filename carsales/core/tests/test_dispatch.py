import logging

import pytest

from carsales.core.dispatch import DomainSignal
from carsales.core.models import ReceiverFailure
from carsales.events.durable import Event, durable_receiver, registry
from carsales.events.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal() -> DomainSignal:
    return DomainSignal("tests.something_happened", "Sent in tests; kwargs: `value`.")


def test_a_failing_receiver_is_logged_once_and_recorded(signal, caplog):
    def broken(**kwargs):
        raise ValueError("boom")

    signal.connect(broken, dispatch_uid="tests.broken")

    with caplog.at_level(logging.ERROR):
        [(_, outcome)] = signal.send_robust(sender=None, value=1)

    assert isinstance(outcome, ValueError)
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == [
        "Receiver carsales.core.tests.test_dispatch.test_a_failing_receiver_is_logged_once_and_recorded"
        ".<locals>.broken failed on tests.something_happened"
    ]
    assert ReceiverFailure.objects.filter(receiver__endswith="broken", error__contains="boom").count() == 1


def test_an_async_receiver_is_refused_at_connect_with_the_reason(signal):
    async def notify(**kwargs):
        return None

    with pytest.raises(TypeError, match="is async"):
        signal.connect(notify, dispatch_uid="tests.notify")
    assert not signal.has_listeners()


def test_a_weak_connection_is_refused_rather_than_silently_made_strong(signal):
    def listener(**kwargs):
        return None

    with pytest.raises(ValueError, match="weak=False"):
        signal.connect(listener, weak=True, dispatch_uid="tests.listener")


def test_disconnecting_the_function_works_for_a_receiver_connected_with_a_dispatch_uid(signal):
    calls = []

    def listener(**kwargs):
        calls.append(kwargs["value"])

    signal.connect(listener, dispatch_uid="tests.listener")
    signal.send_robust(sender=None, value=1)

    assert signal.disconnect(listener) is True
    signal.send_robust(sender=None, value=2)
    assert calls == [1]
    assert signal.disconnect(listener) is False


def test_disconnecting_a_durable_receivers_function_stops_its_deliveries(signal):
    @durable_receiver(signal, dispatch_uid="tests.dispatch.durable_listener")
    def durable_listener(event: Event) -> None:
        return None

    try:
        signal.send_robust(sender=None, value=1)
        assert signal.disconnect(durable_listener) is True
        signal.send_robust(sender=None, value=2)
    finally:
        registry.pop("tests.dispatch.durable_listener", None)

    assert Delivery.objects.filter(receiver="tests.dispatch.durable_listener").count() == 1
