import os
import socket

from django_tasks import task

from .services import delivery_run

WORKER = f"{socket.gethostname()}:{os.getpid()}"


@task()
def deliver(delivery_id: int) -> str:
    """Run one delivery; the job is only a wake-up call, the Delivery row holds the state.

    Any Tasks backend can run it: the claim on the row, not the job, makes it run once.
    Returns the delivery's new status, or "skipped" when there was nothing to do.
    """
    return delivery_run(delivery_id=delivery_id, worker=WORKER)
