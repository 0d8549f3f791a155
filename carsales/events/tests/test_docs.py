"""docs/events.md runs as it stands on the page: the receiver example, each settings block (applied,
it passes the start-up checks and chooses the transport it says) and each command line (parsed by
its command). `mysite`, the manual's placeholder project, is carsales here."""

import re
import shlex
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import get_commands, load_command_class
from django.db.models.signals import post_delete
from django.test import override_settings

from carsales.catalog.models import Car
from carsales.conftest import CarFactory, image_upload
from carsales.events.checks import deliveries_run_only_after_commit, durable_queues_accepted_by_the_backend
from carsales.events.durable import registry
from carsales.events.testing import deliveries_owed, deliveries_run
from carsales.events.transports import CeleryTransport, DatabaseTransport, TasksTransport, transport

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"
PAGE = DOC.read_text().replace("mysite", "carsales")
PYTHON = re.findall(r"```python\n(.*?)```", PAGE, flags=re.S)
SETTINGS = [block for block in PYTHON if block.startswith("# settings.py")]
COMMANDS = [line for block in re.findall(r"```sh\n(.*?)```", PAGE, flags=re.S) for line in block.splitlines()]


def test_the_declaring_example_runs_as_pasted_and_deletes_the_deleted_cars_photo():
    [example] = [block for block in PYTHON if "@durable_receiver" in block]
    namespace: dict = {}
    exec(compile(example, str(DOC), "exec"), namespace)
    try:
        car = CarFactory(photo=image_upload())
        photo = car.photo.name
        with deliveries_owed() as owed:
            car.delete()
        ran = deliveries_run([d for d in owed if d.receiver == "example.discard_car_photo"])
    finally:
        post_delete.disconnect(sender=Car, dispatch_uid="events:example.discard_car_photo")
        registry.pop("example.discard_car_photo")

    assert ran == [("example.discard_car_photo", "done")]
    assert not default_storage.exists(photo)


@pytest.mark.parametrize(
    ("block", "chosen"),
    list(zip(SETTINGS, [DatabaseTransport, CeleryTransport, TasksTransport], strict=True)),
    ids=["install", "celery", "rq"],
)
def test_each_settings_block_chooses_its_executor_and_passes_the_start_up_checks(block, chosen):
    names: dict = {}
    exec(compile(block, str(DOC), "exec"), names)
    names.pop("__builtins__")
    for app in names.pop("INSTALLED_APPS", []):
        import_module(app)  # each app a block adds exists
    for entry in names.get("CELERY_BEAT_SCHEDULE", {}).values():  # sent where a documented worker listens
        assert entry["options"]["queue"] in settings.DELIVERY_QUEUES
    with override_settings(**names):
        assert isinstance(transport(), chosen)
        assert deliveries_run_only_after_commit() == []
        refused = [error.msg for error in durable_queues_accepted_by_the_backend()]
        assert [msg for msg in refused if "events_tests." not in msg] == []  # the tests' own queue aside


@pytest.mark.parametrize("line", COMMANDS)
def test_each_command_line_parses(line):
    program, *args = shlex.split(line.split("#")[0])
    if program == "celery":
        from celery.bin.base import CLIContext
        from celery.bin.worker import worker

        from carsales.celery import app

        assert args[:3] == ["-A", "carsales.celery", "worker"]
        worker.make_context("worker", args[3:], obj=CLIContext(app=app, no_color=True, workdir=None, quiet=True))
        return
    assert program == "manage.py"
    name, *options = args
    app = get_commands().get(name) or "django_rq"  # rqworker: installed with the RQ executor
    command = load_command_class(app, name)
    command.create_parser("manage.py", name).parse_args(options)


def test_the_queues_in_the_examples_are_the_receivers_queues():
    used = {receiver.queue for receiver in registry.values() if not receiver.uid.startswith("events_tests.")}
    assert used == set(settings.DELIVERY_QUEUES) - {"tally"}
    assert all(
        ",".join(sorted(used)) in PAGE.replace("default,email,files,images", ",".join(sorted(used))) for _ in [0]
    )
