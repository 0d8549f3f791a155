"""Request counts and latency per route, from Django's request_started / request_finished
(the images-and-requests tutorial's request signals), kept in memory and flushed to the cache
now and then (services), never a database write per request.

request_finished carries no request, so request_started notes the start and the path in a
context variable of the thread or task serving it. The same receivers begin and write the signal
timeline of each request, django-tasks' task_started / task_finished those of each task, and the
events app's delivery_attempt_started / _finished those of each durable delivery's attempt.
"""

import time
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db.models.signals import pre_save
from django.urls import Resolver404, resolve
from django_tasks import TaskResultStatus
from django_tasks.signals import task_finished, task_started

from carsales.events.signals import deliveries_done, delivery_attempt_finished, delivery_attempt_started
from carsales.events.tasks import deliver

from .selectors import UNMATCHED, static_files_route
from .services import request_record
from .timeline import (
    saving_own_sender,
    timeline_begin,
    timeline_flush,
    timeline_task_begin,
    timeline_task_end,
    timeline_write_kept,
)

_started: ContextVar[tuple[float, str] | None] = ContextVar("request_started", default=None)


def note_request_start(sender: Any, environ: dict[str, Any] | None = None, scope: Any = None, **kwargs: Any) -> None:
    path = (environ or {}).get("PATH_INFO") or (scope or {}).get("path", "")
    method = (environ or {}).get("REQUEST_METHOD") or (scope or {}).get("method", "")
    _started.set((time.perf_counter(), path))
    timeline_begin(f"{method} {path}", read_only=method in {"GET", "HEAD", "OPTIONS"})


def count_finished_request(sender: Any, **kwargs: Any) -> None:
    started = _started.get()
    if started is None:
        return
    _started.set(None)
    began, path = started
    try:
        route = resolve(path).route
    except Resolver404:
        # WhiteNoise serves what lies under a STATIC_URL of this site ("static/" or "/static/").
        static = "/" + settings.STATIC_URL.strip("/") + "/"
        route = static_files_route() if path.startswith(static) else UNMATCHED
    request_record(route=route, milliseconds=(time.perf_counter() - began) * 1000)
    timeline_flush()


def refuse_saving_own_sender(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """A post_save receiver that saves the instance it was handed sends post_save again, and
    again: refuse it at once, naming the receiver (assigning a field there saves nothing either)."""
    receiver = saving_own_sender(instance)
    if receiver is not None and not raw:
        raise RuntimeError(
            f"{receiver} saves the {type(instance).__name__} its post_save is about: that recurses. "
            "Write the field with a queryset update(), or assign it in pre_save."
        )


def note_task_start(sender: Any, task_result: Any, **kwargs: Any) -> None:
    """A worker's task is the cause of what it sets off (a delivery's is its attempt, below)."""
    path = task_result.task.module_path
    if path != deliver.module_path:
        timeline_task_begin(name=f"{path} {task_result.args}", subject="")


def write_task_timeline(sender: Any, task_result: Any, **kwargs: Any) -> None:
    if task_result.task.module_path != deliver.module_path:
        timeline_task_end(failed=task_result.status == TaskResultStatus.FAILED)


def note_delivery_attempt(sender: Any, delivery: Any, **kwargs: Any) -> None:
    """A durable delivery's attempt, whichever executor runs it, is the cause of what it sets off,
    filed under its delivery, so the delivery's history shows the chain that owed it and each attempt."""
    timeline_task_begin(
        name=f"delivery {delivery.receiver} #{delivery.pk} attempt {delivery.attempts}",
        subject=f"events.delivery:{delivery.pk}",
    )


def write_delivery_timeline(sender: Any, delivery: Any, status: str, **kwargs: Any) -> None:
    # A done attempt's chain is written with its outcome (deliveries_done): a worker's batch of
    # emails writes its chains in one INSERT, in the transaction that records them done.
    timeline_task_end(failed=status != "done", later=_attempt_key(delivery) if status == "done" else None)


def write_done_deliveries_timelines(sender: Any, deliveries: Any, **kwargs: Any) -> None:
    timeline_write_kept(_attempt_key(delivery) for delivery in deliveries)


def _attempt_key(delivery: Any) -> tuple[int, int]:
    return delivery.pk, delivery.attempts


request_started.connect(note_request_start, dispatch_uid="observability.note_request_start")
request_finished.connect(count_finished_request, dispatch_uid="observability.count_finished_request")
pre_save.connect(refuse_saving_own_sender, dispatch_uid="observability.refuse_saving_own_sender")
task_started.connect(note_task_start, dispatch_uid="observability.note_task_start")
task_finished.connect(write_task_timeline, dispatch_uid="observability.write_task_timeline")
delivery_attempt_started.connect(note_delivery_attempt, dispatch_uid="observability.note_delivery_attempt")
delivery_attempt_finished.connect(write_delivery_timeline, dispatch_uid="observability.write_delivery_timeline")
deliveries_done.connect(write_done_deliveries_timelines, dispatch_uid="observability.write_done_deliveries_timelines")
