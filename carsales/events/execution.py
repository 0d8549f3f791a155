"""Calling a receiver with a time limit, and stopping it when the worker is told to stop.

A thread cannot be killed in Python, so the limit is an interrupt: in the main thread (the
events_worker) SIGALRM raises ReceiverTimeout inside the receiver, which also breaks a blocking
socket read; a C extension that never returns to Python is not interrupted. In other threads
(another Tasks backend's thread pool) nothing interrupts a sync receiver: bound its outside
calls with their own timeouts (EMAIL_TIMEOUT, requests' timeout=). An async receiver is bounded
by asyncio.wait_for wherever it runs.
"""

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from asgiref.sync import async_to_sync
from django.db import connections

from .carry import Event


class ReceiverTimeout(Exception):
    """The receiver ran past its timeout; the attempt counts as failed."""


class WorkerStopping(BaseException):
    """Raised inside a sync receiver when the worker is told to stop; the delivery is released.

    A BaseException, so a receiver's `except Exception` does not swallow it.
    """


_in_receiver = False  # main thread only: whether a sync receiver is running now


def in_receiver() -> bool:
    """Whether the main thread is inside a sync receiver (so a stop may interrupt it)."""
    return _in_receiver


def call_receiver(function: Callable[[Event], Any], event: Event, *, timeout: float | None) -> None:
    """Call `function(event)`, awaiting it if it is async, for at most `timeout` seconds.

    Args:
        timeout: seconds, or None / 0 for no limit.
    Returns nothing; the receiver's return value is ignored.
    Raises whatever the receiver raises, ReceiverTimeout past the limit, or WorkerStopping when
    the worker is told to stop during a sync receiver in the main thread.
    """
    if asyncio.iscoroutinefunction(function):
        async_to_sync(_bounded)(function, event, timeout)
        return
    if not timeout or threading.current_thread() is not threading.main_thread():
        function(event)
        return
    global _in_receiver
    previous = signal.signal(signal.SIGALRM, _time_is_up)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    _in_receiver = True
    try:
        function(event)
    except (ReceiverTimeout, WorkerStopping):
        _drop_connections_outside_atomic()
        raise
    finally:
        _in_receiver = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


async def _bounded(function: Callable[[Event], Any], event: Event, timeout: float | None) -> None:
    try:
        await asyncio.wait_for(function(event), timeout or None)
    except TimeoutError:
        raise ReceiverTimeout(f"Receiver ran past its timeout of {timeout}s") from None


def _drop_connections_outside_atomic() -> None:
    """Close the connections no atomic block owns, after a receiver was interrupted by a signal.

    The interrupt can land between a driver call and Django's record of it: after a BEGIN that
    took SQLite's write lock, before atomic() noted the transaction. Such a connection stays in a
    transaction Django does not know of, holding the lock for good (every other writer: "database
    is locked"). Closing it rolls that back; the next query reconnects.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def _time_is_up(signum: int, frame: FrameType | None) -> None:
    raise ReceiverTimeout("Receiver ran past its timeout and was interrupted")
