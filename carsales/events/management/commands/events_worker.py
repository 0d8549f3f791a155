"""The worker of durable events: batched claims, fast wake-up, lease sweeps, prompt stop.

With the database transport (the default) it claims due deliveries straight from their table,
BATCH at a time (SKIP LOCKED on PostgreSQL), runs them and records their successes together;
it also runs any django-tasks-db task on its queues (django-tasks-db's Worker, same claim, same
run_task). Besides:
- wake-up by LISTEN/NOTIFY on PostgreSQL (a transaction that writes deliveries NOTIFYs on
  commit, deferred ones too), sleeping until the next deferred delivery or job is due, so retries
  and deadlines run on time, and polling every LISTEN_TIMEOUT at the longest; a POLL_INTERVAL
  poll elsewhere;
- read-only checks before claiming, so an idle worker takes no write lock (SQLite);
- the sweep (deliveries_sweep) every SWEEP_INTERVAL seconds;
- `--housekeeping-only` (the default when EVENTS["TASK_BACKEND"] is not a django-tasks-db
  backend, as with RQ): only the sweep and the HOUSEKEEPING callables, beside the Celery or RQ
  workers that run deliveries;
- SIGTERM / SIGINT: stop taking jobs; a sync receiver running in it is interrupted
  (WorkerStopping) and its delivery released to run again at once, with the rest of its batch;
  otherwise the current bookkeeping finishes (milliseconds) and the worker exits. An async receiver runs to its end
  or its timeout. A second signal exits at once; the lease covers whatever was running.
"""

import contextlib
import logging
import math
import signal
import sys
import time
from argparse import ArgumentParser, ArgumentTypeError
from types import FrameType
from typing import Any

from django.core.management.base import CommandError
from django.db import DatabaseError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Min
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand
from django_tasks_db.management.commands.db_worker import (
    Worker,
    valid_backend_name,
    valid_interval,
    validate_worker_id,
)
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from ...conf import setting
from ...execution import WorkerStopping, in_receiver
from ...models import Delivery
from ...services import (
    deliveries_claim,
    deliveries_next_due,
    deliveries_ready,
    deliveries_run_claimed,
    deliveries_sweep,
    housekeeping_run,
)
from ...transports import transport

logger = logging.getLogger(__name__)


class _WaitInterrupted(Exception):
    """Raised by the signal handler to end an idle wait at once: Python resumes an interrupted
    sleep or select (PEP 475) unless the handler raises."""


# Deliveries claimed at once: enough to spread a claim's round trips, few enough that a batch's
# leases (one receiver timeout each, renewed if a batch runs long) rarely need renewing.
BATCH = 50


class EventsWorker(Worker):
    def __init__(self, *, listen: bool, sweep_interval: float, housekeeping_only: bool, **kwargs: Any) -> None:
        super().__init__(batch=False, startup_delay=False, max_tasks=None, **kwargs)
        self.listen = listen and not housekeeping_only
        self.sweep_interval = sweep_interval
        self.housekeeping_only = housekeeping_only
        # The database transport's deliveries are rows for this worker to claim; another
        # transport's are run by its own workers (this one may still run django-tasks-db tasks).
        self.claims_deliveries = transport().transactional and not housekeeping_only
        self.listener: BaseDatabaseWrapper | None = None
        self.waiting = False

    def shutdown(self, signum: int, frame: FrameType | None) -> None:
        if not self.running:
            logger.warning("Received %s again: exiting now", signal.strsignal(signum))
            self.reset_signals()
            sys.exit(1)
        logger.warning("Received %s: stopping", signal.strsignal(signum))
        self.running = False
        if in_receiver():
            raise WorkerStopping(f"worker received {signal.strsignal(signum)}")
        if self.waiting:
            raise _WaitInterrupted

    def run(self) -> None:
        if self.housekeeping_only:
            logger.info("events worker %s started: housekeeping only, every %ss", self.worker_id, self.sweep_interval)
        else:
            logger.info("events worker %s started on queues %s", self.worker_id, ",".join(self.queue_names))
        self.listener = self._listen() if self.listen else None
        next_sweep = 0.0
        try:
            while self.running:
                try:
                    if time.monotonic() >= next_sweep:
                        deliveries_sweep()
                        housekeeping_run()
                        next_sweep = time.monotonic() + self.sweep_interval
                    worked = False if self.housekeeping_only else self._work()
                except DatabaseError:
                    # The database went away (restart, failover): reconnect on the next round.
                    logger.exception("events worker %s: database error, retrying", self.worker_id)
                    self._drop_broken_connections()
                    time.sleep(1)
                    continue
                if not worked and self.running:
                    self._wait(until=next_sweep)
        finally:
            if self.listener is not None:
                self.listener.close()
        logger.info("events worker %s stopped", self.worker_id)

    def _work(self) -> bool:
        """Run a batch of deliveries, else one django-tasks-db task; False when there was none."""
        if self.claims_deliveries:
            claimed = self._claim_deliveries()
            if claimed:
                # Stopped mid-receiver: its delivery handed back with the rest of the batch; the loop ends.
                with contextlib.suppress(WorkerStopping):
                    deliveries_run_claimed(claimed, worker=self.worker_id, stopping=lambda: not self.running)
                self._drop_broken_connections()
                return True
        task_result = self._claim_next()
        if task_result is None:
            return False
        self.run_task(task_result)
        self._drop_broken_connections()
        return True

    def _drop_broken_connections(self) -> None:
        # Unlike after a request, healthy connections are kept whatever CONN_MAX_AGE says: a
        # reconnect per job would cost more than most jobs (measured on PostgreSQL: 48 -> 110 jobs/s).
        for connection in connections.all(initialized_only=True):
            if connection.errors_occurred and not connection.is_usable():
                connection.close()

    @property
    def _queues(self) -> dict[str, Any]:
        """The queues this worker serves, as the services take them."""
        return {
            "queues": None if self.process_all_queues else self.queue_names,
            "excluded_queues": self.excluded_queue_names,
        }

    def _claim_deliveries(self) -> list[Delivery]:
        # Read-only first: an idle worker takes no write lock (SQLite).
        if not deliveries_ready(timezone.now(), **self._queues).exists():
            return []
        try:
            return deliveries_claim(worker=self.worker_id, limit=BATCH, **self._queues)
        except OperationalError as error:
            if not is_locked_database_exception(error):
                raise
            return []

    def _claim_next(self) -> DBTaskResult | None:
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        if not tasks.exists():  # read-only: an idle worker takes no write lock
            return None
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()  # SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL
                if task_result is not None:
                    task_result.claim(self.worker_id)
            except OperationalError as error:
                if not is_locked_database_exception(error):
                    raise
                return None
        return task_result

    def _seconds_to_next_deferred(self) -> float:
        """Seconds until the earliest deferred delivery or job of this worker's queues is due (inf:
        none), so a retry or a deadline runs on time without polling for it."""
        now = timezone.now()
        dues = []
        if self.claims_deliveries:
            dues.append(deliveries_next_due(now, **self._queues))
        tasks = DBTaskResult.objects.filter(
            backend_name=self.backend_name, status=TaskResultStatus.READY, run_after__gt=now
        )
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        dues.append(tasks.aggregate(due=Min("run_after"))["due"])
        due = min((when for when in dues if when is not None), default=None)
        return (due - timezone.now()).total_seconds() if due else math.inf

    def _listen(self) -> BaseDatabaseWrapper | None:
        alias = DBTaskResult.objects.all().db
        if connections[alias].vendor != "postgresql":
            return None
        listener = connections.create_connection(alias)  # its own connection, in autocommit
        try:
            listener.ensure_connection()
            listener.connection.execute(f"LISTEN {setting('NOTIFY_CHANNEL')}")
        except DatabaseError:
            logger.warning("events worker %s: LISTEN failed, polling instead", self.worker_id, exc_info=True)
            listener.close()
            return None
        return listener

    def _wait(self, *, until: float) -> None:
        """Sleep until there may be work: a NOTIFY, the next deferred job's time, or the next sweep
        (`until`, a monotonic time), whichever comes first; LISTEN_TIMEOUT at the longest. A stop
        signal ends the wait at once."""
        if self.housekeeping_only:
            timeout = max(0.0, until - time.monotonic())
        elif self.listener is None:
            timeout = self.interval
        else:
            timeout = min(
                setting("LISTEN_TIMEOUT"), max(0.0, until - time.monotonic()), self._seconds_to_next_deferred()
            )
        self.waiting = True
        try:
            if not self.running:  # a signal arrived before the wait began
                return
            if self.listener is None:
                time.sleep(timeout)
            else:
                self._wait_for_notify(self.listener, timeout)
        except _WaitInterrupted:
            pass
        finally:
            self.waiting = False

    def _wait_for_notify(self, listener: BaseDatabaseWrapper, timeout: float) -> None:
        try:
            for _notify in listener.connection.notifies(timeout=timeout, stop_after=1):
                pass
        except _WaitInterrupted:
            raise
        except Exception:  # psycopg's own errors: the listening connection broke
            logger.warning("events worker %s: LISTEN connection lost, polling instead", self.worker_id, exc_info=True)
            listener.close()
            self.listener = None


class Command(DBWorkerCommand):
    help = "Run a background worker for durable events (and any other django-tasks-db task on its queues)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queue-name",
            # All by default: a worker started bare must send the emails (queue "email") too.
            default="*",
            help="Queues to process, comma-separated; '*' for all (default: %(default)r).",
        )
        parser.add_argument("--exclude-queues", default="", help="With --queue-name='*': queues to leave out.")
        parser.add_argument(
            "--interval",
            type=valid_interval,
            default=setting("POLL_INTERVAL"),
            help="Seconds between polls when LISTEN/NOTIFY is unavailable (default: %(default)r).",
        )
        parser.add_argument(
            "--no-listen",
            action="store_false",
            dest="listen",
            help="Poll even on PostgreSQL instead of waiting for NOTIFY.",
        )
        parser.add_argument(
            "--sweep-interval",
            type=valid_interval,
            default=setting("SWEEP_INTERVAL"),
            help="Seconds between sweeps for expired leases and lost jobs (default: %(default)r).",
        )
        parser.add_argument(
            "--housekeeping-only",
            action="store_true",
            help="Run no deliveries, only the sweep and housekeeping, beside Celery or RQ workers (the default "
            "when EVENTS['TASK_BACKEND'] is not a django-tasks-db backend).",
        )
        parser.add_argument(
            "--backend",
            dest="backend_name",
            default=None,
            help="The django-tasks-db backend to work for (default: EVENTS['TASK_BACKEND']).",
        )
        parser.add_argument(
            "--worker-id",
            type=validate_worker_id,
            default=get_random_string(32),
            help="Unique across the pool (default: random).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.configure_logging(options["verbosity"])
        logger.setLevel(logging.getLogger("django_tasks_db").level)
        if not logger.hasHandlers():
            logger.addHandler(logging.StreamHandler(self.stdout))
        backend_name = options["backend_name"] or setting("TASK_BACKEND")
        housekeeping_only = options["housekeeping_only"]
        try:
            valid_backend_name(backend_name)
        except ArgumentTypeError as error:
            if options["backend_name"] and not housekeeping_only:
                raise CommandError(f"--backend: {error}") from None
            # Deliveries go to a broker's workers (Celery, RQ): this one keeps the sweep.
            housekeeping_only = True
        queue_names = options["queue_name"].split(",")
        excluded = [name for name in options["exclude_queues"].split(",") if name]
        worker = EventsWorker(
            queue_names=queue_names,
            excluded_queue_names=excluded,
            interval=options["interval"],
            backend_name=backend_name,
            worker_id=options["worker_id"],
            listen=options["listen"],
            sweep_interval=options["sweep_interval"],
            housekeeping_only=housekeeping_only,
        )
        worker.configure_signals()
        worker.run()
