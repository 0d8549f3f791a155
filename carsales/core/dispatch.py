"""A Signal for domain events whose observers can fail without harming the sender.

Django's `send_robust` already catches a receiver's exception, but two things are missing:
- the exception is only returned, so a caller that ignores the result loses it; and
- on PostgreSQL a failed query inside the sender's transaction aborts that transaction, so a
  receiver's database error would still break the business action.

With `send_robust`, `DomainSignal` runs each receiver that touches the database in its own
savepoint (its writes roll back alone), opened just before its first statement, so a receiver
that writes nothing costs no round trip; it logs every failure with its traceback and records it
as a ReceiverFailure. Two exceptions, where a failure must fail the sender: with `send`, and for a
receiver marked `joins_sender` (a durable receiver's delivery record: an effect owed by a commit
must not be lost by it; an audit entry: no audited action commits without it), which runs
without a savepoint and whose exception reaches the sender.

Inside a transaction, the deliveries its durable receivers record are held back and written
together as the send ends, in one INSERT (carsales.events.services.deliveries_held), outside any
receiver's savepoint; those owed by a receiver whose writes were rolled back are left out. A send
inside another's adds to the outer one's, so deliveries keep the order they were recorded in.
"""

import functools
import inspect
import logging
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import DatabaseError, Error, transaction
from django.db.transaction import TransactionManagementError
from django.dispatch import Signal

from carsales.events.services import deliveries_held, deliveries_written

from .db import send_pending

logger = logging.getLogger(__name__)


class _SavepointBeforeFirstStatement:
    """An execute wrapper, one per send_robust inside a transaction: opens a savepoint before the
    first statement of the receiver running, and ends it as that receiver ends.

    The savepoint is entered in Django's stack of savepoints at the depth the receiver started
    at, beneath any block the receiver opened before its first statement (an atomic block without
    a savepoint, as Django's own bulk writes open): those blocks close their own entries, this
    one closes its own, and a failure anywhere in the receiver rolls back to it and leaves the
    sender's transaction as it was (usable, its on-commit callbacks as they were).
    """

    opens_savepoint = True  # core.db.one_round_trip holds no write back beneath it

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.sid: str | None = None
        self.paused = False  # while a receiver that joins the sender's transaction runs
        self.depth = 0
        self.needed_rollback = False
        self.callbacks = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if self.sid is None and not self.paused and not _opening.get():
            token = _opening.set(True)
            try:
                sid = self.connection.savepoint()
            finally:
                _opening.reset(token)
            self.connection.savepoint_ids.insert(self.depth, sid)
            self.sid = sid
        return execute(sql, params, many, context)

    def end(self, failed: bool) -> bool:
        """End the receiver's savepoint: released, or rolled back if it `failed`, left the
        transaction needing a rollback, or left it aborted (a database error it caught outside
        any atomic block, on PostgreSQL: the RELEASE fails). Returns whether it rolled back."""
        connection = self.connection
        failed = failed or (connection.needs_rollback and not self.needed_rollback)
        sid = self.sid
        broken = False
        try:  # sid still set meanwhile: its own RELEASE or ROLLBACK opens no savepoint
            if sid is not None:
                connection.savepoint_ids.remove(sid)
                if not failed:
                    try:
                        connection.savepoint_commit(sid)
                    except DatabaseError:
                        failed = True
                if failed:
                    connection.needs_rollback = False  # as Django's own blocks do, to roll back to a savepoint
                    try:
                        connection.savepoint_rollback(sid)  # drops the on-commit callbacks made under it
                    except Error:
                        broken = True  # as Atomic.__exit__: the sender's transaction can only roll back
        finally:
            self.sid = None
        if failed:
            connection.needs_rollback = self.needed_rollback or broken
            del connection.run_on_commit[self.callbacks :]  # those made before its first statement too
        return failed


# The savepoint opener of the send_robust calling its receivers; None under send (a nested send
# too); EAGER outside a transaction, where each receiver gets an atomic block of its own.
_robust: ContextVar[Any] = ContextVar("domain_signal_robust", default=None)
EAGER = object()
# True while a savepoint is being opened: its own SAVEPOINT statement opens no other.
_opening: ContextVar[bool] = ContextVar("domain_signal_opening_savepoint", default=False)


class _FailsTheSender(BaseException):
    """Carries the exception of a receiver that joins the sender's transaction through
    Signal.send_robust, which catches only Exception, to DomainSignal.send_robust to raise."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def _isolated(receiver: Callable[..., Any]) -> Callable[..., Any]:
    joins_sender = getattr(receiver, "joins_sender", False)

    @functools.wraps(receiver)
    def call(**kwargs: Any) -> Any:
        savepoint = _robust.get()
        if savepoint is None:
            return receiver(**kwargs)
        if joins_sender:
            return _joined(receiver, savepoint, kwargs)
        if savepoint is EAGER:
            with transaction.atomic():
                result = receiver(**kwargs)
                if transaction.get_connection().needs_rollback:
                    raise _went_on_after_an_error(receiver)
            return result
        connection = savepoint.connection  # its start noted inline: this runs for every receiver of every send
        savepoint.depth = len(connection.savepoint_ids)
        savepoint.needed_rollback = needed_rollback = connection.needs_rollback
        savepoint.callbacks = len(connection.run_on_commit)
        try:
            result = receiver(**kwargs)
        except BaseException:
            savepoint.end(failed=True)
            raise
        if savepoint.sid is None and (needed_rollback or not connection.needs_rollback):
            return result  # it wrote nothing and left the transaction as it found it: nothing to end
        if savepoint.end(failed=False):
            raise _went_on_after_an_error(receiver)
        return result

    return call


def _went_on_after_an_error(receiver: Callable[..., Any]) -> TransactionManagementError:
    return TransactionManagementError(
        f"{receiver_name(receiver)} caught a database error and went on: its writes are rolled back."
    )


def _joined(receiver: Callable[..., Any], savepoint: Any, kwargs: dict[str, Any]) -> Any:
    if savepoint is not EAGER:
        savepoint.paused = True
    try:
        return receiver(**kwargs)
    except Exception as error:
        raise _FailsTheSender(error) from error
    finally:
        if savepoint is not EAGER:
            savepoint.paused = False


R = TypeVar("R", bound=Callable[..., Any])


def joins_sender(receiver: R) -> R:
    """Mark `receiver` as part of the sender's action: under send_robust it runs without a
    savepoint and its exception fails the sender, as under send. For records that must commit
    with the action or not at all (an audit entry, a delivery owed), never for observers."""
    receiver.joins_sender = True  # type: ignore[attr-defined]
    return receiver


def receiver_name(receiver: Callable[..., Any]) -> str:
    return f"{getattr(receiver, '__module__', '?')}.{getattr(receiver, '__qualname__', repr(receiver))}"


class DomainSignal(Signal):
    def __init__(self, name: str, doc: str) -> None:
        super().__init__()
        self.name = name
        self.__doc__ = doc  # the contract: kwargs, when it is sent and when it is not
        self._uids: dict[tuple[int, int], str] = {}  # (id of function, id of sender) -> dispatch_uid
        # Whether a durable receiver was ever connected: only then does a send hold its receivers'
        # deliveries back to write them together (a send to plain receivers pays nothing for it).
        self._holds_deliveries = False

    def __repr__(self) -> str:
        return f"<DomainSignal {self.name}>"

    def connect(  # type: ignore[override]
        self,
        receiver: Callable[..., Any],
        sender: object | None = None,
        weak: bool = False,
        dispatch_uid: str | None = None,
    ) -> None:
        """Connect `receiver`, which runs in its own savepoint when sent with send_robust and
        touching the database.

        Raises ValueError without a dispatch_uid (a second import would connect it twice) or
        with weak=True (the savepoint wrapper must be held strongly, so the receiver would
        outlive its last reference silently), and TypeError for an `async def` receiver (it
        would never be awaited inside the sender's transaction).
        """
        if dispatch_uid is None:
            raise ValueError(f"Receivers of {self.name} need a dispatch_uid, so a second import cannot connect twice.")
        if weak:
            raise ValueError(f"{self.name} holds its receivers strongly; connect them with weak=False.")
        if inspect.iscoroutinefunction(receiver):
            raise TypeError(
                f"{receiver_name(receiver)} is async: receivers of {self.name} run inside the sender's "
                "transaction, so they are plain functions (make an async effect a durable receiver)."
            )

        super().connect(_isolated(receiver), sender=sender, weak=False, dispatch_uid=dispatch_uid)
        self._holds_deliveries = self._holds_deliveries or hasattr(receiver, "stands_for")
        # What disconnect(function) looks up: the function, and the one a durable record stands for.
        for function in (receiver, getattr(receiver, "stands_for", None)):
            if function is not None:
                self._uids[(id(function), id(sender))] = dispatch_uid

    def disconnect(
        self, receiver: Callable[..., Any] | None = None, sender: object | None = None, dispatch_uid: str | None = None
    ) -> bool:
        """Disconnect by dispatch_uid, or by the function connected (Django's own disconnect
        finds a receiver connected with a dispatch_uid only by that uid)."""
        if dispatch_uid is None and receiver is not None:
            dispatch_uid = self._uids.get((id(receiver), id(sender)))
            if dispatch_uid is None:
                return False
        self._uids = {key: uid for key, uid in self._uids.items() if uid != dispatch_uid}
        return super().disconnect(sender=sender, dispatch_uid=dispatch_uid)

    def send(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """Call every receiver; the first to raise fails the sender (no savepoint)."""
        token, held = _robust.set(None), deliveries_held() if self._holds_deliveries else None
        try:
            results = super().send(sender, **named)
        finally:
            _robust.reset(token)
            deliveries_written(held)  # failed too: what the receivers before the failure owed stands with their writes
        return results

    def _log_robust_failure(self, receiver: Any, err: Exception) -> None:
        """Django logs a failed receiver here; send_robust below logs it once, with the signal."""

    def send_robust(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """Call every receiver; return (receiver, result or exception) pairs like Django's.

        A receiver that raises has its writes rolled back, is logged with its traceback and is
        recorded as a ReceiverFailure in the current transaction; the others still run.
        """
        connection = transaction.get_connection()
        # Outside a transaction (autocommit), each receiver gets a transaction of its own, opened first.
        savepoint = _SavepointBeforeFirstStatement(connection) if connection.in_atomic_block else EAGER
        if savepoint is not EAGER:
            if connection.execute_wrappers:
                send_pending(connection)  # the sender's writes fail the sender, not a receiver
            connection.execute_wrappers.append(savepoint)
        token = _robust.set(savepoint)
        held = deliveries_held() if self._holds_deliveries and savepoint is not EAGER else None
        try:
            results = super().send_robust(sender, **named)
        except _FailsTheSender as failure:
            raise failure.error from None
        finally:
            _robust.reset(token)
            if savepoint is not EAGER:
                connection.execute_wrappers.remove(savepoint)
            deliveries_written(held)  # outside any receiver's savepoint: they are the sender's
        for receiver, outcome in results:
            if isinstance(outcome, Exception):
                from .services import receiver_failure_record

                name = receiver_name(receiver)
                logger.error(
                    "Receiver %s failed on %s",
                    name,
                    self.name,
                    exc_info=(type(outcome), outcome, outcome.__traceback__),
                )
                receiver_failure_record(
                    signal=self.name,
                    receiver=name,
                    error=outcome,
                    trace="".join(traceback.format_exception(outcome)),
                    context={key: str(value) for key, value in named.items()},
                )
        return results
