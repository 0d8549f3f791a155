"""Settings of the worker subprocesses that tests start: the test settings, except that mail goes
where the test says (EMAIL_BACKEND, EMAIL_FILE_PATH, EMAIL_HOST/PORT/TIMEOUT from base.py) so a
test can count or stall it, and leases and backoff can be shortened so recovery fits in a test."""

import os

from .test import *  # noqa: F403

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", EMAIL_BACKEND)  # noqa: F405
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "")
EVENTS = {
    **EVENTS,  # noqa: F405
    "LEASE_GRACE": float(os.environ.get("EVENTS_LEASE_GRACE", "30")),
    "BACKOFF_BASE": float(os.environ.get("EVENTS_BACKOFF_BASE", "2")),
    "HANDOFF_TIMEOUT": float(os.environ.get("EVENTS_HANDOFF_TIMEOUT", "60")),
}
