"""Two workers racing for one delivery: it runs once. Threads with their own connections: the
SQLite write lock here, SELECT ... FOR UPDATE SKIP LOCKED in the PostgreSQL pass."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from carsales.conftest import run_together
from carsales.events import services
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


def test_a_claim_that_read_the_delivery_before_another_worker_ran_it_runs_nothing(monkeypatch):
    """Celery's and RQ's claim reads the row, then updates it on the attempt it read: another
    worker's claim in between (here it runs the delivery to the end) makes that update match no row."""
    thing_happened.send(sender=None, mode="ok")
    delivery = delivery_of("effect")
    lease_from = services._lease_from  # called between the claim's read and its update
    other_worker: list[str] = []

    def lease_from_while_another_worker_runs_it(*args, **kwargs):
        if not other_worker:
            other_worker.append("started")
            other_worker.append(delivery_run(delivery_id=delivery.pk, worker="other"))
        return lease_from(*args, **kwargs)

    monkeypatch.setattr(services, "_lease_from", lease_from_while_another_worker_runs_it)

    assert delivery_run(delivery_id=delivery.pk, worker="late") == "skipped"
    assert other_worker == ["started", "done"]
    assert len(ran("effect")) == 1
    assert Delivery.objects.filter(pk=delivery.pk, status="done", attempts=1, worker="other").exists()


def test_a_claim_that_read_the_delivery_before_another_claim_whose_attempt_failed_runs_nothing(monkeypatch):
    """The same late claim, when the other worker's attempt failed and the delivery is due again:
    status and due time match what it read, only the attempt count tells the claims apart."""
    thing_happened.send(sender=None, mode="ok")
    delivery = delivery_of("effect")
    lease_from = services._lease_from

    def lease_from_after_another_claim_failed(*args, **kwargs):
        Delivery.objects.filter(pk=delivery.pk, attempts=0).state_write(
            attempts=F("attempts") + 1, status="retrying", run_after=timezone.now() - timedelta(seconds=1)
        )
        return lease_from(*args, **kwargs)

    monkeypatch.setattr(services, "_lease_from", lease_from_after_another_claim_failed)

    assert delivery_run(delivery_id=delivery.pk, worker="late") == "skipped"
    assert ran("effect") == []
    assert Delivery.objects.filter(pk=delivery.pk, status="retrying", attempts=1).exists()
