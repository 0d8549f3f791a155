"""The Celery tasks of the "celery" transport; imported by the app when that transport is chosen.

Run workers with the project's Celery app on the deliveries' queues, for instance
`celery -A proj worker -Q default,email --prefetch-multiplier 1`, and the sweep either on
Celery beat (the "events.housekeeping" task every SWEEP_INTERVAL seconds, sent to a queue the
workers consume: Celery's default one, "celery", is not among the deliveries') or as one
`manage.py events_worker --housekeeping-only` beside them.
"""

import os
import socket

from celery import shared_task

from .services import deliveries_sweep, delivery_run, housekeeping_run, worker_connections_checked

DELIVER = "events.deliver"
HOUSEKEEPING = "events.housekeeping"


@shared_task(name=DELIVER, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(delivery_id: int) -> str:
    """Run one delivery. The message is acknowledged once this returns, so a worker killed
    mid-delivery has it redelivered by the broker; the delivery's claim skips a run whose
    lease is still live, and the sweep takes up one whose worker is gone."""
    return delivery_run(delivery_id=delivery_id, worker=f"celery:{socket.gethostname()}:{os.getpid()}")


@shared_task(name=HOUSEKEEPING, ignore_result=True)
def housekeeping() -> int:
    """Take up deliveries whose worker or hand-off was lost, then run the HOUSEKEEPING callables."""
    worker_connections_checked()
    taken_up = deliveries_sweep()
    housekeeping_run()
    return taken_up
