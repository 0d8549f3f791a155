"""Each executor with real workers on a real broker: the delivery reaches the broker only after the
sender commits (never for a rollback), runs once on the executor's own worker, and a hand-off
that was lost (the broker down at the commit) is published again by the sweep."""

import logging

import pytest
from django.db import connection, transaction
from django.utils import timezone

from carsales.events.models import Delivery
from carsales.events.services import deliveries_sweep
from carsales.events.transports import transport

from .conftest import delivery_of
from .executors import EXECUTORS, Executor
from .processes import wait_until
from .receivers import connection_thing, thing_happened

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
brokers = pytest.mark.parametrize("executor", ["celery", "rq"], indirect=True)


@pytest.mark.parametrize("executor", EXECUTORS, indirect=True)
def test_a_committed_delivery_runs_once_on_the_executors_own_worker(executor: Executor, workers):
    workers.start(executor=executor.worker, env=executor.env)

    thing_happened.send(sender=None, mode="ok")

    wait_until(lambda: delivery_of("effect").status == delivery_of("tally").status == Delivery.Status.DONE)
    assert len(workers.effect_lines("effect")) == len(workers.effect_lines("tally")) == 1
    # Run by the executor's own worker: the Celery task names itself; the others run `deliver`.
    assert delivery_of("effect").worker.startswith("celery:") == (executor.name == "celery")


@pytest.mark.parametrize("executor", EXECUTORS, indirect=True)
def test_a_worker_keeps_its_database_connection_from_one_delivery_to_the_next_and_replaces_a_broken_one(
    executor: Executor, workers
):
    """Celery's Django fixup closed every connection around each task: one PostgreSQL connection
    made per delivery, a third of its time (make bench: commit -> email p50 231 ms at 50 orders a
    second, one worker falling behind). A worker reuses its connection as a web process does,
    and a broken one (the database restarted) costs no delivery."""
    workers.start(executor=executor.worker, env=executor.env)

    def delivered(token: str) -> tuple[int, int]:
        """Send one delivery and wait for it: (connections its process had opened, its database backend)."""
        connection_thing.send(sender=None, token=token)
        wait_until(lambda: Delivery.objects.filter(receiver="events_tests.connection", status="done").count() == n)
        opened, backend = workers.effect_lines("connection")[-1].split()[2].split("/")
        return int(opened), int(backend)

    n = 1
    first = delivered("first")
    n = 2
    assert delivered("second") == first  # the same connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first[1]])
        n = 3
        opened, backend = delivered("third")
        assert (opened, backend) != first
        assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}  # none failed on the broken one


@brokers
def test_nothing_reaches_the_broker_before_the_commit_nor_for_a_rollback(executor: Executor):
    with pytest.raises(RuntimeError), transaction.atomic():
        thing_happened.send(sender=None, mode="ok")
        assert Delivery.objects.count() == 2
        assert executor.queued("default") == executor.queued("tally") == 0  # written, not yet published
        raise RuntimeError("the sender rolls back")
    assert executor.queued("default") == executor.queued("tally") == 0
    assert not Delivery.objects.exists()

    with transaction.atomic():
        thing_happened.send(sender=None, mode="ok")
        assert executor.queued("default") == 0
    assert executor.queued("default") == executor.queued("tally") == 1


@brokers
def test_a_hand_off_lost_at_the_commit_is_published_again_by_the_sweep(
    executor: Executor, monkeypatch, caplog, settings
):
    settings.EVENTS = {**settings.EVENTS, "PUBLISH_GRACE": 60}

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(type(transport()), "publish", broker_down)
    with caplog.at_level(logging.ERROR, logger="django.db.backends.base"):
        thing_happened.send(sender=None, mode="ok")  # the sender commits all the same
    assert Delivery.objects.count() == 2 and executor.queued("default") == 0
    assert "broker down" in caplog.text
    monkeypatch.undo()

    assert Delivery.objects.filter(kicked_at__isnull=True).count() == 2  # its publish is owed
    assert deliveries_sweep() == 0  # within PUBLISH_GRACE the publish is not presumed lost
    Delivery.objects.state_write(run_after=timezone.now() - timezone.timedelta(seconds=61))
    assert deliveries_sweep() == 2

    assert executor.queued("default") == executor.queued("tally") == 1
    assert not Delivery.objects.filter(kicked_at__isnull=True).exists()  # published, and recorded so
    assert deliveries_sweep() == 0


@brokers
def test_a_message_the_broker_lost_is_published_again_once_the_hand_off_timed_out(executor: Executor):
    thing_happened.send(sender=None, mode="ok")
    assert executor.queued("default") == 1
    executor.purge()  # the broker restarted without its messages

    assert deliveries_sweep() == 0  # a queue may hold a backlog: a message is not presumed lost early
    an_hour_ago = timezone.now() - timezone.timedelta(hours=1)
    Delivery.objects.state_write(run_after=an_hour_ago, kicked_at=an_hour_ago)
    assert deliveries_sweep() == 2

    assert executor.queued("default") == executor.queued("tally") == 1
    assert deliveries_sweep() == 0


def test_celery_leaves_a_deferral_past_what_a_message_holds_to_the_sweep_when_it_falls_due(settings, monkeypatch):
    from carsales.events.transports import CeleryTransport

    published = []
    monkeypatch.setattr(CeleryTransport, "publish", lambda self, pk, *, queue, due: published.append((pk, due)))
    settings.EVENTS = {**settings.EVENTS, "TRANSPORT": "celery", "CELERY_LONGEST_DEFERRAL": 60}
    now = timezone.now()
    with transaction.atomic():
        soon = Delivery.objects.create(receiver="r", queue="default", payload={}, max_attempts=1)
        soon.run_after = now + timezone.timedelta(seconds=30)
        later = Delivery.objects.create(receiver="r", queue="default", payload={}, max_attempts=1)
        later.run_after = now + timezone.timedelta(hours=48)
        for delivery in (soon, later):
            delivery.kicked_at = transport().kick_at(delivery.run_after)
            transport().hand_off(delivery)
            delivery.state_save(update_fields=["run_after", "kicked_at"])
    assert published == [(soon.pk, soon.run_after)]  # the message carries the short deferral

    # 48 hours pass, and the grace a publish has
    Delivery.objects.filter(pk=later.pk).state_write(run_after=timezone.now() - timezone.timedelta(seconds=10))
    published.clear()
    deliveries_sweep()
    deliveries_sweep()
    assert published == [(later.pk, None)]


@pytest.mark.parametrize("executor", ["celery"], indirect=True)
def test_a_celery_worker_killed_mid_delivery_has_it_run_once_after_its_lease(executor: Executor, workers, settings):
    env = {**executor.env, "EVENTS_LEASE_GRACE": "1", "EVENTS_TIMEOUT": "5"}
    doomed = workers.start(executor="celery", env=env, settings="carsales.settings.test_worker")
    thing_happened.send(sender=None, mode="slow", seconds=60)
    wait_until(lambda: delivery_of("effect").status == Delivery.Status.RUNNING)

    workers.kill(doomed)
    workers.start(executor="celery", env=env, settings="carsales.settings.test_worker")
    workers.start("--housekeeping-only", "--sweep-interval", "0.2", env=env, settings="carsales.settings.test_worker")

    wait_until(lambda: delivery_of("effect").status == Delivery.Status.DONE, timeout=30)
    delivery = delivery_of("effect")
    assert delivery.attempts == 2 and "Lease expired" in delivery.last_error
    assert len(workers.effect_lines("effect")) == 1


@brokers
def test_the_staff_page_and_its_requeue_work_the_same_on_every_executor(executor: Executor, admin_client):
    thing_happened.send(sender=None, mode="ok")
    Delivery.objects.state_write(status=Delivery.Status.DEAD, attempts=3, last_error="boom")
    executor.purge()

    page = admin_client.get("/staff/events/")
    label = {"celery": "Celery", "rq": "the tasks backend &#x27;rq&#x27;"}[executor.name]
    assert page.status_code == 200 and f"run after it by <code>{label}</code>" in page.text
    assert page.context["stats"].dead == 2

    admin_client.post("/staff/events/requeue/", {"delivery": list(Delivery.objects.values_list("pk", flat=True))})

    assert executor.queued("default") == executor.queued("tally") == 1  # handed to the executor again
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.PENDING}


def test_the_celery_beat_task_sweeps_and_runs_the_housekeeping(settings, monkeypatch):
    from carsales.events import celery_tasks

    calls = []
    monkeypatch.setattr(celery_tasks, "housekeeping_run", lambda: calls.append("housekeeping") or 0)
    thing_happened.send(sender=None, mode="ok")
    Delivery.objects.state_write(
        status=Delivery.Status.RUNNING, attempts=1, lease_until=timezone.now() - timezone.timedelta(seconds=1)
    )

    assert celery_tasks.housekeeping() == 2  # both leases expired: taken up
    assert calls == ["housekeeping"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.RETRYING}
