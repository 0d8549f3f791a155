"""The three executors for tests that run real workers: the database (events_worker), Celery on
RabbitMQ and RQ on Redis, each on brokers of its own for this test run.

A broker that does not answer skips the Celery or RQ tests, saying so; with EVENTS_REQUIRE_BROKERS
set (CI) it fails them instead, so a run that silently tested only the database cannot pass.
Each run gets its own RabbitMQ virtual host (made with rabbitmqctl; without it the Celery tests
are skipped rather than purge a shared one) and a Redis database chosen by its process id (two
runs collide one time in fifteen), so test runs on one machine rarely see each other's messages.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings

EXECUTORS = ("database", "celery", "rq")
RABBITMQ = os.environ.get("EVENTS_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672")
REDIS = os.environ.get("EVENTS_TEST_REDIS", "redis://127.0.0.1:6379")


@dataclass
class Executor:
    name: str
    worker: str  # what Workers.start(executor=...) runs: "events", "celery" or "rq"
    env: dict[str, str] = field(default_factory=dict)  # for worker processes
    events: dict[str, Any] = field(default_factory=dict)  # EVENTS in the test process

    def queued(self, queue: str) -> int:
        """Messages waiting on the broker's `queue` (0 for the database: its jobs are rows)."""
        if self.name == "celery":
            from carsales.celery import app

            with app.connection_for_write() as connection:
                return int(connection.default_channel.queue_declare(queue=queue, passive=True).message_count)
        if self.name == "rq":
            import django_rq

            return int(django_rq.get_queue(queue).count)
        return 0

    def purge(self) -> None:
        if self.name == "celery":
            from carsales.celery import app

            with app.connection_for_write() as connection:
                channel = connection.default_channel
                for queue in settings.DELIVERY_QUEUES:
                    channel.queue_declare(queue=queue, durable=True, auto_delete=False)
                    channel.queue_purge(queue)
        elif self.name == "rq":
            import django_rq

            django_rq.get_connection(settings.DELIVERY_QUEUES[0]).flushdb()  # this run's own database


def absent(reason: str) -> None:
    """Skip the test for want of a broker, or fail it where brokers are required (CI)."""
    if os.environ.get("EVENTS_REQUIRE_BROKERS"):
        pytest.fail(f"{reason}, and EVENTS_REQUIRE_BROKERS is set")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """A virtual host of this run's own on the RabbitMQ server, or "/" without rabbitmqctl."""
    vhost = f"events-test-{os.getpid()}"
    made = bool(shutil.which("rabbitmqctl")) and _rabbitmqctl("add_vhost", vhost)
    made = made and _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"{RABBITMQ}/{vhost}" if made else f"{RABBITMQ}//"
    if made:
        _rabbitmqctl("delete_vhost", vhost)


def _rabbitmqctl(*args: str) -> bool:
    try:
        return subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture
def executor(request: pytest.FixtureRequest, settings: Any, rabbitmq_url: str) -> Executor:
    """The executor named by the test's parameter, its broker reachable and empty, and this test
    process publishing to it (EVENTS, TASKS and broker settings as that executor's site has)."""
    name = request.param
    if name == "database":
        return Executor(name=name, worker="events", env={"EVENTS_EXECUTOR": "database"})
    if name == "celery":
        from kombu import Connection

        try:
            with Connection(rabbitmq_url, connect_timeout=3) as connection:
                connection.ensure_connection(max_retries=1)
        except Exception as error:
            absent(f"RabbitMQ does not answer at {RABBITMQ} ({error}): the Celery executor is not tested")
        if rabbitmq_url.endswith("//"):
            absent("rabbitmqctl is not at hand to give this test run a virtual host of its own")
        from carsales.celery import app

        app.conf.broker_url = rabbitmq_url  # this run's own virtual host, for the whole run
        found = Executor(
            name=name,
            worker="celery",
            env={"EVENTS_EXECUTOR": "celery", "CELERY_BROKER_URL": rabbitmq_url},
            events={**settings.EVENTS, "TRANSPORT": "celery", "CELERY_APP": "carsales.celery.app"},
        )
    else:
        import redis

        url = f"{REDIS}/{1 + os.getpid() % 15}"
        try:
            redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        except Exception as error:
            absent(f"Redis does not answer at {REDIS} ({error}): the RQ executor is not tested")
        settings.RQ_QUEUES = {queue: {"URL": url} for queue in settings.DELIVERY_QUEUES}
        settings.TASKS = {
            **settings.TASKS,
            "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": settings.DELIVERY_QUEUES},
        }
        found = Executor(
            name=name,
            worker="rq",
            env={"EVENTS_EXECUTOR": "rq", "RQ_REDIS_URL": url},
            events={**settings.EVENTS, "TRANSPORT": "tasks", "TASK_BACKEND": "rq"},
        )
    settings.EVENTS = found.events
    found.purge()
    return found
