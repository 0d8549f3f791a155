"""Declare a durable receiver: the signal writes a delivery, a worker runs the function later.

    @durable_receiver(post_save, sender=Car, dispatch_uid="catalog.thumbnail")
    def make_thumbnail(event: Event) -> None:
        ...  # event.instance_pk, event.instance_data, event.created, event.idempotency_key

Sending the signal does not call the function. In the sender's transaction it carries the
arguments as data (carry.py) and writes one Delivery plus one django-tasks job per durable
receiver; a rollback takes both away. A worker calls the function after commit, at least once,
retrying failures with backoff until `max_attempts`, then marks the delivery DEAD.
"""

import inspect
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

from .carry import Event, InstanceData, NotCarriable, lane_of

__all__ = [
    "DurableReceiver",
    "Event",
    "InstanceData",
    "NotCarriable",
    "PermanentFailure",
    "RetryLater",
    "durable_receiver",
    "registry",
]

F = TypeVar("F", bound=Callable[..., Any])


class RetryLater(Exception):
    """Raised by a receiver to be run again after `delay` seconds; counts as an attempt."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay}s")
        self.delay = delay


class PermanentFailure(Exception):
    """Raised by a receiver that must not be retried; the delivery becomes DEAD at once."""


@dataclass(frozen=True)
class DurableReceiver:
    uid: str
    function: Callable[[Event], Any]
    queue: str
    max_attempts: int | None  # None: the MAX_ATTEMPTS setting
    ordered: bool | str  # a str: the name of a lane shared with other receivers
    timeout: float | None  # None: the TIMEOUT setting
    # Send-time kwargs -> the earliest time to run (aware), or None for now.
    not_before: Callable[[dict[str, Any]], datetime | None] | None = None
    carries: frozenset[str] | None = None  # the kwargs that travel; None: all
    when: Callable[[dict[str, Any]], bool] | None = None  # send-time kwargs -> whether it is owed at all
    adds: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # send-time kwargs -> more to carry
    fields: frozenset[str] = frozenset()  # instance fields that travel as they were; else by reference

    @property
    def name(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"

    def lane_for(self, subject: str) -> str:
        """The lane of a delivery about `subject` ("label:pk"): per receiver, or per group of
        receivers sharing `ordered`; "" (no order kept) when unordered or about no object."""
        if not self.ordered or not subject:
            return ""
        return f"{self.uid if self.ordered is True else self.ordered}|{subject}"

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.function)

    def record(self, sender: Any, **kwargs: Any) -> None:
        """The receiver actually connected to the signal: writes the delivery, calls nothing."""
        from .services import delivery_record

        if self.when is not None and not self.when(kwargs):
            return
        run_after = self.not_before(kwargs) if self.not_before is not None else None
        added = self.adds(kwargs) if self.adds is not None else {}
        # The object the event is about orders the lane, whatever is carried: an object `adds`
        # names, else the signal's own (its instance), even when `carries` leaves it behind.
        subject = lane_of(added) or lane_of(kwargs)
        if self.carries is not None:
            kwargs = {name: value for name, value in kwargs.items() if name in self.carries}
        kwargs.update(added)
        delivery_record(receiver=self, sender=sender, kwargs=kwargs, run_after=run_after, subject=subject)


# dispatch_uid -> receiver; the worker finds a delivery's function here.
registry: dict[str, DurableReceiver] = {}


def durable_receiver(
    signal: Signal,
    *,
    dispatch_uid: str,
    sender: Any = None,
    queue: str = "default",
    max_attempts: int | None = None,
    ordered: bool | str = True,
    timeout: float | None = None,
    not_before: Callable[[dict[str, Any]], datetime | None] | None = None,
    carries: Collection[str] | None = None,
    when: Callable[[dict[str, Any]], bool] | None = None,
    adds: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    fields: Collection[str] = (),
) -> Callable[[F], F]:
    """Connect the decorated function to `signal` as a durable receiver; return it unchanged.

    Args:
        signal: any Django Signal (post_save, post_delete, m2m_changed, a custom or DomainSignal).
        dispatch_uid: names the receiver for good; deliveries refer to it, so keep it when the
            function moves. Also the signal connection's dispatch_uid (prefixed "events:").
        sender: only events from this sender, as for `Signal.connect`.
        queue: the django-tasks queue its jobs go to; a slow receiver on its own queue, with its
            own worker, never delays the others.
        max_attempts: attempts before the delivery is DEAD (default: the MAX_ATTEMPTS setting).
        ordered: run the deliveries for one object (same model and pk) one at a time, in the
            order of their events. A string names a lane shared with the other receivers that
            give the same string: their deliveries for one object run in the order of their
            events too (an order's placed, paid and cancelled emails). False: any order.
        timeout: seconds one attempt may run (default: the TIMEOUT setting).
        not_before: called with the signal's kwargs at send time; returns an aware datetime
            before which the delivery is not run (a deadline, a grace period), or None for now.
            An ordered receiver's later deliveries for the same object wait behind a deferred
            one, so deadline receivers are usually `ordered=False`.
        carries: the names of the kwargs the receiver needs; only these travel (default: all).
            Keeps live objects it does not use (an AnonymousUser) and data it should not
            store (a user's password hash) out of the delivery.
        when: called with the signal's kwargs at send time; a false result writes no delivery
            (a post_save receiver that only cares when the photo changed).
        adds: called with the signal's kwargs at send time; returns more keyword arguments to
            carry (what a pre_save receiver noted on the instance, such as replaced file names).
        fields: the fields of carried model instances whose values at send time the receiver
            needs (`event.instance_data`); every instance travels by reference (model and pk)
            with only these, so nothing else of a row — a password hash — is stored.

    The function takes one Event and may be `async def`. It may raise RetryLater(delay) or
    PermanentFailure(reason); any other exception is retried with backoff.

    Raises ImproperlyConfigured when dispatch_uid already names another function. A not_before
    that returns a naive datetime raises ValueError from the send.
    """

    def decorate(function: F) -> F:
        receiver = DurableReceiver(
            uid=dispatch_uid,
            function=function,
            queue=queue,
            max_attempts=max_attempts,
            ordered=ordered,
            timeout=timeout,
            not_before=not_before,
            carries=frozenset(carries) if carries is not None else None,
            when=when,
            adds=adds,
            fields=frozenset(fields),
        )
        existing = registry.get(dispatch_uid)
        if existing is not None and existing.name != receiver.name:
            raise ImproperlyConfigured(
                f"dispatch_uid {dispatch_uid!r} already names durable receiver {existing.name}, not {receiver.name}."
            )
        registry[dispatch_uid] = receiver

        # Named after the function, so signal listings show what reacts, not this module.
        def record(sender: Any, **kwargs: Any) -> None:
            receiver.record(sender, **kwargs)

        record.__module__, record.__qualname__ = function.__module__, function.__qualname__
        # Not __wrapped__: Django would then check the function's signature for **kwargs.
        record.stands_for = function  # type: ignore[attr-defined]  # signal.disconnect(function) finds it
        # The delivery is the sender's to commit or lose: a signal that isolates its receivers'
        # failures (in savepoints, under send_robust) should let this one fail the sender instead.
        record.joins_sender = True  # type: ignore[attr-defined]
        # Held strongly: the closure is referenced from nowhere else.
        signal.connect(
            record,
            sender=sender,
            weak=False,
            dispatch_uid=f"events:{dispatch_uid}",
        )
        return function

    return decorate
