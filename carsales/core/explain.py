"""EXPLAIN ANALYZE for signals: run one operation inside a transaction that is rolled back and
report the tree of what fired — each signal sent, each receiver it called in order with its
mode, time and SQL statements, the signals those receivers sent in turn, and the durable
deliveries the operation would owe (written, then rolled back: never run).

Operations are scenarios that apps declare in an `explain` module:

    @scenario("checkout", sends=("order_placed",))
    def checkout() -> Callable[[], object]:
        cart = ...                      # set-up: not traced
        return lambda: order_place(...)  # the operation: traced

`manage.py signals --explain checkout` runs one. Nothing is kept: the database is rolled back,
after-commit callbacks are dropped with the transaction, and a scenario writes no files.
"""

import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils.module_loading import autodiscover_modules

from carsales.events.testing import deliveries_owed

from .signal_map import Connection, connection_of, signals_in_use

Operation = Callable[[], object]


@dataclass
class Fired:
    """A signal sent (its receivers as children) or a receiver called (the signals it sent)."""

    kind: str  # "signal" or "receiver"
    name: str
    detail: str  # a signal's sender; a receiver's mode
    ms: float = 0.0
    queries: int = 0
    children: list["Fired"] = field(default_factory=list)


@dataclass(frozen=True)
class Owed:
    receiver: str
    queue: str
    run_after: str


@dataclass
class Explanation:
    operation: str
    fired: list[Fired]
    owed: list[Owed]
    ms: float
    queries: int

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Scenario:
    name: str
    prepare: Callable[[], Operation]
    sends: tuple[str, ...]
    doc: str


scenarios: dict[str, Scenario] = {}


def scenario(name: str, *, sends: tuple[str, ...] = ()) -> Callable[[Callable[[], Operation]], Callable[[], Operation]]:
    """Declare an operation `manage.py signals --explain NAME` can run; `sends` names the custom
    signals it sends, so `--explain order_placed` finds it too."""

    def register(prepare: Callable[[], Operation]) -> Callable[[], Operation]:
        scenarios[name] = Scenario(name, prepare, sends, (prepare.__doc__ or "").strip())
        return prepare

    return register


def scenario_for(name: str) -> Scenario:
    """The scenario called `name`, or the first one that sends the signal `name`; raises LookupError."""
    autodiscover_modules("explain")
    if name in scenarios:
        return scenarios[name]
    short = name.rsplit(".", 1)[-1]
    for candidate in scenarios.values():
        if short in candidate.sends:
            return candidate
    raise LookupError(f"No scenario named {name!r} nor sending it; known: {', '.join(sorted(scenarios))}.")


class _Rollback(Exception):
    pass


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def _traced(root: list[Fired], counter: _Counter) -> Iterator[None]:
    """Record every send of the signals in use, and time each receiver, into `root`."""
    stack: list[list[Fired]] = [root]
    restore: list[tuple[Signal, list[Any], dict[str, Any]]] = []

    def timed(call: Callable[..., Any], node: Fired) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            parent = stack[-1]
            parent.append(node)
            stack.append(node.children)
            started, queries = time.perf_counter(), counter.count
            try:
                return call(*args, **kwargs)
            finally:
                node.ms += (time.perf_counter() - started) * 1000
                node.queries += counter.count - queries
                stack.pop()
                if node.kind == "signal" and not node.children:
                    parent.remove(node)  # sent to nobody: noise in the tree

        return run

    for name, signal in signals_in_use():
        short = name.rsplit(".", 1)[-1]
        patched = {}
        for method in ("send", "send_robust"):
            original = getattr(signal, method)

            def sending(sender: Any, *, _original: Any = original, _short: str = short, **named: Any) -> Any:
                label = str(getattr(getattr(sender, "_meta", None), "label", None) or getattr(sender, "__name__", ""))
                return timed(lambda: _original(sender, **named), Fired("signal", _short, label))()

            patched[method] = signal.__dict__.get(method)
            setattr(signal, method, sending)
        with signal.lock:
            original_receivers = list(signal.receivers)
            wrapped = []
            for order, ((lookup_key, sender_key), ref, is_async) in enumerate(original_receivers, start=1):
                receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
                if receiver is None or is_async:
                    wrapped.append(((lookup_key, sender_key), ref, is_async))
                    continue
                info = connection_of(order, signal, lookup_key, "", receiver)
                wrapped.append(((lookup_key, sender_key), _recording(timed, receiver, info), is_async))
            signal.receivers = wrapped
            signal.sender_receivers_cache.clear()
        restore.append((signal, original_receivers, patched))
    try:
        yield
    finally:
        for signal, original_receivers, patched in restore:
            with signal.lock:
                signal.receivers = original_receivers
                signal.sender_receivers_cache.clear()
            for method, previous in patched.items():
                if previous is None:
                    delattr(signal, method)
                else:
                    setattr(signal, method, previous)


def _recording(
    timed: Callable[[Callable[..., Any], Fired], Callable[..., Any]], receiver: Any, info: Connection
) -> Callable[..., Any]:
    """A stand-in for `receiver` that records a node of its own on each call."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return timed(receiver, Fired("receiver", info.receiver, info.mode_detail))(*args, **kwargs)

    return call


def explain(name: str) -> Explanation:
    """Run the scenario `name` (or the one sending signal `name`) and roll everything back."""
    chosen = scenario_for(name)
    fired: list[Fired] = []
    counter = _Counter()
    owed_rows: list[Owed] = []
    started = time.perf_counter()
    try:
        with transaction.atomic():
            operation = chosen.prepare()
            with connection.execute_wrapper(counter), deliveries_owed() as owed, _traced(fired, counter):
                started = time.perf_counter()
                operation()
            elapsed = (time.perf_counter() - started) * 1000
            owed_rows = [Owed(d.receiver, d.queue, d.run_after.isoformat()) for d in owed]
            raise _Rollback
    except _Rollback:
        pass
    return Explanation(chosen.name, fired, owed_rows, elapsed, counter.count)
