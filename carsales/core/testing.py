"""A test kit for code that sends or receives signals: mute receivers, record what was sent.

    with muted("inventory.car_saved_update_inventory"):
        car.save()                      # that receiver does not run; the others do

    with signals_sent() as sent:
        order_place(...)
    assert sent.names() == ["orders.signals.order_placed", ...]

    data, savepoints = statements_of(lambda: car_create(...))   # what a write sends, counted

The pytest fixtures `mute` and `signals_sent` in carsales/conftest.py wrap these; the durable
side (deliveries owed, run now) is carsales.events.testing.
"""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.dispatch import Signal
from django.test.utils import CaptureQueriesContext

from .signal_map import signals_in_use

DURABLE_PREFIX = "events:"  # the connection uid of a durable receiver (carsales.events.durable)


@contextmanager
def muted(*dispatch_uids: str) -> Iterator[None]:
    """Disconnect the receivers with these dispatch_uids (durable ones by their own uid) for the
    block, and put them back where they were in each signal's calling order.

    Raises LookupError for a uid no receiver is connected with: a test muting a receiver that
    was renamed would otherwise pass for the wrong reason.
    """
    wanted = set(dispatch_uids) | {DURABLE_PREFIX + uid for uid in dispatch_uids}
    removed: list[tuple[Signal, list[Any]]] = []
    found: set[str] = set()
    for _name, signal in signals_in_use():
        with signal.lock:
            kept = [entry for entry in signal.receivers if entry[0][0] not in wanted]
            if len(kept) != len(signal.receivers):
                found |= {entry[0][0] for entry in signal.receivers if entry[0][0] in wanted}
                removed.append((signal, list(signal.receivers)))
                signal.receivers = kept
                signal.sender_receivers_cache.clear()
    missing = {uid for uid in dispatch_uids if uid not in found and DURABLE_PREFIX + uid not in found}
    try:
        if missing:
            raise LookupError(f"No receiver is connected with dispatch_uid {', '.join(sorted(missing))}.")
        yield
    finally:
        for signal, receivers in removed:
            with signal.lock:
                signal.receivers = receivers
                signal.sender_receivers_cache.clear()


@dataclass(frozen=True)
class Sent:
    signal: str  # dotted name, "orders.signals.order_placed"
    sender: Any
    kwargs: dict[str, Any]


@dataclass
class SentSignals:
    """The signals a block sent, in the order they were sent (nested sends included)."""

    sends: list[Sent] = field(default_factory=list)

    def names(self) -> list[str]:
        return [sent.signal for sent in self.sends]

    def of(self, signal: str) -> list[Sent]:
        """The sends of one signal, by its dotted name or the name's last part."""
        return [sent for sent in self.sends if sent.signal == signal or sent.signal.rsplit(".", 1)[-1] == signal]


@contextmanager
def signals_sent() -> Iterator[SentSignals]:
    """Record every send of the signals in use (Django's model, auth and request signals, and
    the project's own) during the block, by send, send_robust, asend or asend_robust."""
    recorded = SentSignals()
    # (signal, method, what the instance had before: an outer block's recorder, or nothing)
    patched: list[tuple[Signal, str, Any]] = []
    for name, signal in signals_in_use():
        for method in ("send", "send_robust"):
            original = getattr(signal, method)
            patched.append((signal, method, signal.__dict__.get(method)))

            def recording(sender: Any, *, _original: Any = original, _name: str = name, **named: Any) -> Any:
                recorded.sends.append(Sent(_name, sender, named))
                return _original(sender, **named)

            setattr(signal, method, recording)
    try:
        yield recorded
    finally:
        for signal, method, previous in reversed(patched):
            if previous is None:
                delattr(signal, method)
            else:
                setattr(signal, method, previous)


_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")


def statements_of(action: Callable[[], Any]) -> tuple[list[str], list[str]]:
    """What `action` sends to the default database: its data statements (neither transaction
    control nor savepoints), and its savepoint statements (SAVEPOINT, RELEASE, ROLLBACK TO)."""
    with CaptureQueriesContext(connection) as queries:
        action()
    sql = [query["sql"].lstrip().upper() for query in queries.captured_queries]
    savepoints = [statement for statement in sql if "SAVEPOINT" in statement]
    data = [statement for statement in sql if not statement.startswith(_TRANSACTION_CONTROL)]
    return data, savepoints


def csrf_token_in(response: Any) -> str:
    """The one CSRF token a page's forms carry (every form of a page carries the same)."""
    (token,) = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()))
    return token
