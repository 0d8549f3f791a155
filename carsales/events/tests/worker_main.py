"""`python -m carsales.events.tests.worker_main [EXECUTOR] [options]`: a worker with the test
receivers registered, for the tests and benchmarks that run workers as processes.

EXECUTOR is "events" (default: manage.py events_worker with the options), "celery" (a Celery
worker of carsales.celery on the delivery queues) or "rq" (manage.py rqworker on them).
"""

import os
import sys

import django

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carsales.settings.test")
    executor, *options = (
        sys.argv[1:] if sys.argv[1:2] in (["celery"], ["rq"], ["events"]) else ["events", *sys.argv[1:]]
    )
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from carsales.events.tests import receivers  # noqa: F401  (registers them in this process)

    queues = settings.DELIVERY_QUEUES
    if executor == "celery":
        from carsales.celery import app

        # One child process: a test's "worker" is one process running one delivery at a time, as
        # the other executors' are (a deployment runs several: --concurrency 4 in docs/deployment.md).
        # Prefork, not solo: the solo pool stalled for seconds with messages waiting, measured here.
        # Workers.kill takes the child with its parent.
        app.worker_main(
            [
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                f"--queues={','.join(queues)}",
                f"--hostname=w{os.getpid()}@%h",  # unique: two workers of one name lock each other out
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=INFO",
                *options,
            ]
        )
    elif executor == "rq":
        call_command(
            "rqworker",
            *queues,
            "--with-scheduler",
            "--job-class=django_tasks_rq.backend.Job",
            "--worker-class=rq.worker.SimpleWorker",
            *options,
        )
    else:
        call_command("events_worker", *options)
