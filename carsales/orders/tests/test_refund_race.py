"""Two members of staff recording one refund at once, each from the order as they read it: the
locked row lets one through, and the other is told it is recorded (one audit entry, one email)."""

import threading
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection

from carsales.audit.models import AuditEntry
from carsales.conftest import CarFactory, UserFactory, order_for
from carsales.core.groups import MANAGER
from carsales.events.models import Delivery
from carsales.orders.models import Order, PaymentMethod, VoidReason
from carsales.orders.services import OrderStateError, order_mark_paid, order_record_refund
from carsales.sales.services import sale_void

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_staff_recording_one_refund_at_once_record_it_once():
    order = order_for(CarFactory(value=25_000), user=UserFactory(email="owner@example.com"))
    order = order_mark_paid(order=order, actor=AnonymousUser(), method=PaymentMethod.TRANSFER)
    sale_void(sale=order.sale, actor=None, reason=VoidReason.RETURNED)
    staff = []
    for _ in range(2):
        member = UserFactory(is_staff=True)
        member.groups.add(Group.objects.get(name=MANAGER))
        staff.append(member)
    copies = [Order.objects.get(pk=order.pk) for _ in staff]  # each page read before either posts
    together = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def record(n: int) -> None:
        try:
            together.wait(timeout=10)
            order_record_refund(order=copies[n], actor=staff[n], reference=f"RF {n}")
            outcomes[f"RF {n}"] = "recorded"
        except OrderStateError as refusal:
            outcomes[f"RF {n}"] = str(refusal)
        finally:
            connection.close()

    threads = [threading.Thread(target=record, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    (winner,) = [reference for reference, outcome in outcomes.items() if outcome == "recorded"]
    (refused,) = [outcome for outcome in outcomes.values() if outcome != "recorded"]
    assert "recorded already on" in refused
    assert Order.objects.get(pk=order.pk).refund_reference == winner
    assert AuditEntry.objects.filter(action="order.refunded").count() == 1
    assert Delivery.objects.filter(receiver="notifications.tell_refunded_order").count() == 1
