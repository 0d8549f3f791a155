"""events.E002: a combination of settings that would run a durable receiver before its sender
commits, for a write that rolls back, or never, stops Django at start-up and says why."""

import pytest

from carsales.events import checks
from carsales.events.checks import deliveries_run_only_after_commit

DB = {"BACKEND": "django_tasks_db.DatabaseBackend"}
RQ = {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": []}
IMMEDIATE = {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
DUMMY = {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}


@pytest.fixture
def outside_tests(monkeypatch):
    monkeypatch.setattr(checks, "_in_tests", lambda: False)


def configure(settings, *, transport: str, backend: dict, **events) -> None:
    settings.TASKS = {"default": DB, "jobs": backend}
    settings.EVENTS = {**settings.EVENTS, "TRANSPORT": transport, "TASK_BACKEND": "jobs", **events}


@pytest.mark.parametrize(
    ("transport", "backend"),
    [("database", DB), ("tasks", RQ), ("tasks", DB)],
    ids=["database-with-its-jobs-in-the-database", "rq-after-commit", "django-tasks-db-after-commit"],
)
def test_what_keeps_the_guarantee_passes(settings, outside_tests, transport, backend):
    configure(settings, transport=transport, backend=backend)
    assert deliveries_run_only_after_commit() == []


def test_celery_passes(settings, outside_tests):
    settings.EVENTS = {**settings.EVENTS, "TRANSPORT": "celery", "CELERY_APP": "carsales.celery.app"}
    assert deliveries_run_only_after_commit() == []


@pytest.mark.parametrize(
    ("transport", "backend", "check", "says"),
    [
        ("database", RQ, "events.E002", "inside the sender's"),
        ("database", IMMEDIATE, "events.E005", "runs each delivery in the process that sends the signal"),
        ("tasks", IMMEDIATE, "events.E005", "runs each delivery in the process that sends the signal"),
        ("tasks", DUMMY, "events.E006", "never runs a job"),
    ],
    ids=["broker-inside-the-transaction", "immediate-inside-the-transaction", "immediate-at-the-commit", "dummy"],
)
def test_what_breaks_the_guarantee_is_a_start_up_error_that_says_why(
    settings, outside_tests, transport, backend, check, says
):
    configure(settings, transport=transport, backend=backend)

    [error] = deliveries_run_only_after_commit()

    assert error.id == check and says in error.msg and error.hint


def test_celery_without_the_projects_app_is_refused(settings, outside_tests):
    settings.EVENTS = {**settings.EVENTS, "TRANSPORT": "celery", "CELERY_APP": None}

    [error] = deliveries_run_only_after_commit()

    assert error.id == "events.E007" and "CELERY_APP" in error.msg


def test_the_immediate_backend_is_allowed_under_the_test_runner(settings):
    configure(settings, transport="tasks", backend=IMMEDIATE)
    assert deliveries_run_only_after_commit() == []


@pytest.mark.parametrize(
    ("events", "says"),
    [
        ({"TRANSPORT": "no.such.Transport"}, "EVENTS['TRANSPORT'] cannot be loaded"),
        ({"TASK_BACKEND": "missing"}, "TASKS['missing'] cannot be loaded"),
        ({"TRANSPORT": "celery", "CELERY_APP": "no.such.app"}, "EVENTS['CELERY_APP'] cannot be loaded"),
    ],
    ids=["transport", "backend", "celery-app"],
)
def test_a_transport_or_backend_that_does_not_exist_is_refused(settings, outside_tests, events, says):
    settings.EVENTS = {**settings.EVENTS, **events}

    [error] = deliveries_run_only_after_commit()

    assert error.id == "events.E004" and says in error.msg


@pytest.mark.parametrize(
    ("settings_lines", "check"),
    [
        (
            "TASKS = {**TASKS, 'rq': {'BACKEND': 'django_tasks_rq.RQBackend', 'QUEUES': []}}\n"
            "EVENTS = {**EVENTS, 'TASK_BACKEND': 'rq'}\n",
            "events.E002",
        ),
        ("EVENTS = {**EVENTS, 'TRANSPORT': 'no.such.Transport'}\n", "events.E004"),
    ],
    ids=["broker-inside-the-transaction", "transport-that-does-not-load"],
)
def test_manage_py_check_reports_the_error_instead_of_crashing(tmp_path, settings_lines, check):
    import os
    import subprocess
    import sys

    from .processes import ROOT

    (tmp_path / "checked_settings.py").write_text("from carsales.settings.dev import *\n" + settings_lines)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "DJANGO_SETTINGS_MODULE": "checked_settings"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)

    assert result.returncode == 1 and f"({check})" in result.stderr and "Traceback" not in result.stderr


def test_a_queue_the_backend_does_not_list_is_refused(settings):
    from carsales.events.checks import durable_queues_accepted_by_the_backend

    configure(settings, transport="tasks", backend={**RQ, "QUEUES": ["default", "email", "files", "images"]})
    assert {error.msg.split("'")[1] for error in durable_queues_accepted_by_the_backend()} == {"events_tests.tally"}

    configure(settings, transport="tasks", backend={**RQ, "QUEUES": settings.DELIVERY_QUEUES})
    assert durable_queues_accepted_by_the_backend() == []
