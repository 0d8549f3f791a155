"""One receiver's deliveries for one object run one at a time, in the order of their events."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from carsales.events.models import Delivery
from carsales.events.services import delivery_run

from .conftest import ran
from .receivers import failing

pytestmark = pytest.mark.django_db


def test_a_later_event_waits_while_an_earlier_one_for_the_same_object_is_retrying(run_tasks):
    group = Group.objects.create(name="v1")
    group.name = "v2"
    group.save()
    group.name = "v3"
    group.save()
    first, second, third = Delivery.objects.filter(receiver="events_tests.group_saved").order_by("pk")
    failing["group_saved"] = lambda: ConnectionError("down")

    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert delivery_run(delivery_id=first.pk) == Delivery.Status.RETRYING
        failing.clear()
        run_tasks()
        assert delivery_run(delivery_id=second.pk) == "skipped"  # held back behind the first
        assert not ran("group_saved")

        traveller.shift(timedelta(seconds=5))
        run_tasks()

    assert [event.instance_data["name"] for event in ran("group_saved")] == ["v1", "v2", "v3"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.DONE}
    assert third.pk > second.pk


def test_a_dead_delivery_no_longer_holds_back_its_lane(run_tasks):
    group = Group.objects.create(name="v1")
    group.name = "v2"
    group.save()
    failing["group_saved"] = lambda: ConnectionError("down")
    Delivery.objects.state_write(max_attempts=1)

    run_tasks()  # the first dies; the second is woken when it does, and also fails

    assert list(Delivery.objects.order_by("pk").values_list("status", flat=True)) == ["dead", "dead"]


def test_events_for_other_objects_are_not_held_back(run_tasks):
    Group.objects.create(name="stuck")
    failing["group_saved"] = lambda: ConnectionError("down")
    run_tasks()
    failing.clear()

    Group.objects.create(name="other")
    run_tasks()

    assert [event.instance_data["name"] for event in ran("group_saved")] == ["other"]


def test_an_ordered_receiver_carrying_no_instance_still_keeps_its_objects_order():
    from django.contrib.auth.models import Group
    from django.db.models.signals import post_save

    from carsales.events.durable import Event, durable_receiver, registry
    from carsales.events.models import Delivery

    @durable_receiver(post_save, sender=Group, dispatch_uid="events_tests.ordered_without_instance", carries=())
    def ordered_without_instance(event: Event) -> None:
        return None

    try:
        group = Group.objects.create(name="lane")
    finally:
        post_save.disconnect(sender=Group, dispatch_uid="events:events_tests.ordered_without_instance")
        registry.pop("events_tests.ordered_without_instance")

    delivery = Delivery.objects.get(receiver="events_tests.ordered_without_instance")
    assert delivery.lane == f"events_tests.ordered_without_instance|auth.group:{group.pk}"
    assert "instance" not in delivery.payload
