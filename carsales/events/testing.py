"""A test kit for durable receivers: see what a block owed, run it now.

    with deliveries_owed() as owed:
        order_place(...)                # in the test's transaction
    assert owed.receivers() == ["notifications.confirm_placed_order", ...]
    deliveries_run(owed)                # as a worker would, on this connection

The pytest fixture `durable` in the project's conftest wraps these.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.utils import timezone

from .models import Delivery
from .services import delivery_run


@dataclass
class Owed:
    """The deliveries written during a block, oldest first (captured, not run)."""

    deliveries: list[Delivery] = field(default_factory=list)

    def receivers(self) -> list[str]:
        return [delivery.receiver for delivery in self.deliveries]

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self.deliveries)

    def __len__(self) -> int:
        return len(self.deliveries)


@contextmanager
def deliveries_owed() -> Iterator[Owed]:
    """Capture the deliveries the block writes; nothing runs them."""
    before = Delivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    owed = Owed()
    yield owed
    owed.deliveries = list(Delivery.objects.filter(pk__gt=before).order_by("pk"))


def deliveries_run(deliveries: Iterable[Delivery] | None = None, *, due_only: bool = False) -> list[tuple[str, str]]:
    """Run these deliveries now (default: every pending one), as a worker would, each under its
    claim and lease; returns (receiver dispatch_uid, status after the run) for each, in order.

    Deferred deliveries are run too unless `due_only`: a test should not wait for a deadline.
    Ordered ones run in their lane's order, since they are taken oldest first.
    """
    ids = (
        [delivery.pk for delivery in deliveries]
        if deliveries is not None
        else list(Delivery.objects.filter(status__in=Delivery.READY).order_by("pk").values_list("pk", flat=True))
    )
    if not due_only:
        Delivery.objects.filter(pk__in=ids, status__in=Delivery.READY).state_write(run_after=timezone.now())
    return [
        (delivery.receiver, delivery_run(delivery_id=delivery.pk, worker="test-kit"))
        for delivery in Delivery.objects.filter(pk__in=ids).order_by("pk")
    ]
