"""`python -m carsales.events.tests.worker_main [events_worker options]`: the events worker with
the test receivers registered, for the tests and benchmarks that run workers as processes."""

import os
import sys

import django

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carsales.settings.test")
    django.setup()
    from django.core.management import call_command

    from carsales.events.tests import receivers  # noqa: F401  (registers them in this process)

    call_command("events_worker", *sys.argv[1:])
