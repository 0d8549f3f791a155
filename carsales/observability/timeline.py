"""The signal timeline, and the guard against a post_save receiver saving its own sender.

The timeline: every custom signal sent and every model signal of a carsales model, with
the receivers it called (duration, outcome, traceback), the signals they sent in turn, what caused
it all (a request, a task, a command) and whether the transaction it ran in committed or rolled
back (a rolled-back chain is kept, marked so: that is what people debug).

Cheap and always on: the recording lives in memory, per request, task or command (a context
variable), and is written as one row (one INSERT) when that ends (`timeline_flush`), never a row per
receiver on the way. Installed once every app has connected its receivers
(ObservabilityConfig.ready); receivers connected later are recorded as their signal's sends only.
CARSALES_TIMELINE turns it off; CARSALES_TIMELINE_RETENTION_DAYS bounds it (timeline_prune).
"""

import atexit
import logging
import sys
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Callable, Hashable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.utils import timezone

from carsales.core.signal_map import connection_of, receiver_label, signals_in_use

from .models import SignalChain

logger = logging.getLogger(__name__)

PROJECT = "carsales."
FLUSH_AT = 500  # nodes kept in memory before a long command writes them out (once no transaction is open)
LONG_TRANSACTION_FLUSHES = 10  # FLUSH_AT times this, inside one transaction: written inside it
# Sent for every instance built or every migration: noise in a timeline, and a cost on every query.
# A delivery's attempt signals open and close its own recording (receivers.py): the frame, not a step.
NOT_RECORDED = {
    "pre_init",
    "post_init",
    "class_prepared",
    "pre_migrate",
    "post_migrate",
    "delivery_attempt_started",
    "delivery_attempt_finished",
    "deliveries_done",
    # A question the car page asks on every view, not an event: a GET's chain is kept only if it
    # wrote (timeline_begin), so its record would be dropped, after costing a tenth of a cached page.
    "car_page_notes",
}
OWN = "carsales.observability."  # its own rows are never recorded (writing them would record more)


@dataclass
class _Node:
    seq: int
    parent: int | None
    kind: str  # "signal" or "receiver"
    name: str
    detail: str  # a signal's sender; a receiver's mode
    subjects: tuple[str, ...]  # "label:pk" of each object the signal is about, the main one first
    started: float  # perf_counter at the start
    ms: float = 0.0
    outcome: str = "ok"
    trace: str = ""
    root: int | None = None  # the top-level send this node belongs to (its transaction)

    @property
    def subject(self) -> str:
        return self.subjects[0] if self.subjects else ""


@dataclass
class _Recording:
    cause: str
    quiet_unless_written: bool = False  # a GET: its chain is kept only if something was written
    chain: uuid.UUID = field(default_factory=uuid.uuid4)
    # One clock reading per recording; each node's time is derived from perf_counter at flush.
    wall: datetime = field(default_factory=timezone.now)
    perf: float = field(default_factory=time.perf_counter)
    nodes: list[_Node] = field(default_factory=list)
    stack: list[int] = field(default_factory=list)
    committed: dict[int, bool] = field(default_factory=dict)  # top-level seq -> committed
    last_watched: int | None = None  # the latest top-level send awaiting its transaction's commit


_current: ContextVar[_Recording | None] = ContextVar("signal_timeline", default=None)
_kept = threading.local()  # chains timeline_flush(later=key) keeps for timeline_write_kept
# The post_save receivers running now, with the instance each was handed: a save of that same
# instance from inside its own post_save is a recursion (see saving_own_sender).
_in_post_save: ContextVar[tuple[tuple[str, int], ...]] = ContextVar("in_post_save", default=())


def saving_own_sender(instance: Any) -> str | None:
    """The receiver that is saving the instance its post_save is about, or None."""
    return next((name for name, handed in _in_post_save.get() if handed == id(instance)), None)


WRITES = {"pre_save", "post_save", "pre_delete", "post_delete", "m2m_changed"}


def timeline_begin(cause: str, *, read_only: bool = False) -> None:
    """Start recording what `cause` (a request, a task) sets off; flush what was pending.

    `read_only` (a GET): the chain is kept only if a model was written meanwhile, so reading a
    page writes nothing, and a page that does write shows up.
    """
    timeline_flush()
    _current.set(_Recording(cause, quiet_unless_written=read_only))


def timeline_flush(*, later: Hashable | None = None) -> int:
    """Write what the current request, task or command set off, as one row; returns its steps.
    `later`: keep the row under that key for timeline_write_kept, which writes those asked for in one INSERT."""
    recording = _current.get()
    _current.set(None)
    if recording is None or not recording.nodes:
        return 0
    if recording.quiet_unless_written and not any(node.name in WRITES for node in recording.nodes):
        return 0
    steps = [
        {
            "seq": node.seq,
            "parent": node.parent,
            "kind": node.kind,
            "name": node.name,
            "detail": node.detail,
            "subject": node.subject,
            "ms": round(node.ms, 3),
            "outcome": node.outcome,
            "traceback": node.trace,
            "committed": recording.committed.get(node.root if node.root is not None else node.seq, False),
        }
        for node in recording.nodes
    ]
    subjects = {subject for node in recording.nodes for subject in node.subjects}
    chain = SignalChain(
        chain=recording.chain,
        cause=recording.cause[:200],
        started_at=recording.wall + timedelta(seconds=recording.nodes[0].started - recording.perf),
        committed=all(step["committed"] for step in steps),
        errors=sum(step["outcome"] == "error" for step in steps),
        names="\n" + "\n".join(sorted({node.name for node in recording.nodes})) + "\n",
        subjects="\n" + "\n".join(sorted(subjects)) + "\n" if subjects else "",
        steps=steps,
    )
    if later is not None:
        _kept_chains()[later] = chain
    else:
        chain.save(force_insert=True)
    return len(steps)


def timeline_write_kept(keys: Iterable[Hashable]) -> int:
    """Write the rows timeline_flush kept in this thread under `keys`, in one INSERT, and forget
    every other kept one (an attempt whose outcome was never stored: its next attempt has a row
    of its own); returns how many were written."""
    kept = _kept_chains()
    chains = [kept[key] for key in keys if key in kept]
    _kept.chains = {}  # a failed write loses them (logged by its caller), never writes them twice
    SignalChain.objects.bulk_create(chains)
    return len(chains)


def _kept_chains() -> dict[Hashable, SignalChain]:
    if not hasattr(_kept, "chains"):
        _kept.chains = {}
    return _kept.chains


def timeline_task_begin(*, name: str, subject: str) -> None:
    """Start the recording of a worker's task, its first step the task itself (on `subject`, such
    as the delivery it attempts), under which everything it sets off is nested."""
    timeline_begin(f"task {name}")
    if settings.CARSALES_TIMELINE:
        _open("task", name, "", (subject,) if subject else ())


def timeline_task_end(*, failed: bool, later: Hashable | None = None) -> int:
    """Close the task's step with its outcome and write the recording (`later`: as timeline_flush)."""
    recording = _current.get()
    if recording is not None and recording.nodes and recording.nodes[0].kind == "task":
        task = recording.nodes[0]
        task.outcome = "error" if failed else "ok"
        recording.stack = [task.seq]
        _close(task)
    return timeline_flush(later=later)


def _recording() -> _Recording:
    recording = _current.get()
    if recording is None:
        recording = _Recording(_cause_outside_requests_and_tasks())
        _current.set(recording)
    return recording


def _cause_outside_requests_and_tasks() -> str:
    """The command running ("command import_cars"), as manage.py was asked for it; else "shell or
    command" (a script, a test run)."""
    program, *asked = sys.argv or [""]
    if Path(program).name in ("manage.py", "django-admin") and asked and not asked[0].startswith("-"):
        return "shell" if asked[0] == "shell" else f"command {asked[0]}"
    return "shell or command"


def _subjects(sender: Any, named: dict[str, Any]) -> tuple[str, ...]:
    """Every object a send names, so the history of each finds it: each model instance among its
    arguments (the saved one first; those in a list too), and each id of a model sender's
    `..._ids` (a stock move's cars). A bulk write names its first SUBJECTS_PER_STEP."""
    meta = getattr(sender, "_meta", None)
    # The ids a model sender names by its own model's name (car_ids, sent by Car): its rows.
    ids_named, ids_label = (f"{meta.model_name}_ids", meta.label_lower) if meta is not None else (None, "")
    found: dict[str, None] = {}
    for name, value in sorted(named.items(), key=lambda item: item[0] != "instance"):
        for item in value if isinstance(value, list | tuple | set | frozenset) else (value,):
            # A record naming the rows it is about (a bulk repricing's PriceMove(car=...)).
            for row in [getattr(item, f.name) for f in fields(item)] if is_dataclass(item) else (item,):
                if isinstance(row, models.Model) and row.pk is not None:
                    found[f"{row._meta.label_lower}:{row.pk}"] = None
                    for column, label in _parts_of(row._meta.model):  # a sale is its order's too
                        if (target := getattr(row, column)) is not None:
                            found[f"{label}:{target}"] = None
            if name == ids_named and isinstance(item, int):
                found[f"{ids_label}:{item}"] = None
            if len(found) >= SUBJECTS_PER_STEP:
                return tuple(found)
    return tuple(found)


SUBJECTS_PER_STEP = 1000


@cache
def _parts_of(model: type[models.Model]) -> tuple[tuple[str, str], ...]:
    """The rows a row of `model` is part of: (column, target's label) of each one-to-one key."""
    return tuple(
        (field.attname, related._meta.label_lower)
        for field in model._meta.concrete_fields
        if field.one_to_one and isinstance(related := field.related_model, type) and related is not model
    )


def _open(kind: str, name: str, detail: str, subjects: tuple[str, ...]) -> _Node:
    recording = _recording()
    parent = recording.stack[-1] if recording.stack else None
    node = _Node(len(recording.nodes), parent, kind, name, detail, subjects, time.perf_counter())
    node.root = recording.nodes[parent].root if parent is not None else node.seq
    recording.nodes.append(node)
    recording.stack.append(node.seq)
    if parent is None:
        _watch_commit(recording, node.seq)
    return node


def _watch_commit(recording: _Recording, seq: int) -> None:
    """A top-level send commits with its transaction: marked on commit, else rolled back.

    A recording past FLUSH_AT is written once no transaction is open: a row written inside one would
    commit with it saying its steps rolled back, or vanish with a rollback. Inside one, it is written
    as the transaction's last step is marked (the marks run in the order they were asked for), so a
    command saving row by row, each in its own transaction, keeps about FLUSH_AT steps in memory.
    """
    if not transaction.get_connection().in_atomic_block:
        recording.committed[seq] = True
        return
    recording.last_watched = seq

    def committed() -> None:
        recording.committed[seq] = True
        if recording.last_watched == seq and _current.get() is recording and _flush_due(recording):
            try:
                _flush_going_on(recording)
            except DatabaseError:  # after the commit: the action stands, its record is what is lost
                logger.warning("A signal timeline could not be written after its commit", exc_info=True)

    transaction.on_commit(committed)


def _close(node: _Node) -> None:
    recording = _current.get()
    node.ms = (time.perf_counter() - node.started) * 1000
    if recording is not None and recording.stack and recording.stack[-1] == node.seq:
        recording.stack.pop()
    if recording is None or not _flush_due(recording):
        return
    # Written once no transaction is open (inside one, by the commit of its last step: _watch_commit),
    # but for one transaction so long that holding its steps would take the process's memory (a
    # loaddata of a large fixture): written inside it, its steps marked as its own, committed with it
    # or gone with its rollback.
    if transaction.get_connection().in_atomic_block:
        if len(recording.nodes) < FLUSH_AT * LONG_TRANSACTION_FLUSHES:
            return
        for seq in (node.seq for node in recording.nodes if node.parent is None):
            recording.committed.setdefault(seq, True)
    _flush_going_on(recording)


def _flush_going_on(recording: _Recording) -> None:
    """Write what `recording` holds so far; what follows is recorded for the same cause."""
    timeline_flush()
    _current.set(_Recording(recording.cause, quiet_unless_written=recording.quiet_unless_written))


def _flush_due(recording: _Recording) -> bool:
    return not recording.stack and len(recording.nodes) >= FLUSH_AT


def _records(sender: Any) -> bool:
    """Whether sends from `sender` are recorded: a carsales model, or a custom signal's sender."""
    module = str(getattr(sender, "__module__", ""))
    return (module.startswith(PROJECT) and not module.startswith(OWN)) or sender is None


def _recording_send(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    def send(sender: Any, **named: Any) -> Any:
        if not settings.CARSALES_TIMELINE or not _records(sender):
            return original(sender, **named)
        label = getattr(getattr(sender, "_meta", None), "label", None) or getattr(sender, "__name__", "")
        node = _open("signal", name, str(label), _subjects(sender, named))
        try:
            return original(sender, **named)
        finally:
            _close(node)

    return send


def _recording_receiver(receiver: Any, name: str, mode: str, *, post_save: bool) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        guard = _in_post_save.set((*_in_post_save.get(), (name, id(kwargs.get("instance"))))) if post_save else None
        try:
            return _recorded(*args, **kwargs)
        finally:
            if guard is not None:
                _in_post_save.reset(guard)

    def _recorded(*args: Any, **kwargs: Any) -> Any:
        recording = _current.get()
        if not settings.CARSALES_TIMELINE or recording is None or not recording.stack:
            return receiver(*args, **kwargs)  # its send was not recorded
        node = _open("receiver", name, mode, ())
        try:
            return receiver(*args, **kwargs)
        except Exception as error:
            node.outcome, node.trace = "error", "".join(traceback.format_exception(error))
            raise
        finally:
            _close(node)

    call.__wrapped__ = receiver  # type: ignore[attr-defined]  # the signal map names the receiver
    return call


def install() -> None:
    """Record every signal in use, its sends and its receivers connected so far."""
    for dotted, signal in signals_in_use():
        short = dotted.rsplit(".", 1)[-1]
        if short in NOT_RECORDED:
            continue
        for method in ("send", "send_robust"):
            setattr(signal, method, _recording_send(getattr(signal, method), short))
        with signal.lock:
            wrapped = []
            for order, ((lookup_key, sender_key), ref, is_async) in enumerate(signal.receivers, start=1):
                receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
                if receiver is None or is_async or not receiver_label(receiver).startswith(PROJECT):
                    wrapped.append(((lookup_key, sender_key), ref, is_async))
                    continue
                info = connection_of(order, signal, lookup_key, "", receiver)
                recorder = _recording_receiver(
                    receiver, info.receiver, info.mode_detail, post_save=short == "post_save"
                )
                wrapped.append(((lookup_key, sender_key), recorder, is_async))
            signal.receivers = wrapped
            signal.sender_receivers_cache.clear()
    # A command or a shell has no request to end: what it recorded is written when it exits.
    atexit.register(_flush_at_exit)


def _flush_at_exit() -> None:
    try:
        timeline_flush()
    except DatabaseError:  # the database went first (a test run's, say): the records go with it
        logger.warning("The signal timeline of this process could not be written at exit", exc_info=True)


def timeline_prune(*, older_than: timedelta | None = None) -> int:
    """Delete the records older than the retention (CARSALES_TIMELINE_RETENTION_DAYS); returns how many."""
    age = older_than if older_than is not None else timedelta(days=settings.CARSALES_TIMELINE_RETENTION_DAYS)
    deleted, _ = SignalChain.objects.filter(started_at__lt=timezone.now() - age).delete()
    return deleted
