"""A delivery still owed survives every ORM path a shell, a script or another app may take: no
update, no save of a stored row, no delete loses the effect it owes or repeats it. Finished ones
(done, dead) may still be deleted, as the admin and deliveries_prune do."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.deletion import Collector
from django.test.utils import CaptureQueriesContext

from carsales.events.models import Delivery
from carsales.events.testing import deliveries_run

from .conftest import delivery_of, ran
from .receivers import thing_happened

pytestmark = pytest.mark.django_db
Status = Delivery.Status


def _copy_marked_done(delivery: Delivery) -> Delivery:
    delivery.status = Status.DONE
    return delivery


# Each takes the owed delivery (a copy read before), and tries to change or remove its row.
BY_HAND: dict[str, Callable[[Delivery], Any]] = {
    "queryset update of its status": lambda d: Delivery.objects.filter(pk=d.pk).update(status=Status.DONE),
    "queryset update of another field": lambda d: Delivery.objects.filter(pk=d.pk).update(max_attempts=0),
    "update of every row": lambda d: Delivery.objects.update(run_after=d.run_after.replace(year=2999)),
    "bulk_update": lambda d: Delivery.objects.bulk_update([_copy_marked_done(d)], ["status"]),
    "save of a copy changed": lambda d: _copy_marked_done(d).save(),
    "save naming fields": lambda d: _copy_marked_done(d).save(update_fields=["status"]),
    "save forced to update": lambda d: _copy_marked_done(d).save(force_update=True),
    "update_or_create": lambda d: Delivery.objects.update_or_create(pk=d.pk, defaults={"status": Status.DONE}),
    # Django writes back the stored row's time fields even with no defaults (their pre_save).
    "update_or_create, no defaults": lambda d: Delivery.objects.update_or_create(pk=d.pk),
    "bulk_create over it": lambda d: Delivery.objects.bulk_create(
        [_copy_marked_done(d)], update_conflicts=True, unique_fields=["id"], update_fields=["status"]
    ),
    "base manager update": lambda d: Delivery._base_manager.filter(pk=d.pk).update(status=Status.DONE),
    "base manager delete": lambda d: Delivery._base_manager.filter(pk=d.pk).delete(),
    "delete of a copy saying done": lambda d: _copy_marked_done(d).delete(),
    "queryset delete": lambda d: Delivery.objects.filter(pk=d.pk).delete(),
    "delete of every row": lambda d: Delivery.objects.all().delete(),
}


@pytest.mark.parametrize("owed", [Status.PENDING, Status.RUNNING, Status.RETRYING])
@pytest.mark.parametrize("path", BY_HAND)
def test_an_owed_delivery_is_neither_changed_nor_deleted_by_hand(owed: str, path: str):
    thing_happened.send(sender=None, mode="ok")
    delivery = delivery_of("effect")
    Delivery.objects.filter(pk=delivery.pk).state_write(status=owed)
    stored_before = Delivery.objects.filter(pk=delivery.pk).values().get()

    with pytest.raises(TypeError, match="delivery"), transaction.atomic():
        BY_HAND[path](Delivery.objects.get(pk=delivery.pk))

    assert Delivery.objects.filter(pk=delivery.pk).values().get() == stored_before


def test_a_new_row_over_a_stored_one_is_refused_and_the_stored_one_kept():
    thing_happened.send(sender=None, mode="ok")
    owed = delivery_of("effect")
    stored_before = Delivery.objects.filter(pk=owed.pk).values().get()

    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery(pk=owed.pk, receiver=owed.receiver, queue="default", payload={}, max_attempts=1).save()

    assert Delivery.objects.filter(pk=owed.pk).values().get() == stored_before


@pytest.mark.parametrize("owed", [Status.PENDING, Status.RETRYING])
def test_the_owed_delivery_still_runs_after_every_refusal(owed: str):
    thing_happened.send(sender=None, mode="ok")
    owed_delivery = delivery_of("effect")
    Delivery.objects.filter(pk=owed_delivery.pk).state_write(status=owed)
    for path in BY_HAND.values():
        with pytest.raises(TypeError), transaction.atomic():
            path(Delivery.objects.get(pk=owed_delivery.pk))

    deliveries_run()

    assert len(ran("effect")) == 1
    assert delivery_of("effect").status == Status.DONE


@pytest.mark.parametrize("finished", [Status.DONE, Status.DEAD])
def test_finished_deliveries_may_be_deleted_one_or_many(finished: str):
    for _ in range(3):
        thing_happened.send(sender=None, mode="ok")
    Delivery.objects.state_write(status=finished)
    one, *others = Delivery.objects.order_by("pk")

    assert one.delete()[0] == 1 and one.pk is None
    assert Delivery.objects.filter(pk__in=[other.pk for other in others]).delete()[0] == len(others)
    assert not Delivery.objects.exists()


def test_a_delete_asked_for_owed_and_finished_rows_deletes_none():
    thing_happened.send(sender=None, mode="ok")
    thing_happened.send(sender=None, mode="ok")
    done, owed = Delivery.objects.order_by("pk")[:2]
    Delivery.objects.filter(pk=done.pk).state_write(status=Status.DONE)

    with pytest.raises(TypeError, match="still owed"):
        Delivery.objects.filter(pk__in=[done.pk, owed.pk]).delete()

    assert set(Delivery.objects.filter(pk__in=[done.pk, owed.pk]).values_list("pk", flat=True)) == {done.pk, owed.pk}


def test_a_delete_is_one_statement_naming_the_finished_statuses():
    """What keeps a dead row requeued between the check and the DELETE: the DELETE's own WHERE.
    A pre_delete or post_delete receiver of deliveries would make Django select the rows first
    and delete them by pk, losing that; none may be connected."""
    thing_happened.send(sender=None, mode="ok")
    Delivery.objects.state_write(status=Status.DONE)

    assert Collector(using="default", origin=None).can_fast_delete(Delivery.objects.all())
    with CaptureQueriesContext(connection) as queries:
        Delivery.objects.all().delete()
    (delete,) = [query["sql"] for query in queries if query["sql"].startswith("DELETE")]
    assert "'done'" in delete and "'dead'" in delete


def test_a_lock_asked_for_is_no_obstacle_to_deleting_finished_rows():
    thing_happened.send(sender=None, mode="ok")
    Delivery.objects.state_write(status=Status.DEAD)

    with transaction.atomic():
        assert Delivery.objects.select_for_update().delete()[0] == 2
