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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

from .carry import Event, InstanceData, NotCarriable

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
    ordered: bool
    timeout: float | None  # None: the TIMEOUT setting

    @property
    def name(self) -> str:
        return f"{self.function.__module__}.{self.function.__qualname__}"

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.function)

    def record(self, sender: Any, **kwargs: Any) -> None:
        """The receiver actually connected to the signal: writes the delivery, calls nothing."""
        from .services import delivery_record

        delivery_record(receiver=self, sender=sender, kwargs=kwargs)


# dispatch_uid -> receiver; the worker finds a delivery's function here.
registry: dict[str, DurableReceiver] = {}


def durable_receiver(
    signal: Signal,
    *,
    dispatch_uid: str,
    sender: Any = None,
    queue: str = "default",
    max_attempts: int | None = None,
    ordered: bool = True,
    timeout: float | None = None,
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
            order of their events.
        timeout: seconds one attempt may run (default: the TIMEOUT setting).

    The function takes one Event and may be `async def`. It may raise RetryLater(delay) or
    PermanentFailure(reason); any other exception is retried with backoff.

    Raises ImproperlyConfigured when dispatch_uid already names another function.
    """

    def decorate(function: F) -> F:
        receiver = DurableReceiver(
            uid=dispatch_uid,
            function=function,
            queue=queue,
            max_attempts=max_attempts,
            ordered=ordered,
            timeout=timeout,
        )
        existing = registry.get(dispatch_uid)
        if existing is not None and existing.name != receiver.name:
            raise ImproperlyConfigured(
                f"dispatch_uid {dispatch_uid!r} already names durable receiver {existing.name}, not {receiver.name}."
            )
        registry[dispatch_uid] = receiver
        # Held strongly: the bound method is referenced from nowhere else.
        signal.connect(
            receiver.record,
            sender=sender,
            weak=False,
            dispatch_uid=f"events:{dispatch_uid}",
        )
        return function

    return decorate
