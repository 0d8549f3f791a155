"""Order emails sent by real worker processes through an SMTP server double on loopback: a hung
server costs one attempt of EMAIL_TIMEOUT and a retry, not the queue; SIGTERM frees a worker
stuck on it; two workers racing over duplicate jobs for one email send it once."""

import signal
import time

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from carsales.conftest import CarFactory, UserFactory, order_for
from carsales.events.models import Delivery, EffectRecord
from carsales.events.tasks import deliver
from carsales.events.tests.processes import wait_until
from carsales.events.tests.receivers import thing_happened
from carsales.notifications.services import OrderEmail, message_id, order_email_key

from .smtp import SMTPDouble

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CONFIRM = "notifications.confirm_placed_order"
WORKER_SETTINGS = "carsales.settings.test_worker"


def placed_order():
    return order_for(CarFactory(value=100), user=UserFactory())


def confirmation_of(order) -> Delivery:
    return Delivery.objects.get(
        receiver=CONFIRM, lane=f"notifications.order|orders.order:{order.pk}"
    )  # the order's lane


def status_of(receiver: str) -> str:
    return Delivery.objects.get(receiver=receiver).status


def test_a_hung_smtp_server_times_each_email_out_into_a_retry_while_the_rest_of_the_queue_keeps_flowing(workers):
    with SMTPDouble(silent=True) as smtp:
        # A long backoff keeps the retries out of the test: each email is attempted once here.
        workers.start(env={**smtp.env(timeout=0.5), "EVENTS_BACKOFF_BASE": "600"}, settings=WORKER_SETTINGS)
        started = time.monotonic()
        first, second = placed_order(), placed_order()
        thing_happened.send(sender=None, mode="ok")  # other queues' deliveries, after the emails

        wait_until(lambda: status_of("events_tests.effect") == status_of("events_tests.tally") == Delivery.Status.DONE)
        wait_until(lambda: {confirmation_of(o).status for o in (first, second)} == {Delivery.Status.RETRYING})
        elapsed = time.monotonic() - started

    for order in (first, second):
        delivery = confirmation_of(order)
        assert delivery.attempts == 1 and delivery.lease_until is None
        assert "TimeoutError" in delivery.last_error
        assert delivery.run_after > timezone.now()  # owed, later
        effect = EffectRecord.objects.get(key=order_email_key(email=OrderEmail.PLACED, order_id=order.pk))
        assert effect.done_at is None and effect.claimed_until is None  # not sent, and free for the retry
    assert len(smtp.connections) == 2  # each email reached the server once
    assert elapsed < 10  # two timeouts of 0.5 s, not the worker's 30 s receiver limit
    print(f"\nhung SMTP server, two emails timed out and the other queues ran: {elapsed:.1f}s")


def test_sigterm_stops_a_worker_blocked_on_a_hung_smtp_server_within_seconds_and_the_email_stays_owed(workers):
    with SMTPDouble(silent=True) as smtp:
        worker = workers.start(env=smtp.env(timeout=60), settings=WORKER_SETTINGS)
        order = placed_order()
        wait_until(lambda: smtp.connections and confirmation_of(order).status == Delivery.Status.RUNNING)

        stopped_at = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=10)
        stopping = time.monotonic() - stopped_at

    assert stopping < 3
    delivery = confirmation_of(order)
    assert delivery.status == Delivery.Status.RETRYING and delivery.attempts == 0  # handed back, not counted
    assert delivery.run_after <= timezone.now() and delivery.lease_until is None
    effect = EffectRecord.objects.get(key=order_email_key(email=OrderEmail.PLACED, order_id=order.pk))
    assert effect.done_at is None and effect.claimed_until is None
    print(f"\nSIGTERM to a worker blocked on SMTP: exited in {stopping:.2f}s")


def test_two_workers_racing_over_duplicate_jobs_for_one_email_send_it_once(workers):
    with SMTPDouble(delay=1.0) as smtp:  # a slow server: the first send is still going when the others arrive
        for _ in range(2):
            workers.start(env=smtp.env(timeout=10), settings=WORKER_SETTINGS)
        with transaction.atomic():
            order = placed_order()
            delivery = confirmation_of(order)
            for _ in range(3):  # as a sweep and a requeue might: more wake-ups for the same delivery
                deliver.using(queue_name="email").enqueue(delivery.pk)
        jobs = DBTaskResult.objects.filter(task_path=deliver.module_path, args_kwargs__args=[delivery.pk])

        wait_until(lambda: jobs.filter(status="SUCCESSFUL").count() == 3 and smtp.messages)
        wait_until(lambda: Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.DONE)

    (email,) = smtp.messages
    assert email["Message-ID"] == message_id(order_email_key(email=OrderEmail.PLACED, order_id=order.pk))
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE and delivery.attempts == 1
    # The workers claim the row itself too: at most one wake-up ran it, the others found it taken.
    assert sorted(jobs.values_list("return_value", flat=True)) in (["done", "skipped", "skipped"], ["skipped"] * 3)
