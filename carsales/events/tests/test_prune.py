from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from carsales.events.durable import RetryLater
from carsales.events.models import Delivery, EffectRecord
from carsales.events.services import deliveries_prune, housekeeping_run

from .receivers import failing, thing_happened

pytestmark = pytest.mark.django_db


def test_prune_removes_only_finished_rows_older_than_the_retention(run_tasks):
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        thing_happened.send(sender=None, mode="ok")  # effect and tally done 10 days ago
        run_tasks()
        failing["effect"] = lambda: RetryLater(timedelta(days=30).total_seconds())
        thing_happened.send(sender=None, mode="ok")  # tally done; the effect attempted, waiting to retry
        run_tasks()
        failing.clear()
    thing_happened.send(sender=None, mode="ok")  # done today
    run_tasks()

    deleted = deliveries_prune(older_than=timedelta(days=7))

    assert deleted == {"deliveries": 3, "effects": 1, "jobs": 0}
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["done", "done", "retrying"]
    assert EffectRecord.objects.filter(done_at=None).count() == 1  # an attempt not done is kept
    assert EffectRecord.objects.exclude(done_at=None).count() == 1  # today's
    assert not DBTaskResult.objects.exists()  # the database transport writes no job


def test_prune_removes_finished_delivery_jobs_of_a_tasks_transport(run_tasks):
    from carsales.events.tasks import deliver

    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        thing_happened.send(sender=None, mode="ok")
        for delivery in Delivery.objects.all():
            deliver.enqueue(delivery.pk)  # as the "tasks" transport does on a django-tasks-db backend
        run_tasks()
    deliver.enqueue(Delivery.objects.first().pk)  # a wake-up not run yet

    assert deliveries_prune(older_than=timedelta(days=7))["jobs"] == 2
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["READY"]


def test_the_prune_command_reports_what_it_deleted():
    out = StringIO()

    call_command("events_prune", "--days", "1", stdout=out)

    assert out.getvalue().strip() == "0 deliveries, 0 effects, 0 jobs deleted."


HOUSEKEEPING_CALLS: list[str] = []


def count_a_housekeeping_call() -> None:
    HOUSEKEEPING_CALLS.append("ran")


def fail_housekeeping() -> None:
    raise RuntimeError("a clean-up that fails")


def test_the_workers_housekeeping_runs_every_configured_callable_even_after_one_fails(settings):
    here = __name__
    settings.EVENTS = {"HOUSEKEEPING": [f"{here}.fail_housekeeping", f"{here}.count_a_housekeeping_call"]}
    HOUSEKEEPING_CALLS.clear()

    assert housekeeping_run() == 1
    assert HOUSEKEEPING_CALLS == ["ran"]
