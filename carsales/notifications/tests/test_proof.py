"""Proof at volume: emails exist if and only if their order committed, one each."""

import time

import pytest
from django.core import mail
from django.db import transaction

from carsales.conftest import CarFactory, UserFactory, order_for
from carsales.orders.models import Order

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_500_checkouts_half_rolled_back_email_each_committed_order_exactly_once(run_tasks, settings):
    settings.CARSALES_MAX_CARS_HELD = 1000  # ten buyers place fifty orders each: not a hoarding test
    users = UserFactory.create_batch(10)
    cars = CarFactory.create_batch(500, value=100)
    started = time.monotonic()
    for number, car in enumerate(cars):
        if number % 2:
            order_for(car, user=users[number % 10])
            continue
        with pytest.raises(RuntimeError), transaction.atomic():
            order_for(car, user=users[number % 10])
            raise RuntimeError("rolled back after the checkout")
    run_tasks()
    run_tasks()
    print(f"\n500 checkouts and their deliveries: {time.monotonic() - started:.1f}s")

    committed = set(Order.objects.values_list("pk", flat=True))
    confirmed = [email.subject for email in mail.outbox if "has been placed" in email.subject]
    assert len(committed) == 250
    assert sorted(confirmed) == sorted(f"Your carsales order #{pk} has been placed" for pk in committed)
