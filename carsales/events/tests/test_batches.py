"""The database transport's worker path: deliveries claimed from their table in batches, their
successes recorded together, the rest of a batch handed back when the worker stops, and one
NOTIFY per transaction however many deliveries it writes."""

from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carsales.events.durable import registry
from carsales.events.models import Delivery
from carsales.events.services import deliveries_claim, deliveries_ready, deliveries_run_claimed, deliveries_sweep

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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="NOTIFY is PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # committed: a NOTIFY reaches a listener at the commit only
def test_the_first_delivery_of_a_transaction_wakes_a_listening_worker_at_its_commit_in_its_insert():
    import psycopg

    settings = connection.settings_dict
    listener = psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None, port=settings["PORT"] or None, autocommit=True,
    )  # fmt: skip
    try:
        listener.execute("LISTEN events_deliveries")
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            bench_thing.send(sender=None, token="first")
            bench_thing.send(sender=None, token="second")
            assert not list(listener.notifies(timeout=0.2))  # nothing before the commit
        woken = list(listener.notifies(timeout=5, stop_after=1))
    finally:
        listener.close()

    writes = [query["sql"] for query in queries if "events_delivery" in query["sql"]]
    assert len(writes) == 2 and "pg_notify" in writes[0] and "pg_notify" not in writes[1]
    assert [notice.channel for notice in woken] == ["events_deliveries"]
    first, second = Delivery.objects.order_by("pk")
    assert (first.payload["token"], second.payload["token"]) == ("first", "second")
    assert first.receiver == "events_tests.bench" and first.status == Status.PENDING and first.kicked_at


def test_a_long_batch_keeps_its_leases_and_its_successes_from_another_workers_sweep(monkeypatch):
    """Each run takes 40 s of a 60 s lease: before a run that could outlast the earliest lease,
    the successes so far are recorded and the waiting deliveries' leases renewed."""
    backlog(3)
    claimed = deliveries_claim(worker="w1", limit=3)
    real = registry["events_tests.bench"]
    swept = []

    with time_machine.travel(timezone.now(), tick=False) as clock:

        def slow(event):
            clock.shift(timedelta(seconds=40))
            swept.append(deliveries_sweep())  # another worker's sweep, meanwhile
            real.function(event)

        monkeypatch.setitem(registry, "events_tests.bench", replace(real, function=slow))
        assert deliveries_run_claimed(claimed, worker="w1") == ["done"] * 3

    assert swept == [0, 0, 0]
    assert set(Delivery.objects.values_list("status", "attempts")) == {(Status.DONE, 1)}
    assert len(ran("bench")) == 3


def test_a_success_is_not_recorded_over_a_later_attempt_by_the_same_worker_id():
    backlog(1)
    (first,) = deliveries_claim(worker="w1", limit=1)
    with time_machine.travel(first.lease_until + timedelta(seconds=1), tick=False):
        deliveries_sweep()  # the first attempt's lease ran out
        (second,) = deliveries_claim(worker="w1", limit=1)  # the same id: a thread of one process
        assert second.attempts == 2
        assert deliveries_run_claimed([first], worker="w1") == ["skipped"]

    assert Delivery.objects.get(pk=first.pk).status == Status.RUNNING  # the second attempt's, still running


def test_a_delivery_held_back_by_its_lane_is_not_ready_so_an_idle_worker_claims_nothing():
    group = Group.objects.create(name="Lane")
    group.name = "Lane, renamed"
    group.save()
    first, second = Delivery.objects.filter(receiver="events_tests.group_saved").order_by("pk")
    Delivery.objects.filter(pk=first.pk).state_write(
        status=Status.RETRYING, run_after=timezone.now() + timedelta(hours=1)
    )  # waiting out a backoff: the lane waits with it

    assert not deliveries_ready(timezone.now()).filter(pk=second.pk).exists()


def test_an_observer_of_attempts_that_fails_is_logged_and_the_delivery_runs(caplog):
    from carsales.events.signals import delivery_attempt_started

    def broken(**kwargs):
        raise RuntimeError("observer bug")

    delivery_attempt_started.connect(broken, dispatch_uid="tests.broken_observer", weak=False)
    try:
        backlog(1)
        claimed = deliveries_claim(worker="w1", limit=1)
        assert deliveries_run_claimed(claimed, worker="w1") == ["done"]
    finally:
        delivery_attempt_started.disconnect(dispatch_uid="tests.broken_observer")

    assert "observer bug" in caplog.text
    assert len(ran("bench")) == 1
