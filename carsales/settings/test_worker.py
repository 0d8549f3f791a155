"""Settings of the worker subprocesses that tests start: the test settings, except that mail goes
where the test says (EMAIL_BACKEND, EMAIL_FILE_PATH, EMAIL_HOST/PORT/TIMEOUT from base.py) so a
test can count or stall it, leases and backoff can be shortened so recovery fits in a test, and
the benchmarks can record the signal timeline as a deployment does (CARSALES_TIMELINE)."""

import os

from .test import *  # noqa: F403

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", EMAIL_BACKEND)  # noqa: F405
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "")
CARSALES_TIMELINE = env_bool("CARSALES_TIMELINE", CARSALES_TIMELINE)  # noqa: F405
EVENTS = {
    **EVENTS,  # noqa: F405
    "LEASE_GRACE": float(os.environ.get("EVENTS_LEASE_GRACE", "30")),
    "BACKOFF_BASE": float(os.environ.get("EVENTS_BACKOFF_BASE", "2")),
    "HANDOFF_TIMEOUT": float(os.environ.get("EVENTS_HANDOFF_TIMEOUT", "60")),
}
