"""Failures are retried with growing, jittered delays, then DEAD with their traceback; staff requeue."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from carsales.events.durable import PermanentFailure, RetryLater
from carsales.events.models import Delivery
from carsales.events.services import delivery_run

from .conftest import delivery_of, ran
from .receivers import failing, hang_thing, thing_happened

pytestmark = pytest.mark.django_db


def smtp_down() -> BaseException:
    return ConnectionRefusedError("smtp down")


def run_when_due(run_tasks, traveller, delivery):
    """Move the clock to the delivery's run_after (no sleeping) and run what is due."""
    delivery.refresh_from_db()
    traveller.move_to(delivery.run_after + timedelta(milliseconds=1))
    run_tasks()
    delivery.refresh_from_db()


def test_a_receiver_that_always_fails_is_dead_after_its_limit_with_its_traceback(run_tasks):
    failing["effect"] = smtp_down
    thing_happened.send(sender=None, mode="ok")
    delivery = delivery_of("effect")

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        run_tasks()
        for _ in range(delivery.max_attempts - 1):
            run_when_due(run_tasks, traveller, delivery)

    assert delivery.status == Delivery.Status.DEAD and delivery.attempts == 3 == delivery.max_attempts
    assert "Traceback (most recent call last)" in delivery.last_error
    assert delivery.error_summary == "ConnectionRefusedError: smtp down"
    assert not ran("effect")


def test_each_retry_waits_longer_than_the_last(run_tasks):
    failing["effect"] = smtp_down
    thing_happened.send(sender=None, mode="ok")
    delivery = delivery_of("effect")
    waits = []

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        run_tasks()
        delivery.refresh_from_db()
        waits.append((delivery.run_after - timezone.now()).total_seconds())
        run_when_due(run_tasks, traveller, delivery)
        waits.append((delivery.run_after - timezone.now()).total_seconds())
        run_tasks()  # not due yet: nothing runs
        assert Delivery.objects.get(pk=delivery.pk).attempts == 2

    # BACKOFF_BASE 2: the first wait is within [1, 2] s, the second within [2, 4] s.
    assert 1 <= waits[0] <= 2 <= waits[1] <= 4


def test_a_delivery_runs_again_once_its_retry_is_due(run_tasks):
    failing["effect"] = smtp_down
    thing_happened.send(sender=None, mode="ok")
    delivery = delivery_of("effect")

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        run_tasks()
        failing.clear()
        run_when_due(run_tasks, traveller, delivery)

    assert delivery.status == Delivery.Status.DONE and delivery.attempts == 2
    assert len(ran("effect")) == 1
    assert "smtp down" in delivery.last_error  # what went wrong before stays visible


def test_retry_later_is_honoured_and_counts_as_an_attempt(run_tasks):
    failing["effect"] = lambda: RetryLater(120, "rate limited")
    thing_happened.send(sender=None, mode="ok")

    with time_machine.travel(timezone.now(), tick=False):
        run_tasks()
        delivery = delivery_of("effect")
        assert delivery.status == Delivery.Status.RETRYING and delivery.attempts == 1
        assert delivery.run_after == timezone.now() + timedelta(seconds=120)
        assert "rate limited" in delivery.last_error


def test_a_permanent_failure_is_dead_at_once(run_tasks):
    failing["effect"] = lambda: PermanentFailure("no such mailbox")
    thing_happened.send(sender=None, mode="ok")

    run_tasks()

    delivery = delivery_of("effect")
    assert delivery.status == Delivery.Status.DEAD and delivery.attempts == 1
    assert delivery.error_summary == "carsales.events.durable.PermanentFailure: no such mailbox"


def test_a_requeued_dead_delivery_runs_again_under_the_same_key(run_tasks):
    from carsales.events.services import deliveries_requeue

    failing["effect"] = lambda: PermanentFailure("mailbox full")
    thing_happened.send(sender=None, mode="ok")
    run_tasks()
    delivery = delivery_of("effect")
    failing.clear()

    assert deliveries_requeue(ids=[delivery.pk]) == 1
    run_tasks()

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE and delivery.attempts == 1
    (event,) = ran("effect")
    assert event.idempotency_key == delivery.idempotency_key


def test_a_receiver_past_its_timeout_is_interrupted_and_retried(run_tasks):
    hang_thing.send(sender=None)

    run_tasks()  # the receiver sleeps 5 s; its timeout is 0.2 s

    delivery = delivery_of("hang")
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.error_summary.startswith("carsales.events.execution.ReceiverTimeout")
    assert not ran("hang")


def test_a_delivery_for_a_receiver_this_worker_does_not_know_is_left_for_one_that_does(run_tasks, staff_client):
    from datetime import timedelta

    from django.utils import timezone

    Group.objects.create(name="orphan")
    Delivery.objects.state_write(receiver="events_tests.of_another_release", max_attempts=1)

    assert delivery_run(delivery_id=Delivery.objects.get().pk, worker="w1") == "unknown"

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.RETRYING and delivery.attempts == 0  # no attempt burnt
    assert delivery.run_after > timezone.now() + timedelta(seconds=50)
    assert "left for one that knows it" in delivery.last_error
    page = staff_client.get("/staff/events/").content.decode()
    assert "receivers this release does not have" in page and "events_tests.of_another_release" in page
