"""The database transport's worker path: deliveries claimed from their table in batches, their
successes recorded together, the rest of a batch handed back when the worker stops, and one
NOTIFY per transaction however many deliveries it writes."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carsales.events.models import Delivery
from carsales.events.services import deliveries_claim, deliveries_run_claimed, deliveries_sweep

from .conftest import ran
from .receivers import bench_thing, thing_happened

pytestmark = pytest.mark.django_db
Status = Delivery.Status


def backlog(count: int) -> list[int]:
    for n in range(count):
        bench_thing.send(sender=None, token=f"t{n}")
    return list(Delivery.objects.order_by("pk").values_list("pk", flat=True))


def test_a_batch_is_claimed_oldest_first_up_to_its_limit_on_the_queues_asked():
    ids = backlog(5)
    thing_happened.send(sender=None, mode="ok")  # its tally is on the "tally" queue, its effect on "default"

    claimed = deliveries_claim(worker="w1", queues=["default"], limit=4)
    rest = deliveries_claim(worker="w2", queues=["default"], limit=10)

    assert [delivery.pk for delivery in claimed] == ids[:4]
    assert [delivery.receiver for delivery in rest] == ["events_tests.bench", "events_tests.effect"]
    stored = {pk: (status, attempts, worker) for pk, status, attempts, worker in
              Delivery.objects.values_list("pk", "status", "attempts", "worker")}  # fmt: skip
    assert {stored[delivery.pk] for delivery in claimed} == {(Status.RUNNING, 1, "w1")}
    assert all(delivery.lease_until > timezone.now() for delivery in claimed + rest)
    assert Delivery.objects.get(receiver="events_tests.tally").status == Status.PENDING


def test_an_ordered_delivery_waits_behind_the_earlier_one_of_its_lane_even_in_one_batch():
    group = Group.objects.create(name="Lane")
    group.name = "Lane, renamed"
    group.save()  # two deliveries of events_tests.group_saved for one group: one lane

    first = deliveries_claim(worker="w1", limit=10)
    assert [delivery.receiver for delivery in first] == ["events_tests.group_saved"]
    assert deliveries_claim(worker="w2", limit=10) == []  # the second waits for the first to finish

    deliveries_run_claimed(first, worker="w1")
    (second,) = deliveries_claim(worker="w2", limit=10)
    assert second.pk > first[0].pk


def test_a_batch_records_its_successes_in_one_statement():
    backlog(20)
    claimed = deliveries_claim(worker="w1", limit=20)

    with CaptureQueriesContext(connection) as queries:
        statuses = deliveries_run_claimed(claimed, worker="w1")

    assert statuses == ["done"] * 20
    assert len(ran("bench")) == 20
    writes = [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]
    assert len(writes) == 1, writes
    assert set(Delivery.objects.values_list("status", "attempts", "lease_until")) == {(Status.DONE, 1, None)}


def test_a_stopping_worker_hands_back_what_it_has_not_started_attempts_not_counted():
    backlog(5)
    claimed = deliveries_claim(worker="w1", limit=5)
    started = []

    def stopping() -> bool:
        started.append(None)
        return len(started) > 2  # told to stop after two deliveries

    assert deliveries_run_claimed(claimed, worker="w1", stopping=stopping) == ["done", "done"]

    by_status = sorted(Delivery.objects.values_list("status", "attempts"))
    assert by_status == [(Status.DONE, 1), (Status.DONE, 1), *[(Status.RETRYING, 0)] * 3]
    assert len(deliveries_claim(worker="w2", limit=5)) == 3  # at once, by anyone


def test_a_delivery_whose_lease_ran_out_while_it_waited_its_turn_is_left_to_its_new_claimer():
    backlog(1)
    claimed = deliveries_claim(worker="w1", limit=1)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        deliveries_sweep()  # its lease expired: taken up, to run again
        (retaken,) = deliveries_claim(worker="w2", limit=1)
        assert deliveries_run_claimed(claimed, worker="w1") == ["skipped"]

    assert retaken.pk == claimed[0].pk
    assert Delivery.objects.get(pk=retaken.pk).worker == "w2"
    assert not ran("bench")


def test_a_delivery_that_waited_long_in_its_batch_has_its_lease_renewed_before_it_runs():
    backlog(1)
    (claimed,) = deliveries_claim(worker="w1", limit=1)
    lease = claimed.lease_until
    renewals = []
    with time_machine.travel(lease - timedelta(seconds=1), tick=False):  # too little left for a run
        with CaptureQueriesContext(connection) as queries:
            assert deliveries_run_claimed([claimed], worker="w1") == ["done"]
        renewals = [
            query["sql"]
            for query in queries
            if query["sql"].startswith("UPDATE") and "DONE" not in query["sql"].upper()
        ]

    assert len(renewals) == 1 and "lease_until" in renewals[0]
    assert len(ran("bench")) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="NOTIFY is PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # each block its own transaction, committed
def test_a_transaction_writing_deliveries_notifies_the_workers_once():
    def notifies(block) -> int:
        with CaptureQueriesContext(connection) as queries:
            block()
        return sum("pg_notify" in query["sql"] for query in queries)

    def several() -> None:
        with transaction.atomic():
            thing_happened.send(sender=None, mode="ok")  # two queues
            backlog(3)

    def rolled_back_then_again() -> None:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    bench_thing.send(sender=None, token="dropped")
                    raise RuntimeError
            except RuntimeError:
                pass
            bench_thing.send(sender=None, token="kept")  # the NOTIFY went with the savepoint: made again

    assert notifies(several) == 1
    assert notifies(rolled_back_then_again) == 2
