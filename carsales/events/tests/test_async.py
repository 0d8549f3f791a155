"""Async receivers: a durable one is awaited by the worker; asend writes deliveries too."""

import pytest
from asgiref.sync import async_to_sync

from carsales.events.models import Delivery, EffectRecord

from .conftest import delivery_of, ran
from .receivers import async_thing

pytestmark = pytest.mark.django_db


def test_a_durable_async_receiver_is_awaited_by_the_worker(run_tasks):
    async_thing.send(sender=None, label="sync send")

    run_tasks()

    delivery = delivery_of("async_effect")
    assert delivery.status == Delivery.Status.DONE
    assert EffectRecord.objects.filter(key=f"async:{delivery.idempotency_key}").exists()
    assert [event.label for event in ran("async_effect")] == ["sync send"]


def test_asend_writes_the_deliveries_and_awaits_plain_async_receivers(run_tasks):
    awaited = []

    async def plain(sender, label, **kwargs):
        awaited.append(label)

    async_thing.connect(plain, dispatch_uid="events_tests.plain_async")
    try:
        async_to_sync(async_thing.asend)(sender=None, label="async send")
    finally:
        async_thing.disconnect(dispatch_uid="events_tests.plain_async")

    assert awaited == ["async send"]  # not durable: awaited by the send itself
    assert delivery_of("async_effect").status == Delivery.Status.PENDING
    run_tasks()
    assert [event.label for event in ran("async_effect")] == ["async send"]
