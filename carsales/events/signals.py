"""Signals of the delivery machinery itself, for observers (a timeline, metrics), whatever the executor."""

from django.dispatch import Signal

delivery_attempt_started = Signal()
"""Sent by the process about to call a durable receiver, after its claim; kwargs: `delivery`
(the Delivery, RUNNING, `attempts` counting this one). Sent with `send_robust`: an observer that
fails is logged and the attempt runs all the same."""

delivery_attempt_finished = Signal()
"""Sent after the call, before the outcome is recorded; kwargs: `delivery`, `status` (the status
it is about to get: "done", "retrying" or "dead"). Sent with `send_robust`, like the above. Not
sent for an attempt interrupted by a stopping worker (handed back, not counted). An observer that
writes for a done attempt may keep it until deliveries_done."""

deliveries_done = Signal()
"""Sent when the "done" outcome of one or more attempts is stored (a worker's batch records its
successes together), inside the transaction that stores it; kwargs: `deliveries` (the Delivery
rows stored DONE, not those whose lease ran out: their outcome is another attempt's to record).
Sent with `send_robust` under a savepoint: an observer that fails is logged, and when its error
broke the transaction what the observers wrote is undone; the outcomes are stored all the same.
What an observer writes here shares the outcomes' commit (on SQLite, one take of the write lock)
instead of one per attempt."""
