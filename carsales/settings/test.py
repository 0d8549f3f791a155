"""Test settings: fast hashing, isolated media, in-memory mail."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403

SECRET_KEY = "test-only-key"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="carsales-test-media-"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "carsales.core.storage.StaticFiles"},
}
if DATABASES["default"]["ENGINE"] == "carsales.core.sqlite":  # noqa: F405
    # A file, not :memory:, so that concurrency tests can open several connections to it.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.mkdtemp(prefix="carsales-test-db-")) / "test.sqlite3")}  # noqa: F405
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="carsales-test-static-"))
# Limits high enough that no ordinary test trips them; the tests of the limits put back the real
# ones (carsales.settings.base) and start from an empty cache.
CARSALES_RATE_LIMITS = {scope: (10_000, seconds) for scope, (_, seconds) in CARSALES_RATE_LIMITS.items()}  # noqa: F405
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        "anon_write": "10000/minute",
        "user_write": "10000/minute",
        "staff_write": "10000/minute",
        "token": "10000/minute",
    },
}
# The timeline's write at the end of each request would count in the tests' query budgets; its own
# tests turn it on.
CARSALES_TIMELINE = False
# A test's writes are rolled back, never committed: never notified. Its own tests turn it on.
CARSALES_CATALOGUE_VERSION_PUSHED = False
# The events tests' receivers have a queue of their own.
DELIVERY_QUEUES = [*DELIVERY_QUEUES, "tally"]  # noqa: F405
RQ_QUEUES = {name: RQ_QUEUES["default"] for name in DELIVERY_QUEUES}  # noqa: F405
if "rq" in TASKS:  # noqa: F405
    TASKS["rq"]["QUEUES"] = DELIVERY_QUEUES  # noqa: F405
