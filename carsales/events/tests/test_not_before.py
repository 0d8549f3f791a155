"""`not_before`: a delivery deferred to a time computed from the signal's kwargs at send time."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.dispatch import Signal
from django.utils import timezone

from carsales.events.durable import Event, durable_receiver
from carsales.events.models import Delivery

from .conftest import delivery_of

pytestmark = pytest.mark.django_db

deadline_passed = Signal()  # kwargs: due (an aware datetime, or None for now)
seen: list[Event] = []


@durable_receiver(
    deadline_passed,
    dispatch_uid="events_tests.deadline",
    ordered=False,
    not_before=lambda kwargs: kwargs["due"],
)
def deadline(event: Event) -> None:
    seen.append(event)


@pytest.fixture(autouse=True)
def nothing_seen():
    seen.clear()


def test_a_deferred_delivery_does_not_run_before_its_time_and_runs_after(run_tasks):
    due = timezone.now() + timedelta(hours=2)
    deadline_passed.send(sender=None, due=due)

    run_tasks()
    with time_machine.travel(due - timedelta(seconds=1)):
        run_tasks()
    assert seen == [] and delivery_of("deadline").run_after == due

    with time_machine.travel(due + timedelta(seconds=1)):
        run_tasks()
    assert len(seen) == 1 and delivery_of("deadline").status == Delivery.Status.DONE


def test_none_runs_the_delivery_at_once(run_tasks):
    deadline_passed.send(sender=None, due=None)

    run_tasks()

    assert len(seen) == 1


def test_a_naive_time_fails_the_send_and_writes_nothing():
    with pytest.raises(ValueError, match="naive"):
        deadline_passed.send(sender=None, due=datetime(2030, 1, 1))

    assert not Delivery.objects.exists()


option_sent = Signal()  # kwargs: wanted, token, extra


@durable_receiver(
    option_sent,
    dispatch_uid="events_tests.options",
    when=lambda kwargs: kwargs["wanted"],
    carries={"token"},
    adds=lambda kwargs: {"added": kwargs["token"] * 2},
)
def options(event: Event) -> None:
    seen.append(event)


def test_when_false_writes_no_delivery_and_carries_and_adds_shape_the_payload(run_tasks):
    option_sent.send(sender=None, wanted=False, token="a", extra=object())
    option_sent.send(sender=None, wanted=True, token="b", extra=object())  # not carried, so not refused

    run_tasks()

    (event,) = seen
    assert event.kwargs == {"token": "b", "added": "bb"}
