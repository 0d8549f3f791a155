"""Signals of the delivery machinery itself, for observers (a timeline, metrics), whatever the executor."""

from django.dispatch import Signal

delivery_attempt_started = Signal()
"""Sent by the process about to call a durable receiver, after its claim; kwargs: `delivery`
(the Delivery, RUNNING, `attempts` counting this one). Sent with `send`: an observer that fails
fails the attempt, which is retried."""

delivery_attempt_finished = Signal()
"""Sent after the call, before the outcome is recorded; kwargs: `delivery`, `status` (the status
it is about to get: "done", "retrying" or "dead"). Not sent for an attempt interrupted by a
stopping worker (handed back, not counted)."""
