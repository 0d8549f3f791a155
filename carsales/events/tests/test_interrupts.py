"""A receiver interrupted by its timeout leaves no transaction behind on the worker's connection."""

import pytest
from django.db import connection

from carsales.events.models import Delivery

from .conftest import delivery_of
from .receivers import stray_thing

pytestmark = pytest.mark.django_db(transaction=True)  # the worker's situation: no transaction around the receiver


def in_driver_transaction() -> bool:
    if connection.connection is None:
        return False
    if connection.vendor == "sqlite":
        return connection.connection.in_transaction
    return connection.connection.info.transaction_status != connection.connection.info.transaction_status.IDLE


def test_a_receiver_interrupted_inside_a_transaction_django_does_not_know_of_leaves_no_lock_behind(run_tasks):
    stray_thing.send(sender=None)

    run_tasks()  # the receiver begins a transaction behind Django's back, then times out

    delivery = delivery_of("stray_transaction")
    assert delivery.status == Delivery.Status.RETRYING  # the outcome was written: the lock was let go
    assert delivery.error_summary.startswith("carsales.events.execution.ReceiverTimeout")
    assert not in_driver_transaction()
