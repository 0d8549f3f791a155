import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db.models.signals import post_save

from carsales.catalog.models import Car
from carsales.core.checks import receivers_badly_connected, receivers_not_imported
from carsales.events.checks import durable_receivers_known_to_workers
from carsales.events.durable import Event, durable_receiver, registry

ROOT = Path(__file__).resolve().parents[3]


def _ids(messages):
    return [message.id for message in messages]


def project_receiver(sender, **kwargs):
    return None


def test_carsales_passes_every_check_when_started_as_in_development():
    # DEBUG on, as `make run`: Django then also checks every receiver's signature.
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "carsales.settings.dev"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
    assert "AXES" not in result.stdout + result.stderr  # no banner on every command


def test_a_receivers_module_never_imported_is_an_error(monkeypatch):
    monkeypatch.delitem(sys.modules, "carsales.audit.receivers")

    [error] = receivers_not_imported()

    assert error.id == "carsales.E001" and "carsales.audit.receivers" in error.msg


def test_a_receiver_connected_without_a_dispatch_uid_is_an_error():
    post_save.connect(project_receiver, sender=Car)
    try:
        errors = receivers_badly_connected()
    finally:
        post_save.disconnect(project_receiver, sender=Car)

    assert _ids(errors) == ["carsales.E002"]
    assert "test_checks.project_receiver" in errors[0].msg and "post_save" in errors[0].msg


def test_a_receiver_connected_twice_is_an_error():
    post_save.connect(project_receiver, sender=Car, dispatch_uid="tests.once")
    post_save.connect(project_receiver, sender=Car, dispatch_uid="tests.twice")
    try:
        errors = receivers_badly_connected()
    finally:
        post_save.disconnect(sender=Car, dispatch_uid="tests.once")
        post_save.disconnect(sender=Car, dispatch_uid="tests.twice")

    assert _ids(errors) == ["carsales.E003"]


def test_a_closure_held_only_weakly_is_an_error():
    def closure(sender, **kwargs):
        return None

    post_save.connect(closure, sender=Car, dispatch_uid="tests.closure")
    try:
        errors = receivers_badly_connected()
    finally:
        post_save.disconnect(sender=Car, dispatch_uid="tests.closure")

    assert _ids(errors) == ["carsales.E004"]


def test_a_durable_receiver_a_worker_would_not_import_is_an_error():
    @durable_receiver(post_save, sender=Car, dispatch_uid="tests.checks.lazy")
    def declared_lazily(event: Event) -> None:
        return None

    try:
        errors = durable_receivers_known_to_workers()
    finally:
        post_save.disconnect(sender=Car, dispatch_uid="events:tests.checks.lazy")
        registry.pop("tests.checks.lazy")

    # Test modules elsewhere in the suite declare durable receivers of their own: only ours is asserted.
    [error] = [error for error in errors if "tests.checks.lazy" in error.msg]
    assert error.id == "events.E001" and "carsales.core.tests.test_checks" in error.msg


def saving_its_sender(sender, instance, **kwargs):
    instance.save()


def test_a_post_save_receiver_saving_its_own_instance_is_an_error():
    from carsales.core.checks import receivers_saving_their_sender

    post_save.connect(saving_its_sender, sender=Car, dispatch_uid="tests.saving")
    try:
        errors = receivers_saving_their_sender()
    finally:
        post_save.disconnect(sender=Car, dispatch_uid="tests.saving")

    assert _ids(errors) == ["carsales.E005"] and "test_checks.saving_its_sender" in errors[0].msg
    assert receivers_saving_their_sender() == []


@pytest.mark.django_db
def test_a_receiver_saving_its_own_sender_at_run_time_is_stopped_and_named(monkeypatch):
    from carsales.conftest import CarFactory

    monkeypatch.setattr("carsales.audit.receivers.audit_record", lambda **kwargs: kwargs["target"].save())

    with pytest.raises(RuntimeError, match=r"carsales\.audit\.receivers\.log_car_saved saves the Car"):
        CarFactory()


def test_a_durable_receiver_carrying_an_argument_its_signal_does_not_send_is_an_error():
    from carsales.core.checks import durable_receivers_carrying_what_is_not_sent
    from carsales.orders.signals import order_placed

    @durable_receiver(order_placed, dispatch_uid="events_tests.checks.typo", carries={"ordr"})
    def mistyped(event: Event) -> None:
        return None

    try:
        errors = durable_receivers_carrying_what_is_not_sent()
    finally:
        order_placed.disconnect(dispatch_uid="events:events_tests.checks.typo")
        registry.pop("events_tests.checks.typo")

    [error] = [e for e in errors if "events_tests.checks.typo" in e.msg]
    assert error.id == "carsales.E006" and "carries ordr" in error.msg and "order" in error.hint
    assert durable_receivers_carrying_what_is_not_sent() == []
