"""Sending writes deliveries in the sender's transaction; the worker runs them, effects once."""

import threading

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from carsales.events.carry import InstanceData, NotCarriable
from carsales.events.durable import durable_receiver
from carsales.events.models import Delivery
from carsales.events.services import delivery_run
from carsales.events.tasks import deliver

from .conftest import delivery_of, ran
from .receivers import thing_happened

pytestmark = pytest.mark.django_db


def test_a_send_rolled_back_leaves_no_delivery_and_no_job():
    with pytest.raises(RuntimeError), transaction.atomic():
        thing_happened.send(sender=None, mode="ok")
        raise RuntimeError("the sender's transaction fails")

    assert not Delivery.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_a_committed_send_writes_one_delivery_per_durable_receiver_and_nothing_else(run_tasks):
    with transaction.atomic():
        thing_happened.send(sender=None, mode="ok")

    assert sorted(Delivery.objects.values_list("receiver", flat=True)) == ["events_tests.effect", "events_tests.tally"]
    assert not DBTaskResult.objects.exists()  # the row is the job: events_worker claims it
    assert not ran("effect")  # sending calls nothing


def test_running_the_jobs_twice_does_the_effect_once(run_tasks):
    thing_happened.send(sender=None, mode="ok")
    run_tasks()
    delivery = delivery_of("effect")
    deliver.enqueue(delivery.pk)  # a duplicate wake-up

    run_tasks()
    delivery_run(delivery_id=delivery.pk)

    assert len(ran("effect")) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE and delivery.attempts == 1


def test_a_redelivery_after_the_effect_is_not_done_again(run_tasks):
    """A worker lost between the effect and its bookkeeping: the rerun finds the effect done."""
    thing_happened.send(sender=None, mode="ok")
    run_tasks()
    delivery = delivery_of("effect")
    Delivery.objects.filter(pk=delivery.pk).state_write(status=Delivery.Status.RETRYING)

    delivery_run(delivery_id=delivery.pk)

    assert len(ran("effect")) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE and delivery.attempts == 2


def test_the_receiver_gets_a_stable_idempotency_key_and_the_carried_kwargs(run_tasks):
    thing_happened.send(sender=None, mode="ok")
    run_tasks()

    (event,) = ran("effect")
    assert event.idempotency_key == delivery_of("effect").idempotency_key
    assert event.idempotency_key.startswith("events_tests.effect:")
    assert event.mode == "ok" and event.kwargs == {"mode": "ok"} and event.attempt == 1


def test_a_live_object_fails_the_send_in_the_senders_transaction():
    refused = pytest.raises(NotCarriable, match=r"'events_tests.effect' cannot carry lock=<.*lock.*>")
    with refused as caught, transaction.atomic():
        Group.objects.create(name="made before the send")
        thing_happened.send(sender=None, mode="ok", lock=threading.Lock())

    assert "live objects cannot reach a worker" in str(caught.value)
    assert not Group.objects.filter(name="made before the send").exists() and not Delivery.objects.exists()


def test_nested_data_with_a_live_object_inside_is_refused_by_its_path():
    with pytest.raises(NotCarriable, match=r"cannot carry extra.items\[1\]="):
        thing_happened.send(sender=None, mode="ok", extra={"items": [1, object()]})


def test_instances_inside_other_arguments_travel_as_data(run_tasks):
    group = Group.objects.create(name="crew")
    run_tasks()

    thing_happened.send(sender=None, mode="ok", groups=[group], when=group.pk)
    run_tasks()

    (event,) = ran("effect")
    assert event.groups == [InstanceData(model="auth.group", pk=group.pk, fields={"id": group.pk, "name": "crew"})]


def test_the_same_dispatch_uid_for_another_function_is_refused():
    def impostor(event):
        pass

    with pytest.raises(ImproperlyConfigured, match="already names durable receiver"):
        durable_receiver(thing_happened, dispatch_uid="events_tests.effect")(impostor)


class TestModelSignals:
    def test_a_post_save_receiver_gets_the_saved_rows_data(self, run_tasks):
        group = Group.objects.create(name="sales")
        run_tasks()

        (event,) = ran("group_saved")
        assert event.model == "auth.group" and event.instance_pk == group.pk
        assert event.instance_data == {"id": group.pk, "name": "sales"}
        assert event.created is True and event.sender == "auth.group"
        assert event.instance.fetch() == group

    def test_a_post_delete_receiver_gets_the_deleted_rows_data(self, run_tasks):
        group = Group.objects.create(name="to go")
        pk = group.pk
        group.delete()
        run_tasks()

        (event,) = ran("group_deleted")
        assert event.instance_pk == pk and event.instance_data == {"id": pk, "name": "to go"}
        assert event.instance.fetch() is None
        assert event.origin.model == "auth.group"  # the deleted instance travelled too

    def test_m2m_changed_carries_action_and_pk_set(self, run_tasks):
        group = Group.objects.create(name="admins")
        permissions = list(Permission.objects.order_by("pk")[:2])
        group.permissions.add(*permissions)
        run_tasks()

        events = ran("group_permissions")
        assert [e.action for e in events] == ["pre_add", "post_add"]
        assert events[1].pk_set == sorted(p.pk for p in permissions)
        assert events[1].model == "auth.group" and events[1].kwargs["model"] == "auth.permission"
        assert events[1].reverse is False


@pytest.mark.django_db(transaction=True)
def test_in_autocommit_the_send_commits_its_delivery_at_once():
    thing_happened.send(sender=None, mode="ok")

    # No transaction around the send: the deliveries were committed by it already.
    with transaction.atomic():
        assert Delivery.objects.count() == 2


def test_an_instance_travels_by_reference_so_no_secret_of_its_row_is_stored():
    import json

    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_save

    from carsales.events.durable import registry

    @durable_receiver(post_save, sender=get_user_model(), dispatch_uid="events_tests.user_saved")
    def user_saved(event):
        return None

    try:
        user = get_user_model().objects.create_user(username="secret-keeper", password="s3cret-passphrase")
    finally:
        post_save.disconnect(sender=get_user_model(), dispatch_uid="events:events_tests.user_saved")
        registry.pop("events_tests.user_saved")

    payload = Delivery.objects.get(receiver="events_tests.user_saved").payload
    assert payload["instance"]["$instance"] == {"model": "auth.user", "pk": user.pk, "fields": {}}
    assert user.password not in json.dumps(payload)
