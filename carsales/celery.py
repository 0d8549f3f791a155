"""The Celery app, for EVENTS_EXECUTOR=celery (docs/deployment.md):

    EVENTS_EXECUTOR=celery celery -A carsales.celery worker -Q default,email,files,images --concurrency 4

Its settings are Django's CELERY_* settings; the durable events' tasks register themselves
when Django starts with the "celery" transport.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "carsales.settings.production")  # as wsgi.py

app = Celery("carsales")
app.config_from_object("django.conf:settings", namespace="CELERY")
