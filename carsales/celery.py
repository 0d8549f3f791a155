"""The Celery app, for EVENTS_EXECUTOR=celery (docs/deployment.md):

    EVENTS_EXECUTOR=celery celery -A carsales.celery worker -Q default,email,files,images

Its settings are Django's CELERY_* settings; the durable events' tasks register themselves
when Django starts with the "celery" transport.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carsales.settings.dev")

app = Celery("carsales")
app.config_from_object("django.conf:settings", namespace="CELERY")
