"""The events_worker as a process: it wakes fast, survives SIGKILL by lease, stops on SIGTERM."""

import signal
import time

import pytest
from django.utils import timezone

from carsales.events.models import Delivery

from .conftest import delivery_of
from .processes import wait_until
from .receivers import later_thing, thing_happened

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def status_of(receiver: str) -> str:
    return delivery_of(receiver).status


def test_a_worker_runs_a_committed_delivery(workers):
    workers.start()  # no --queue-name: every queue, its receivers' own ("tally") as the default one

    thing_happened.send(sender=None, mode="ok")

    wait_until(lambda: status_of("effect") == status_of("tally") == Delivery.Status.DONE)
    assert len(workers.effect_lines("effect")) == 1


def test_a_delivery_whose_worker_was_killed_is_done_once_after_its_lease_expires(workers):
    thing_happened.send(sender=None, mode="slow", seconds=60)
    doomed = workers.start()
    wait_until(lambda: status_of("effect") == Delivery.Status.RUNNING)

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    assert status_of("effect") == Delivery.Status.RUNNING  # nobody finished it
    # Time passes beyond the lease (TIMEOUT + LEASE_GRACE): moved here instead of waited for.
    Delivery.objects.filter(receiver="events_tests.effect").state_write(lease_until=timezone.now())
    workers.start()

    wait_until(lambda: status_of("effect") == Delivery.Status.DONE)
    delivery = delivery_of("effect")
    assert delivery.attempts == 2 and "Lease expired" in delivery.last_error
    assert len(workers.effect_lines("effect")) == 1


def test_sigterm_stops_a_busy_worker_within_seconds_and_releases_its_delivery(workers):
    thing_happened.send(sender=None, mode="slow", seconds=60)
    worker = workers.start()
    wait_until(lambda: status_of("effect") == Delivery.Status.RUNNING)

    stopped_at = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=10)

    assert time.monotonic() - stopped_at < 3
    delivery = delivery_of("effect")
    assert delivery.status == Delivery.Status.RETRYING and delivery.attempts == 0  # released, not counted
    assert delivery.run_after <= timezone.now() and delivery.lease_until is None
    assert workers.effect_lines("effect") == []


@pytest.mark.parametrize("args", [(), ("--housekeeping-only",)], ids=["delivering", "housekeeping-only"])
def test_sigterm_stops_an_idle_worker_within_seconds(workers, args):
    # Idle, the worker waits for a NOTIFY (PostgreSQL), a poll or its next sweep: seconds the signal must cut short.
    worker = workers.start("--sweep-interval", "30", *args)
    time.sleep(1)

    stopped_at = time.monotonic()
    worker.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=10) == 0
    assert time.monotonic() - stopped_at < 3
    assert "stopped" in workers.output(worker)


def test_a_deferred_delivery_runs_on_time_though_the_worker_polls_only_every_ten_seconds(workers):
    workers.start(env={"EVENTS_EXECUTOR": "database"})  # LISTEN_TIMEOUT 10 s on PostgreSQL, a 50 ms poll on SQLite
    time.sleep(0.5)  # the worker idle, waiting
    due = timezone.now() + timezone.timedelta(seconds=2)

    later_thing.send(sender=None, due=due)

    wait_until(lambda: workers.effect_lines("later"), timeout=15)
    ran_at = float(workers.effect_lines("later")[0].split()[3])
    lateness = ran_at - due.timestamp()
    assert 0 <= lateness < 0.5
    print(f"\ndeferred delivery ran {lateness * 1000:.0f} ms after its time")
