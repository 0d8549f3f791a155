"""Writing, running, retrying, sweeping, requeuing and pruning deliveries.

States: PENDING -> RUNNING -> DONE, or -> RETRYING -> RUNNING ... -> DEAD. A claim sets RUNNING
with a lease (timeout + LEASE_GRACE); only the claimer, identified by the attempt number it
claimed, may finish the row, so a worker whose lease ran out cannot overwrite its successor.
"""

import functools
import logging
import operator
import random
import traceback
from collections.abc import Callable, Collection
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Exists, F, Min, OuterRef, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.models import DBTaskResult

from .carry import Event, carry, lane_of, sender_label, uncarry
from .conf import setting
from .durable import DurableReceiver, PermanentFailure, RetryLater, registry
from .effects import leased
from .execution import WorkerStopping, call_receiver
from .models import Delivery, EffectRecord
from .signals import deliveries_done, delivery_attempt_finished, delivery_attempt_started
from .transports import transport

logger = logging.getLogger(__name__)

SWEEP_BATCH = 100
# What a delivery job lost with its worker is marked as failing with (django-tasks-db's column).
WORKER_LOST = f"{__package__}.WorkerLost"
Status = Delivery.Status


def delivery_record(
    *,
    receiver: DurableReceiver,
    sender: Any,
    kwargs: dict[str, Any],
    run_after: datetime | None = None,
    subject: str | None = None,
) -> Delivery:
    """Write the delivery of one sent signal to `receiver`, and its job; return the delivery.

    `run_after` (aware) defers the first attempt; None runs it as soon as the sender commits.
    `subject` ("label:pk") is the object whose lane an ordered receiver's delivery joins; None:
    the first model instance among `kwargs`.

    Inside the sender's transaction both commit or roll back with it; inside a DomainSignal's send
    the row is held back and written with the send's others as it ends (deliveries_held), its pk
    set then. In autocommit they are written together in a transaction of their own, right away:
    a later failure of the sender does not undo them. Raises NotCarriable, before writing
    anything, when an argument cannot travel to a worker, and ValueError for a naive `run_after`.
    """
    if run_after is not None and timezone.is_naive(run_after):
        raise ValueError(f"Durable receiver {receiver.uid!r}: not_before returned a naive datetime {run_after}.")
    payload = carry(kwargs, receiver=receiver.uid, fields=receiver.fields)
    label = sender_label(sender)
    run_after = run_after or timezone.now()
    chosen = transport()
    # No savepoint: the delivery and its job are the sender's to commit or lose, whole.
    delivery = Delivery(
        receiver=receiver.uid,
        queue=receiver.queue,
        lane=receiver.lane_for(lane_of(kwargs) if subject is None else subject),
        sender=label,
        payload=payload,
        max_attempts=receiver.max_attempts or setting("MAX_ATTEMPTS"),
        run_after=run_after,
        kicked_at=chosen.kick_at(run_after),
    )
    together = _together.get()
    if together is not None and connection.in_atomic_block:
        together.add(delivery)  # written when the send holding it ends (its pk set then)
        return delivery
    with transaction.atomic(savepoint=False):
        chosen.write([delivery])
    return delivery


class _Owed:
    """An on-commit entry doing nothing, made with a delivery held back to be written together:
    a savepoint rolled back drops it (Django drops the entries made under it), and with it the
    delivery, as it would have dropped the delivery's row."""

    __slots__ = ()

    def __call__(self) -> None:
        pass


class _Together:
    def __init__(self) -> None:
        self.held: list[tuple[Delivery, _Owed]] = []

    def add(self, delivery: Delivery) -> None:
        owed = _Owed()
        transaction.on_commit(owed)
        self.held.append((delivery, owed))

    def write(self) -> None:
        if not self.held:
            return
        kept = {id(entry[1]) for entry in connection.run_on_commit}  # (savepoints, callback, robust)
        owed = [delivery for delivery, marker in self.held if id(marker) in kept]
        if owed:
            transport().write(owed)


_together: ContextVar[_Together | None] = ContextVar("deliveries_written_together", default=None)


@dataclass(frozen=True)
class Held:
    """What deliveries_held() returned: the deliveries held, and whether this send holds them
    (`token`) or joined a send around it, which writes them (None)."""

    together: _Together
    token: Token[_Together | None] | None


def deliveries_held() -> Held | None:
    """Hold back the deliveries recorded from now on in this transaction, to be written together
    in one INSERT by deliveries_written(); None (nothing held) outside a transaction, where each
    is written at once in its own. For a signal's send: its durable receivers' deliveries cost one
    statement, not one each. A send inside another's joins it: every delivery is written in the
    order it was recorded (a lane runs its deliveries in id order)."""
    if not connection.in_atomic_block:
        return None
    together = _together.get()
    if together is not None:
        return Held(together, None)
    together = _Together()
    return Held(together, _together.set(together))


def deliveries_written(held: Held | None) -> None:
    """Write the deliveries held since deliveries_held() returned `held` (for the outermost send
    holding them), but for those made under a savepoint rolled back meanwhile, in one statement;
    stop holding them back. Also when the send failed: its receivers' other writes stand unless
    the transaction rolls back, and so do the deliveries they owed (none is written when the
    transaction can only roll back)."""
    if held is None or held.token is None:
        return
    _together.reset(held.token)
    if not connection.needs_rollback:
        held.together.write()


def delivery_run(*, delivery_id: int, worker: str = "") -> str:
    """Claim the delivery, call its receiver and record the outcome; return the new status.

    Returns "skipped" without running anything when the delivery is not ready (done, dead,
    running under a live lease, not due yet), is held back by an earlier delivery of its lane,
    or is being claimed by another worker right now; "unknown" when this process has no such
    receiver (another release's, during a rolling deploy): the delivery is left, its attempt not
    counted, for UNKNOWN_RECEIVER_DELAY seconds. A receiver's exception never escapes: it
    becomes a retry or DEAD. Raises WorkerStopping after releasing the delivery when the worker
    is told to stop mid-receiver, and database errors of the bookkeeping itself.
    """
    worker_connections_checked()
    claimed = _delivery_claim(delivery_id, worker=worker)
    if claimed is None:
        return "skipped"
    (status,) = deliveries_run_claimed([claimed], worker=worker)
    return status


def worker_connections_checked() -> None:
    """Before work a broker's worker hands over (a delivery, a sweep): drop a connection that
    broke (the database restarted; checked as CONN_HEALTH_CHECKS checks one at a request's start,
    one round trip), and keep a healthy one whatever CONN_MAX_AGE says, as events_worker does: a
    reconnect per job cost more than most jobs. Celery's fixup, which closed them around each
    task (a third of a delivery's time on PostgreSQL), is told not to (CELERY_DB_REUSE_MAX);
    RQ's worker kept a dead one for good. Not inside an atomic block (a caller's transaction, a
    task run eagerly): closing would end it.
    """
    for connection_ in connections.all(initialized_only=True):
        if connection_.in_atomic_block:
            continue
        if not connection_.is_usable():
            connection_.close()


def _delivery_claim(delivery_id: int, *, worker: str) -> Delivery | None:
    """Claim one delivery as deliveries_claim does, in a read and one conditional UPDATE.

    The executors that hand over one delivery at a time (Celery, RQ) claim it this way: no
    transaction, and on SQLite the write lock held for one statement only. The UPDATE repeats
    the read's conditions at the attempt read, so a concurrent claim makes it match no row.
    """
    now = timezone.now()
    delivery = Delivery.objects.filter(pk=delivery_id, status__in=Delivery.READY, run_after__lte=now).first()
    if delivery is None:
        return None
    attempts_read = delivery.attempts
    _claimed_by(delivery, worker=worker, now=now)
    claimed = (
        Delivery.objects.filter(pk=delivery_id, attempts=attempts_read, status__in=Delivery.READY, run_after__lte=now)
        .exclude(_held_back())
        .state_write(**_claim_columns(delivery))
    )
    return delivery if claimed else None


def _claimed_by(delivery: Delivery, *, worker: str, now: datetime) -> None:
    """Mark `delivery` as `worker`'s: running, one more attempt, leased for its receiver's timeout."""
    delivery.status = Status.RUNNING
    delivery.attempts += 1
    delivery.lease_until = _lease_from(now, registry.get(delivery.receiver))
    delivery.worker = worker[:64]


def _claim_columns(delivery: Delivery) -> dict[str, Any]:
    """The UPDATE that stores _claimed_by's marks, counting the attempt in the database."""
    return {
        "status": Status.RUNNING,
        "attempts": F("attempts") + 1,
        "lease_until": delivery.lease_until,
        "worker": delivery.worker,
    }


def deliveries_ready(
    now: datetime, *, queues: Collection[str] | None = None, excluded_queues: Collection[str] = ()
) -> Any:
    """The deliveries a worker of `queues` (None: any) may claim at `now`: due, and not held back
    by an earlier unfinished one of their lane."""
    ready = Delivery.objects.filter(status__in=Delivery.READY, run_after__lte=now).exclude(_held_back())
    return _on_queues(ready, queues=queues, excluded_queues=excluded_queues)


def deliveries_next_due(
    now: datetime, *, queues: Collection[str] | None = None, excluded_queues: Collection[str] = ()
) -> datetime | None:
    """When the earliest delivery deferred past `now` on `queues` (None: any) falls due; None: none is."""
    deferred = Delivery.objects.filter(status__in=Delivery.READY, run_after__gt=now)
    return _on_queues(deferred, queues=queues, excluded_queues=excluded_queues).aggregate(due=Min("run_after"))["due"]


def _on_queues(deliveries: Any, *, queues: Collection[str] | None, excluded_queues: Collection[str]) -> Any:
    if queues is not None:
        deliveries = deliveries.filter(queue__in=queues)
    return deliveries.exclude(queue__in=excluded_queues) if excluded_queues else deliveries


def deliveries_claim(
    *,
    worker: str,
    queues: Collection[str] | None = None,
    excluded_queues: Collection[str] = (),
    limit: int = 1,
) -> list[Delivery]:
    """Claim up to `limit` due deliveries (on `queues`; None: any), oldest due
    first, each RUNNING under a lease of its receiver's timeout plus LEASE_GRACE; return them.

    Rows another worker is claiming are skipped (SKIP LOCKED; SQLite's IMMEDIATE transaction
    serialises the claims instead), and so are rows held back by an earlier one of their lane.
    """
    now = timezone.now()
    ready = deliveries_ready(now, queues=queues, excluded_queues=excluded_queues).select_for_update(skip_locked=True)
    with transaction.atomic():
        claimed = list(ready.order_by("run_after", "pk")[:limit])
        by_lease: dict[datetime, list[Delivery]] = {}
        for delivery in claimed:
            _claimed_by(delivery, worker=worker, now=now)
            by_lease.setdefault(delivery.lease_until, []).append(delivery)
        for deliveries in by_lease.values():  # one statement per receiver timeout
            Delivery.objects.filter(pk__in=[delivery.pk for delivery in deliveries]).state_write(
                **_claim_columns(deliveries[0])
            )
    return claimed


def deliveries_run_claimed(
    claimed: list[Delivery], *, worker: str, stopping: Callable[[], bool] = lambda: False
) -> list[str]:
    """Run deliveries this worker claimed (deliveries_claim), in order; return the new status of
    each it got to ("done", "retrying", "dead"; "unknown" for a receiver this process lacks;
    "skipped" for one whose lease ran out and that another worker took).

    Successes are recorded together, in one statement at the end: a worker killed before it
    leaves them to run again when their leases expire, which effects.once makes harmless. Before
    a run that could outlast the batch's earliest lease, the successes so far are recorded and
    the leases of the deliveries still waiting renewed, so a long batch never lets the sweep take
    them. Failures are recorded as they happen. When `stopping()` turns true between two
    deliveries, or the worker is stopped inside a receiver (WorkerStopping, raised after the
    record), the deliveries not yet run are handed back at once, attempts not counted.
    """
    statuses: list[str] = []
    done: list[Delivery] = []
    waiting = list(claimed)
    try:
        while waiting and not stopping():
            if _leases_run_short([*done, *waiting], next_run=waiting[0]):
                _record_done(done, worker=worker)
                done.clear()
                kept = _leases_renew(waiting, worker=worker)
                statuses += ["skipped" for delivery in waiting if delivery not in kept]
                waiting = kept
                if not waiting:
                    break
            statuses.append(_run_claimed(waiting.pop(0), worker=worker, done=done))
    finally:
        try:
            _record_done(done, worker=worker)
        finally:
            for delivery in waiting:
                _release(delivery)
    return statuses


def _leases_run_short(deliveries: list[Delivery], *, next_run: Delivery) -> bool:
    earliest = min(delivery.lease_until for delivery in deliveries if delivery.lease_until is not None)
    timeout = _timeout_of(registry.get(next_run.receiver)) or 0
    return earliest - timezone.now() < timedelta(seconds=timeout)


def _leases_renew(deliveries: list[Delivery], *, worker: str) -> list[Delivery]:
    """Renew the leases of these claimed deliveries still this worker's attempt; return those."""
    now = timezone.now()
    mine = Delivery.objects.filter(_attempts_of(deliveries), status=Status.RUNNING, worker=worker[:64])
    with transaction.atomic():
        kept = set(mine.select_for_update().values_list("pk", flat=True))
        longest = max(deliveries, key=lambda delivery: _timeout_of(registry.get(delivery.receiver)) or 0)
        lease_until = _lease_from(now, registry.get(longest.receiver))
        Delivery.objects.filter(pk__in=kept).state_write(lease_until=lease_until)
    for delivery in deliveries:
        delivery.lease_until = lease_until
    return [delivery for delivery in deliveries if delivery.pk in kept]


def _attempts_of(deliveries: list[Delivery]) -> Q:
    """These deliveries at the attempts this worker claimed (a later attempt is another run's)."""
    return functools.reduce(operator.or_, (Q(pk=delivery.pk, attempts=delivery.attempts) for delivery in deliveries))


def _run_claimed(delivery: Delivery, *, worker: str, done: list[Delivery]) -> str:
    receiver = registry.get(delivery.receiver)
    if receiver is None:
        # Another release's receiver (a rolling deploy): leave it, attempt not counted, for a
        # worker that knows it, instead of burning its attempts into DEAD here.
        _release(
            delivery,
            delay=setting("UNKNOWN_RECEIVER_DELAY"),
            note=f"No durable receiver {delivery.receiver!r} in worker {worker or '?'}: left for one that knows it.",
        )
        return "unknown"
    _observed(delivery_attempt_started, delivery=delivery)
    try:
        outcome = _attempt(delivery, receiver)
    except WorkerStopping:
        _release(delivery)
        raise
    _observed(delivery_attempt_finished, delivery=delivery, status=outcome.status)
    if outcome.status == Status.DONE:
        done.append(delivery)
    else:
        _finish(delivery, outcome)
    return outcome.status


def _observed(signal: Signal, **kwargs: Any) -> None:
    """Tell the observers of attempts; one that fails is logged, never the delivery's concern."""
    for receiver, outcome in signal.send_robust(sender=Delivery, **kwargs):
        if isinstance(outcome, Exception):
            logger.error("Observer %r of delivery attempts failed", receiver, exc_info=outcome)


def _record_done(done: list[Delivery], *, worker: str) -> None:
    if not done:
        return
    now = timezone.now()
    with transaction.atomic():
        # Still this worker's claim: a delivery whose lease ran out was given to another attempt.
        stored = Delivery.objects.filter(_attempts_of(done), status=Status.RUNNING, worker=worker[:64]).state_write(
            status=Status.DONE, lease_until=None, finished_at=now
        )
        recorded = done
        if stored < len(done):  # which ones: those this statement stored, at its own finish time
            mine = Delivery.objects.filter(_attempts_of(done), status=Status.DONE, worker=worker[:64], finished_at=now)
            kept = set(mine.values_list("pk", flat=True))
            recorded = [delivery for delivery in done if delivery.pk in kept]
        for delivery in recorded:
            delivery.status, delivery.lease_until, delivery.finished_at = Status.DONE, None, now
        if recorded:
            _observed_done(recorded)
    if len(recorded) < len(done):
        logger.warning(
            "%d deliveries finished after their leases expired; their outcomes are dropped", len(done) - len(recorded)
        )
    if not transport().transactional:
        for delivery in recorded:
            _enqueue_next_in_lane(delivery)  # a worker reading the table finds it by itself


def _observed_done(recorded: list[Delivery]) -> None:
    """Tell the observers of done deliveries, in the transaction storing them, under a savepoint:
    their failed writes are undone, never the outcomes."""
    try:
        with transaction.atomic():
            _observed(deliveries_done, deliveries=recorded)
    except DatabaseError:  # PostgreSQL refused the savepoint's release after an observer's error
        if transaction.get_rollback():
            raise  # the savepoint went with the transaction, and the outcomes with it: loudly
        logger.exception("An observer of done deliveries failed; what the observers wrote is undone")


def deliveries_requeue(*, ids: list[int]) -> int:
    """Give DEAD deliveries among `ids` a fresh set of attempts, to run now; return how many.

    Their idempotency keys stay, so effects already done under them are not done again.
    """
    requeued = 0
    with transaction.atomic():
        for delivery in Delivery.objects.select_for_update().filter(pk__in=ids, status=Status.DEAD):
            delivery.status = Status.PENDING
            delivery.attempts = 0
            delivery.run_after = timezone.now()
            delivery.finished_at = None
            _enqueue(delivery)
            delivery.state_save(update_fields=["status", "attempts", "run_after", "finished_at", "kicked_at"])
            requeued += 1
    return requeued


def deliveries_sweep() -> int:
    """Take up deliveries whose worker was lost, and hand off again ready ones whose hand-off was lost.

    A RUNNING delivery past its lease lost its worker (killed, out of memory, redeployed): the
    attempt counts as failed and it is retried now, or is DEAD when out of attempts. A ready
    delivery is handed off again when its publish after the commit is still owed PUBLISH_GRACE
    seconds after it fell due (the sender was killed before publishing, the broker was down, or
    the deferral was longer than the transport holds), or when it stayed unclaimed
    HANDOFF_TIMEOUT seconds after its hand-off (its message lost with a broker restarted empty,
    or its job with a worker killed holding it). Delivery jobs django-tasks-db left RUNNING for longer
    than any lease are marked FAILED so they can be pruned. Rows another sweeper holds are
    skipped. Returns how many deliveries were taken up or re-enqueued.
    """
    now = timezone.now()
    taken_up = []
    with transaction.atomic():
        expired = Delivery.objects.select_for_update(skip_locked=True).filter(
            status=Status.RUNNING, lease_until__lt=now
        )
        for delivery in expired[:SWEEP_BATCH]:
            error = (
                f"Lease expired at {delivery.lease_until:%Y-%m-%d %H:%M:%S}: worker {delivery.worker or '?'} was lost "
                f"(killed, out of memory or redeployed) during attempt {delivery.attempts}."
            )
            outcome = _Outcome(status=Status.RETRYING, error=error, delay=0)
            if delivery.attempts >= delivery.max_attempts:
                outcome = _Outcome(status=Status.DEAD, error=error)
            _write(delivery, outcome, now=now)
            taken_up.append(delivery)
    for delivery in taken_up:
        if delivery.status == Status.DEAD:
            _enqueue_next_in_lane(delivery)

    if not transport().transactional:
        taken_up += _handed_off_again(now)

    longest = max([setting("TIMEOUT"), *(r.timeout or 0 for r in registry.values())]) + setting("LEASE_GRACE")
    _delivery_jobs().filter(status="RUNNING", started_at__lt=now - timedelta(seconds=longest)).update(
        status="FAILED",
        finished_at=now,
        exception_class_path=WORKER_LOST,
        traceback="The worker running this job was lost; the delivery's lease covered it.",
    )
    return len(taken_up)


def _handed_off_again(now: datetime) -> list[Delivery]:
    """Publish again what a transport outside the database lost (a worker reading the table
    itself, as events_worker does with the database transport, loses nothing)."""
    taken_up = []
    publish_grace = now - timedelta(seconds=setting("PUBLISH_GRACE"))
    unclaimed = now - timedelta(seconds=setting("HANDOFF_TIMEOUT"))
    with transaction.atomic():
        lost = (
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(
                Q(kicked_at__isnull=True, run_after__lte=publish_grace)
                | Q(kicked_at__lte=unclaimed, run_after__lte=unclaimed),
                status__in=Delivery.READY,
            )
            .exclude(_held_back())
            .order_by("run_after", "pk")  # the longest owed first, whatever the newest do
        )
        for delivery in lost[:SWEEP_BATCH]:
            _enqueue(delivery)
            delivery.state_save(update_fields=["kicked_at"])
            taken_up.append(delivery)
    return taken_up


def housekeeping_run() -> int:
    """Call each HOUSEKEEPING callable once; returns how many succeeded.

    One that raises is logged with its traceback and the others still run: a failing clean-up
    must not stop the worker, and the next sweep tries it again.
    """
    succeeded = 0
    for path in setting("HOUSEKEEPING"):
        try:
            import_string(path)()
        except Exception:
            logger.exception("events housekeeping %s failed", path)
        else:
            succeeded += 1
    return succeeded


def deliveries_prune(*, older_than: timedelta, batch_size: int = 1000) -> dict[str, int]:
    """Delete DONE deliveries, done effect records and finished delivery jobs older than `older_than`.

    Deletes in batches of `batch_size`, each its own short transaction, so a large backlog does
    not hold a long lock. DEAD deliveries stay for staff to look at or requeue. Returns the
    number of rows deleted per kind.
    """
    cutoff = timezone.now() - older_than
    return {
        "deliveries": _delete_in_batches(
            Delivery.objects.filter(status=Status.DONE, finished_at__lt=cutoff), batch_size=batch_size
        ),
        "effects": _delete_in_batches(EffectRecord.objects.filter(done_at__lt=cutoff), batch_size=batch_size),
        "jobs": _delete_in_batches(
            _delivery_jobs().filter(status__in=["SUCCESSFUL", "FAILED"], finished_at__lt=cutoff), batch_size=batch_size
        ),
    }


@dataclass(frozen=True)
class _Outcome:
    status: str
    error: str = ""
    delay: float | None = None  # seconds before the retry; None: the backoff


def _timeout_of(receiver: DurableReceiver | None) -> float | None:
    """Seconds a run of `receiver` may take; None: no limit."""
    return receiver.timeout if receiver and receiver.timeout is not None else setting("TIMEOUT")


def _lease_from(now: datetime, receiver: DurableReceiver | None) -> datetime:
    return now + timedelta(seconds=(_timeout_of(receiver) or 0) + setting("LEASE_GRACE"))


def _attempt(delivery: Delivery, receiver: DurableReceiver) -> _Outcome:
    event = Event(
        receiver=delivery.receiver,
        idempotency_key=delivery.idempotency_key,
        attempt=delivery.attempts,
        sent_at=delivery.created_at,
        sender=delivery.sender,
        kwargs=uncarry(delivery.payload),
    )
    try:
        with leased(delivery.lease_until):
            call_receiver(receiver.function, event, timeout=_timeout_of(receiver))
    except RetryLater as error:
        return _failed(delivery, _trace(error), delay=error.delay)
    except PermanentFailure as error:
        return _Outcome(status=Status.DEAD, error=_trace(error))
    except Exception as error:
        logger.warning("Durable receiver %s failed on attempt %d", delivery.receiver, delivery.attempts, exc_info=True)
        return _failed(delivery, _trace(error))
    return _Outcome(status=Status.DONE)


def _failed(delivery: Delivery, error: str, delay: float | None = None) -> _Outcome:
    if delivery.attempts >= delivery.max_attempts:
        logger.error("Durable receiver %s is dead after %d attempts: %s", delivery.receiver, delivery.attempts, error)
        return _Outcome(status=Status.DEAD, error=error)
    return _Outcome(status=Status.RETRYING, error=error, delay=delay)


def _finish(delivery: Delivery, outcome: _Outcome) -> None:
    with transaction.atomic():
        claimed = Delivery.objects.select_for_update().filter(
            pk=delivery.pk, status=Status.RUNNING, attempts=delivery.attempts
        )
        if not claimed.exists():
            # Our lease ran out and the sweep gave the delivery to another attempt.
            logger.warning("Delivery %s finished after its lease expired; its outcome is dropped", delivery.pk)
            return
        _write(delivery, outcome, now=timezone.now())
    # After the commit, so an enqueue in the same lane that committed before it is seen.
    if delivery.status in (Status.DONE, Status.DEAD):
        _enqueue_next_in_lane(delivery)


def _write(delivery: Delivery, outcome: _Outcome, *, now: Any) -> None:
    delivery.status = outcome.status
    delivery.lease_until = None
    if outcome.error:
        delivery.last_error = outcome.error
    fields = ["status", "lease_until", "last_error", "finished_at", "run_after", "kicked_at"]
    if outcome.status == Status.RETRYING:
        delay = outcome.delay if outcome.delay is not None else backoff(delivery.attempts)
        delivery.run_after = now + timedelta(seconds=delay)
        _enqueue(delivery)
    else:
        delivery.finished_at = now
    delivery.state_save(update_fields=fields)


def _release(delivery: Delivery, *, delay: float = 0, note: str = "") -> None:
    """Hand a claimed delivery back, attempt not counted, to run in `delay` seconds: one a
    stopping worker was interrupted in (now), one this worker has no receiver for (later)."""
    now = timezone.now()
    run_after = now + timedelta(seconds=delay)
    changes: dict[str, Any] = {"last_error": note} if note else {}
    with transaction.atomic():
        claimed = Delivery.objects.filter(pk=delivery.pk, status=Status.RUNNING, attempts=delivery.attempts)
        released = claimed.state_write(
            status=Status.RETRYING,
            attempts=delivery.attempts - 1,
            lease_until=None,
            run_after=run_after,
            kicked_at=transport().kick_at(run_after),
            **changes,
        )
        if released:
            delivery.run_after = run_after
            transport().hand_off(delivery)


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): between half and all of
    BACKOFF_BASE * 2**(attempt-1), capped at BACKOFF_MAX. The random half spreads retries of
    many deliveries that failed together; the lower bound keeps each wait at least the last.
    """
    ceiling = min(setting("BACKOFF_BASE") * 2 ** (attempt - 1), setting("BACKOFF_MAX"))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _enqueue(delivery: Delivery) -> None:
    """Hand `delivery` to the configured transport, in the current transaction.

    Sets `delivery.kicked_at`; the caller saves it with its other changes.
    """
    chosen = transport()
    delivery.kicked_at = chosen.kick_at(delivery.run_after)
    chosen.hand_off(delivery)


def _enqueue_next_in_lane(delivery: Delivery) -> None:
    if not delivery.lane:
        return
    following = (
        Delivery.objects.filter(lane=delivery.lane, pk__gt=delivery.pk, status__in=Delivery.READY)
        .order_by("pk")
        .first()
    )
    if following is not None:
        with transaction.atomic():
            _enqueue(following)
            following.state_save(update_fields=["kicked_at"])


def _held_back() -> Q:
    """Rows with an unfinished earlier delivery in their lane (ordered ones): of the same
    receiver, or of any receiver sharing its lane (DurableReceiver.ordered names a group)."""
    earlier = Delivery.objects.filter(lane=OuterRef("lane"), pk__lt=OuterRef("pk"), status__in=Delivery.ACTIVE)
    return ~Q(lane="") & Q(Exists(earlier))


def _delivery_jobs() -> Any:
    from .tasks import deliver

    return DBTaskResult.objects.filter(task_path=deliver.module_path)


def _delete_in_batches(queryset: Any, *, batch_size: int) -> int:
    deleted = 0
    while ids := list(queryset.values_list("pk", flat=True)[:batch_size]):
        deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]
    return deleted


def _trace(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))
