"""A delivery whose worker was lost is taken up when its lease expires; a live lease is kept."""

from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from carsales.events.durable import registry
from carsales.events.models import Delivery
from carsales.events.services import deliveries_sweep, delivery_run

from .conftest import delivery_of, ran
from .receivers import thing_happened

pytestmark = pytest.mark.django_db


def claimed_by_a_lost_worker() -> Delivery:
    """The effect's delivery as a worker killed mid-receiver leaves it: RUNNING."""
    thing_happened.send(sender=None, mode="ok")
    tally = Delivery.objects.filter(receiver="events_tests.tally")
    tally.state_write(status=Delivery.Status.DONE)  # only the effect owed, for plain counts
    tally.delete()
    delivery = delivery_of("effect")
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).state_write(
        status=Delivery.Status.RUNNING, attempts=1, lease_until=now + timedelta(seconds=60), worker="lost:1"
    )
    return delivery


def test_an_expired_lease_is_taken_up_again(run_tasks):
    delivery = claimed_by_a_lost_worker()

    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        assert deliveries_sweep() == 1
        run_tasks()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE and delivery.attempts == 2
    assert "Lease expired" in delivery.last_error and "lost:1" in delivery.last_error
    assert len(ran("effect")) == 1


def test_a_live_lease_is_not_stolen(run_tasks):
    delivery = claimed_by_a_lost_worker()

    with time_machine.travel(timezone.now() + timedelta(seconds=59), tick=False):
        assert deliveries_sweep() == 0
        assert delivery_run(delivery_id=delivery.pk) == "skipped"

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.RUNNING and delivery.attempts == 1
    assert not ran("effect")


def test_an_expired_lease_on_the_last_attempt_is_dead():
    delivery = claimed_by_a_lost_worker()
    Delivery.objects.filter(pk=delivery.pk).state_write(attempts=3)

    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        deliveries_sweep()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DEAD and "Lease expired" in delivery.last_error


def test_a_job_lost_with_its_worker_is_replaced_and_marked_failed(
    run_tasks, settings, django_capture_on_commit_callbacks
):
    # A transport outside the database (here django-tasks jobs published after the commit, as with RQ).
    settings.EVENTS = {**settings.EVENTS, "TRANSPORT": "tasks", "TASK_BACKEND": "default"}
    with django_capture_on_commit_callbacks(execute=True):
        thing_happened.send(sender=None, mode="ok")
    assert DBTaskResult.objects.count() == 2
    DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now())  # claimed, then the worker died

    with time_machine.travel(timezone.now() + timedelta(seconds=120), tick=False):
        assert deliveries_sweep() == 2  # effect and tally
        run_tasks()

    assert delivery_of("effect").status == Delivery.Status.DONE
    assert DBTaskResult.objects.filter(status="FAILED", exception_class_path="carsales.events.WorkerLost").count() == 2


def test_with_the_database_transport_a_waiting_backlog_is_never_handed_off_again(run_tasks):
    """The worker claims rows from the table itself: nothing to lose, so no wake-up to repeat."""
    for _ in range(3):
        thing_happened.send(sender=None, mode="ok")

    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        assert deliveries_sweep() == 0
        run_tasks()

    assert not DBTaskResult.objects.exists()
    assert set(Delivery.objects.values_list("status", "attempts")) == {(Delivery.Status.DONE, 1)}
    assert len(ran("effect")) == 3


def test_a_worker_finishing_after_its_lease_was_taken_over_does_not_overwrite(monkeypatch):
    thing_happened.send(sender=None, mode="ok")
    delivery = delivery_of("effect")
    real = registry["events_tests.effect"]

    def loses_its_lease(event):
        registry["events_tests.effect"] = real
        # Meanwhile its lease expires, the sweep hands it on and another worker runs it.
        Delivery.objects.filter(pk=delivery.pk).state_write(status=Delivery.Status.RETRYING, lease_until=None)
        assert delivery_run(delivery_id=delivery.pk) == Delivery.Status.DONE

    monkeypatch.setitem(registry, "events_tests.effect", replace(real, function=loses_its_lease))
    delivery_run(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE and delivery.attempts == 2
    assert len(ran("effect")) == 1
