"""Snapshots past the retention are thinned to the figures each day closed on."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from carsales.conftest import CarFactory
from carsales.core.tests.invariants import assert_store_is_true
from carsales.events.services import housekeeping_run
from carsales.inventory.models import CarInventory
from carsales.inventory.selectors import inventory_current
from carsales.inventory.services import inventory_snapshots_prune

pytestmark = pytest.mark.django_db


def test_old_snapshots_keep_the_last_of_each_day_and_recent_ones_all(settings):
    settings.CARSALES_INVENTORY_SNAPSHOT_DAYS = 30
    now = timezone.now()
    for days_ago in (60, 45):
        with time_machine.travel(now - timedelta(days=days_ago), tick=False):
            CarFactory.create_batch(3)  # three changes that day
    closing = [CarInventory.objects.filter(created_at__lt=now - timedelta(days=days)).first() for days in (44, 59)]
    CarFactory.create_batch(2)  # today
    current = inventory_current()

    assert inventory_snapshots_prune() == 4

    old = CarInventory.objects.filter(created_at__lt=now - timedelta(days=30))
    assert sorted(old.values_list("pk", flat=True)) == sorted(snapshot.pk for snapshot in closing)
    assert CarInventory.objects.filter(created_at__gte=now - timedelta(days=1)).count() == 2
    assert inventory_current() == current
    assert_store_is_true()


def test_the_workers_housekeeping_prunes_them(settings):
    settings.CARSALES_INVENTORY_SNAPSHOT_DAYS = 1
    with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):
        CarFactory.create_batch(2)

    housekeeping_run()

    assert CarInventory.objects.count() == 1
