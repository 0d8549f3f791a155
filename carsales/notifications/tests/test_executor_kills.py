"""The same proof under fire on each executor (the database, Celery on RabbitMQ, RQ on Redis), on
PostgreSQL: 300 orders placed, paid or cancelled, a tenth of the checkouts rolled back, while
three workers are SIGKILLed at random every 1-3 s and restarted. Counted at an SMTP server on
loopback by Message-ID: every committed email arrives, none for rolled-back work, no email has
two Message-IDs, and no delivery is left leased or dead."""

import random
import shutil
import subprocess
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django.db.models import F, Sum

from carsales.conftest import CarFactory, UserFactory, order_for
from carsales.events.models import Delivery, EffectRecord
from carsales.events.tests.executors import EXECUTORS, Executor, absent
from carsales.events.tests.processes import wait_until
from carsales.notifications.services import OrderEmail, message_id, order_email_key
from carsales.orders.models import Order, OrderStatus
from carsales.orders.services import order_cancel, order_mark_paid

from .smtp import SMTPDouble

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ORDERS = 300
WORKERS = 3
MIN_KILLS = 10
WORKER_SETTINGS = "carsales.settings.test_worker"


@pytest.mark.parametrize("executor", EXECUTORS, indirect=True)
def test_300_orders_paid_cancelled_and_rolled_back_while_three_workers_are_killed_get_each_email_once(
    executor: Executor, workers, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("the executors' kill test runs on PostgreSQL (test_kills.py kills database workers on SQLite)")
    settings.CARSALES_MAX_CARS_HELD = 1000  # ten buyers place thirty orders each: not a hoarding test
    with SMTPDouble() as smtp:
        # A short lease, so the attempts the kills interrupt are taken up again within seconds.
        env = {
            **executor.env,
            **smtp.env(timeout=5),
            "EVENTS_TIMEOUT": "3",
            "EVENTS_LEASE_GRACE": "2",
            # A job or message lost with its worker is published again after this long.
            "EVENTS_HANDOFF_TIMEOUT": "15",
        }

        def start(*args: str, wait: bool = False):
            if executor.worker == "events":
                args = ("--sweep-interval", "0.5", *args)
            return workers.start(*args, executor=executor.worker, env=env, wait=wait, settings=WORKER_SETTINGS)

        if executor.worker != "events":  # beside broker workers: the sweep that relays lost hand-offs
            workers.start("--housekeeping-only", "--sweep-interval", "0.5", env=env, settings=WORKER_SETTINGS)
        buyers = UserFactory.create_batch(10)
        staff = UserFactory(is_staff=True, is_superuser=True)
        cars = CarFactory.create_batch(ORDERS, value=100)
        chance = random.Random(ORDERS)  # the kill schedule's randomness; the timing is the OS's
        alive = [start(wait=True) for _ in range(WORKERS)]
        began = time.monotonic()
        next_kill = began + chance.uniform(1, 3)
        kills = placed = 0
        while placed < ORDERS or kills < MIN_KILLS:  # bounded: each pass places an order or waits for a kill
            if placed < ORDERS:
                place(cars[placed], buyers[placed % 10], staff, number=placed)
                placed += 1
            else:
                time.sleep(max(0.0, next_kill - time.monotonic()))  # all placed; the kills go on to MIN_KILLS
            if time.monotonic() >= next_kill:
                workers.kill(alive.pop(chance.randrange(WORKERS)))
                alive.append(start())
                kills += 1
                next_kill = time.monotonic() + chance.uniform(1, 3)
        placing = time.monotonic() - began
        for doomed in alive:  # the last kills: whatever they were running is left to the lease
            workers.kill(doomed)
        kills += len(alive)

        start(wait=True)
        emails = Delivery.objects.filter(queue="email")
        wait_until(lambda: not emails.exclude(status=Delivery.Status.DONE).exists(), timeout=180)
        total = time.monotonic() - began
        written = Counter(email["Message-ID"] for email in smtp.messages)

    expected = set()
    for pk, status in Order.objects.values_list("pk", "status"):
        expected.add(message_id(order_email_key(email=OrderEmail.PLACED, order_id=pk)))
        if status == OrderStatus.PAID:
            expected.add(message_id(order_email_key(email=OrderEmail.PAID, order_id=pk)))
        elif status == OrderStatus.CANCELLED:
            expected.add(message_id(order_email_key(email=OrderEmail.CANCELLED, order_id=pk)))
    assert Order.objects.count() == ORDERS - ORDERS // 10
    # Every committed email arrived; none for a rolled-back checkout; one Message-ID per email.
    assert set(written) == expected
    # At least once: an email arrives twice, under its one Message-ID, only when a worker was
    # killed after the SMTP server took it and before `done` was recorded (a second attempt).
    repeated = {key for key, count in written.items() if count > 1}
    tried_twice = {message_id(key) for key in EffectRecord.objects.filter(attempts__gt=1).values_list("key", flat=True)}
    assert repeated <= tried_twice
    assert not Delivery.objects.filter(status__in=[Delivery.Status.RUNNING, Delivery.Status.DEAD]).exists()
    assert not Delivery.objects.filter(lease_until__isnull=False).exists()

    retries = emails.aggregate(retries=Sum(F("attempts") - 1))["retries"]
    expired = emails.filter(last_error__contains="Lease expired").count()
    print(
        f"\n{executor.name}: {ORDERS} checkouts ({ORDERS // 10} rolled back), {len(expected)} emails, {kills} SIGKILLs "
        f"over {placing:.0f}s of placing, drained at {total:.0f}s: 0 lost, {len(repeated)} repeated under their "
        f"Message-ID, {retries} retries ({expired} after an expired lease)"
    )


def place(car, buyer, staff, *, number: int) -> None:
    """Checkout number `number`: every tenth rolled back; of the others a third paid, a third cancelled."""
    if number % 10 == 9:
        try:
            with transaction.atomic():
                order_for(car, user=buyer)
                raise RuntimeError("the checkout rolls back")
        except RuntimeError:
            return
    order = order_for(car, user=buyer)
    if number % 3 == 1:
        order_mark_paid(order=order, actor=staff)
    elif number % 3 == 2:
        order_cancel(order=order, actor=staff)


RESTART = {
    # The broker application restarts; its durable queues and persistent messages survive.
    "celery": [["rabbitmqctl", "-q", "stop_app"], ["rabbitmqctl", "-q", "start_app"]],
    # Redis as this machine runs it, keeping nothing on disk: every queued job is lost.
    "rq": [
        ["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"],
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    ],
}
RESTART_ORDERS = 60
ORDERS_WHILE_DOWN = 5


@pytest.mark.parametrize("executor", ["celery", "rq"], indirect=True)
def test_a_broker_restarted_mid_run_loses_no_email(executor: Executor, workers, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the executors' broker restart runs on PostgreSQL")
    for command in RESTART[executor.name]:
        if not shutil.which(command[0]):
            absent(f"{command[0]} is not on this machine: the broker cannot be restarted by the test")
    settings.CARSALES_MAX_CARS_HELD = 1000
    with SMTPDouble() as smtp:
        # A message lost with the broker is published again after 10 s.
        env = {
            **executor.env,
            **smtp.env(timeout=5),
            "EVENTS_TIMEOUT": "3",
            "EVENTS_LEASE_GRACE": "2",
            "EVENTS_HANDOFF_TIMEOUT": "10",
        }
        workers.start("--housekeeping-only", "--sweep-interval", "0.5", env=env, settings=WORKER_SETTINGS)
        pool = [workers.start(executor=executor.worker, env=env, settings=WORKER_SETTINGS) for _ in range(2)]
        buyers = UserFactory.create_batch(10)
        cars = CarFactory.create_batch(RESTART_ORDERS, value=100)
        stop, start = RESTART[executor.name]
        began = time.monotonic()
        down = range(RESTART_ORDERS // 3, RESTART_ORDERS // 3 + ORDERS_WHILE_DOWN)
        broker_down = False
        try:
            for number, car in enumerate(cars):
                if number == down.start:
                    broker_down = True
                    subprocess.run(stop, check=True, capture_output=True, timeout=60)
                    restarted_at = time.monotonic()
                elif number == down.stop:
                    subprocess.run(start, check=True, capture_output=True, timeout=60)
                    broker_down = False
                # While the broker is down the checkout still commits; its publish fails, logged.
                order_for(car, user=buyers[number % 10])
                time.sleep(0.1)
        finally:
            if broker_down:  # never leave the machine's broker down
                subprocess.run(start, capture_output=True, timeout=60)

        def drained() -> bool:
            for process in list(pool):  # as a supervisor would: a worker the restart made exit is started again
                if process.poll() is not None:
                    pool.remove(process)
                    pool.append(workers.start(executor=executor.worker, env=env, settings=WORKER_SETTINGS, wait=False))
            return not Delivery.objects.filter(queue="email").exclude(status=Delivery.Status.DONE).exists()

        wait_until(drained, timeout=120)
        written = Counter(email["Message-ID"] for email in smtp.messages)
        total = time.monotonic() - began

    expected = {
        message_id(order_email_key(email=OrderEmail.PLACED, order_id=pk))
        for pk in Order.objects.values_list("pk", flat=True)
    }
    assert len(expected) == RESTART_ORDERS
    assert set(written) == expected
    assert not Delivery.objects.filter(status__in=[Delivery.Status.RUNNING, Delivery.Status.DEAD]).exists()
    print(
        f"\n{executor.name}: broker down at {restarted_at - began:.0f}s for {ORDERS_WHILE_DOWN} of {RESTART_ORDERS} "
        "orders: "
        f"{len(expected)} emails, 0 lost, {sum(written.values()) - len(written)} repeated under their Message-ID, "
        f"drained at {total:.0f}s"
    )
