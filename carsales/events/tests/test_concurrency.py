"""Two workers racing for one delivery: it runs once. Threads with their own connections: the
SQLite write lock here, SELECT ... FOR UPDATE SKIP LOCKED in the PostgreSQL pass."""

import pytest

from carsales.conftest import run_together
from carsales.events.models import Delivery
from carsales.events.services import delivery_run

from .conftest import delivery_of, ran
from .receivers import thing_happened

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_workers_racing_for_one_delivery_run_it_once():
    thing_happened.send(sender=None, mode="ok")
    delivery = delivery_of("effect")
    outcomes = []

    errors = run_together([lambda: outcomes.append(delivery_run(delivery_id=delivery.pk)) for _ in range(2)])

    assert errors == []
    assert sorted(outcomes) == ["done", "skipped"]
    assert len(ran("effect")) == 1
    assert Delivery.objects.get(pk=delivery.pk).attempts == 1
