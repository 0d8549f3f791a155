"""A Signal for domain events whose observers can fail without harming the sender.

Django's `send_robust` already catches a receiver's exception, but two things are missing:
- the exception is only returned, so a caller that ignores the result loses it; and
- on PostgreSQL a failed query inside the sender's transaction aborts that transaction, so a
  receiver's database error would still break the business action.

`DomainSignal` runs each receiver in its own savepoint (its writes roll back alone) and
`send_robust` logs every failure with its traceback and records it as a ReceiverFailure.
"""

import functools
import inspect
import logging
import traceback
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


def receiver_name(receiver: Callable[..., Any]) -> str:
    return f"{getattr(receiver, '__module__', '?')}.{getattr(receiver, '__qualname__', repr(receiver))}"


class DomainSignal(Signal):
    def __init__(self, name: str, doc: str) -> None:
        super().__init__()
        self.name = name
        self.__doc__ = doc  # the contract: kwargs, when it is sent and when it is not
        self._uids: dict[tuple[int, int], str] = {}  # (id of function, id of sender) -> dispatch_uid

    def __repr__(self) -> str:
        return f"<DomainSignal {self.name}>"

    def connect(  # type: ignore[override]
        self,
        receiver: Callable[..., Any],
        sender: object | None = None,
        weak: bool = False,
        dispatch_uid: str | None = None,
    ) -> None:
        """Connect `receiver`, which runs in its own savepoint when sent with send_robust.

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

        @functools.wraps(receiver)
        def in_savepoint(**kwargs: Any) -> Any:
            with transaction.atomic():
                return receiver(**kwargs)

        super().connect(in_savepoint, sender=sender, weak=False, dispatch_uid=dispatch_uid)
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

    def _log_robust_failure(self, receiver: Any, err: Exception) -> None:
        """Django logs a failed receiver here; send_robust below logs it once, with the signal."""

    def send_robust(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """Call every receiver; return (receiver, result or exception) pairs like Django's.

        A receiver that raises has its writes rolled back, is logged with its traceback and is
        recorded as a ReceiverFailure in the current transaction; the others still run.
        """
        from .services import receiver_failure_record

        results = super().send_robust(sender, **named)
        for receiver, outcome in results:
            if isinstance(outcome, Exception):
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
