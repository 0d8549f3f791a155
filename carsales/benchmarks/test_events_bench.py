"""Commit -> effect latency and throughput of durable receivers with 1, 2 and 4 worker processes.

Run with `make bench` (SQLite), and with DATABASE_URL set for PostgreSQL. Latency: events sent
one at a time, 25 ms apart, each in its own transaction, on an idle queue; measured from the
commit returning to the receiver being called (both clocks on this machine). Throughput: a
backlog committed at once, until its last receiver call.
"""

import statistics
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from carsales.events.models import Delivery
from carsales.events.tests.processes import Workers, wait_until
from carsales.events.tests.receivers import bench_thing

pytestmark = [pytest.mark.benchmark, pytest.mark.django_db(transaction=True)]
LATENCY_EVENTS = 100
BACKLOG = 400
# An effect that waits on the network, like an email handed to an SMTP server.
IO_BACKLOG = 200
IO_WAIT = 0.02


def effects(pool: Workers) -> dict[str, float]:
    """token -> when the receiver ran."""
    return {line.split()[2]: float(line.split()[3]) for line in pool.effect_lines("bench")}


def drain(pool: Workers, *, prefix: str, count: int, wait: float, done_before: int) -> float:
    """Commit `count` events at once; return deliveries per second until the last effect."""
    with transaction.atomic():
        for n in range(count):
            bench_thing.send(sender=None, token=f"{prefix}{n}", wait=wait)
    started = time.time()
    wait_until(lambda: len(effects(pool)) >= done_before + count, timeout=300)
    finished = max(at for token, at in effects(pool).items() if token.startswith(prefix))
    return count / (finished - started)


def measure(workers: int) -> tuple[float, float, float, float]:
    pool = Workers(Path(tempfile.mkdtemp(prefix="events-bench-")))
    try:
        for _ in range(workers):
            pool.start()
        committed = {}
        for n in range(LATENCY_EVENTS):
            with transaction.atomic():
                bench_thing.send(sender=None, token=f"l{n}")
            committed[f"l{n}"] = time.time()
            time.sleep(0.025)
        wait_until(lambda: len(effects(pool)) >= LATENCY_EVENTS, timeout=60)
        ran = effects(pool)
        latencies = sorted((ran[token] - at) * 1000 for token, at in committed.items())

        rate = drain(pool, prefix="t", count=BACKLOG, wait=0, done_before=LATENCY_EVENTS)
        io_rate = drain(pool, prefix="io", count=IO_BACKLOG, wait=IO_WAIT, done_before=LATENCY_EVENTS + BACKLOG)
    finally:
        pool.stop_all()
        Delivery.objects.all().delete()
        DBTaskResult.objects.all().delete()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return statistics.median(latencies), p99, rate, io_rate


def test_commit_to_effect_latency_and_throughput_by_worker_count():
    for workers in (1, 2, 4):
        p50, p99, rate, io_rate = measure(workers)
        print(
            f"\n[{connection.vendor}] {workers} worker(s): commit->effect p50 {p50:.0f} ms, p99 {p99:.0f} ms; "
            f"backlog of {BACKLOG}: {rate:.0f} deliveries/s; "
            f"backlog of {IO_BACKLOG} waiting {IO_WAIT * 1000:.0f} ms each: {io_rate:.0f} deliveries/s"
        )
