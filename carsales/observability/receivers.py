"""Request counts and latency per route, from Django's request_started / request_finished
(the images-and-requests tutorial's request signals), kept in memory and flushed to the cache
now and then (services), never a database write per request.

request_finished carries no request, so request_started notes the start and the path in a
context variable of the thread or task serving it.
"""

import time
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished, request_started
from django.urls import Resolver404, resolve

from .selectors import UNMATCHED
from .services import request_record

_started: ContextVar[tuple[float, str] | None] = ContextVar("request_started", default=None)


def note_request_start(sender: Any, environ: dict[str, Any] | None = None, scope: Any = None, **kwargs: Any) -> None:
    path = (environ or {}).get("PATH_INFO") or (scope or {}).get("path", "")
    _started.set((time.perf_counter(), path))


def count_finished_request(sender: Any, **kwargs: Any) -> None:
    started = _started.get()
    if started is None:
        return
    _started.set(None)
    began, path = started
    try:
        route = resolve(path).route
    except Resolver404:
        route = UNMATCHED
    request_record(route=route, milliseconds=(time.perf_counter() - began) * 1000)


request_started.connect(note_request_start, dispatch_uid="observability.note_request_start")
request_finished.connect(count_finished_request, dispatch_uid="observability.count_finished_request")
