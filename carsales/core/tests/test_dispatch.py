import logging

import pytest

from carsales.core.dispatch import DomainSignal
from carsales.core.models import ReceiverFailure
from carsales.events.durable import Event, durable_receiver, registry
from carsales.events.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal() -> DomainSignal:
    return DomainSignal("tests.something_happened", "Sent in tests; kwargs: `value`.")


def test_a_failing_receiver_is_logged_once_and_recorded(signal, caplog):
    def broken(**kwargs):
        raise ValueError("boom")

    signal.connect(broken, dispatch_uid="tests.broken")

    with caplog.at_level(logging.ERROR):
        [(_, outcome)] = signal.send_robust(sender=None, value=1)

    assert isinstance(outcome, ValueError)
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == [
        "Receiver carsales.core.tests.test_dispatch.test_a_failing_receiver_is_logged_once_and_recorded"
        ".<locals>.broken failed on tests.something_happened"
    ]
    assert ReceiverFailure.objects.filter(receiver__endswith="broken", error__contains="boom").count() == 1


def test_an_async_receiver_is_refused_at_connect_with_the_reason(signal):
    async def notify(**kwargs):
        return None

    with pytest.raises(TypeError, match="is async"):
        signal.connect(notify, dispatch_uid="tests.notify")
    assert not signal.has_listeners()


def test_a_weak_connection_is_refused_rather_than_silently_made_strong(signal):
    def listener(**kwargs):
        return None

    with pytest.raises(ValueError, match="weak=False"):
        signal.connect(listener, weak=True, dispatch_uid="tests.listener")


def test_disconnecting_the_function_works_for_a_receiver_connected_with_a_dispatch_uid(signal):
    calls = []

    def listener(**kwargs):
        calls.append(kwargs["value"])

    signal.connect(listener, dispatch_uid="tests.listener")
    signal.send_robust(sender=None, value=1)

    assert signal.disconnect(listener) is True
    signal.send_robust(sender=None, value=2)
    assert calls == [1]
    assert signal.disconnect(listener) is False


def test_disconnecting_a_durable_receivers_function_stops_its_deliveries(signal):
    @durable_receiver(signal, dispatch_uid="tests.dispatch.durable_listener")
    def durable_listener(event: Event) -> None:
        return None

    try:
        signal.send_robust(sender=None, value=1)
        assert signal.disconnect(durable_listener) is True
        signal.send_robust(sender=None, value=2)
    finally:
        registry.pop("tests.dispatch.durable_listener", None)

    assert Delivery.objects.filter(receiver="tests.dispatch.durable_listener").count() == 1


def _statements(action):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        action()
    return [query["sql"] for query in queries.captured_queries]


def test_receivers_that_do_not_touch_the_database_cost_no_savepoint(signal):
    seen = []
    for n in range(3):
        signal.connect(lambda n=n, **kwargs: seen.append(n), dispatch_uid=f"tests.noop{n}")

    assert _statements(lambda: signal.send_robust(sender=None, value=1)) == []
    assert seen == [0, 1, 2]


def test_a_failing_receiver_loses_its_own_writes_only_and_the_transaction_goes_on(signal):
    from django.contrib.auth.models import Group
    from django.db import transaction

    def writes_then_fails(**kwargs):
        Group.objects.create(name="Lost")
        raise ValueError("after a write")

    def opens_its_own_block_then_fails(**kwargs):
        with transaction.atomic():
            Group.objects.create(name="Lost too")
        Group.objects.create(name="Lost three")
        raise ValueError("after its block")

    def writes(**kwargs):
        Group.objects.create(name="Kept")

    def sends_again(**kwargs):
        Group.objects.create(name="Outer")
        inner.send_robust(sender=None)  # its failing receiver rolls back alone, inside this one

    inner = DomainSignal("tests.inner", "Sent by a receiver.")
    inner.connect(writes_then_fails, dispatch_uid="tests.inner_fails")
    for name, receiver in [
        ("fails", writes_then_fails),
        ("block", opens_its_own_block_then_fails),
        ("writes", writes),
        ("nested", sends_again),
    ]:
        signal.connect(receiver, dispatch_uid=f"tests.{name}")

    with transaction.atomic():
        outcomes = [outcome for _, outcome in signal.send_robust(sender=None, value=1)]
        Group.objects.create(name="After")  # the sender's transaction is usable

    assert [type(outcome).__name__ for outcome in outcomes] == ["ValueError", "ValueError", "NoneType", "NoneType"]
    written = ["Lost", "Lost too", "Lost three", "Kept", "Outer", "After"]
    assert sorted(Group.objects.filter(name__in=written).values_list("name", flat=True)) == ["After", "Kept", "Outer"]
    assert ReceiverFailure.objects.count() == 3


def test_with_send_a_failing_receiver_fails_the_sender_and_costs_no_savepoint(signal):
    from django.contrib.auth.models import Group

    def writes(**kwargs):
        Group.objects.create(name="Written")

    signal.connect(writes, dispatch_uid="tests.writes")

    statements = _statements(lambda: signal.send(sender=None, value=1))

    assert any(statement.startswith('INSERT INTO "auth_group"') for statement in statements)
    assert not any("SAVEPOINT" in statement for statement in statements)


def test_a_durable_receiver_that_cannot_record_its_delivery_fails_the_sender(signal):
    """Its delivery is the effect the commit owes: lost with a logged failure, the checkout
    would commit without its email. So it joins the sender's transaction, no savepoint."""
    from carsales.events.carry import NotCarriable

    @durable_receiver(signal, dispatch_uid="tests.owed_effect")
    def owed_effect(event: Event) -> None:
        """Never runs: its delivery cannot be written."""

    try:
        with pytest.raises(NotCarriable):
            signal.send_robust(sender=None, value=object())  # cannot travel to a worker
        assert Delivery.objects.count() == 0
        first = _statements(lambda: signal.send_robust(sender=None, value=1))[0]
        # The delivery's INSERT comes first, no savepoint before it (on PostgreSQL inside a WITH: it wakes the workers).
        assert first.startswith(("INSERT", "WITH inserted AS (INSERT")) and 'INTO "events_delivery"' in first
    finally:
        registry.pop("tests.owed_effect", None)


@pytest.mark.django_db(transaction=True)  # commits for real: on-commit callbacks run or are dropped
@pytest.mark.parametrize("in_transaction", [True, False], ids=["in the sender's transaction", "in autocommit"])
def test_a_receiver_that_fails_however_it_wrote_leaves_the_sender_whole(signal, in_transaction):
    """Its first statement inside a block without a savepoint (as Django's bulk writes and the
    services' joined blocks open), a database error it caught and went on from, an on-commit
    callback made before any statement: each failure rolls back that receiver alone."""
    from contextlib import nullcontext

    from django.contrib.auth.models import Group
    from django.db import IntegrityError, transaction

    ran_on_commit = []

    @transaction.atomic(savepoint=False)
    def joined_write(name):
        Group.objects.create(name=name)

    def joined_then_fails(**kwargs):
        joined_write("Lost")
        Group.objects.create(name="Lost too")
        raise ValueError("after a joined block")

    def fails_inside_a_joined_block(**kwargs):
        with transaction.atomic(savepoint=False):
            Group.objects.create(name="Lost three")
            raise ValueError("inside a joined block")

    def swallows_a_database_error(**kwargs):
        try:
            with transaction.atomic(savepoint=False):
                Group.objects.create(name="Lost four")
                Group.objects.create(name="Lost four")  # unique name: IntegrityError
        except IntegrityError:
            pass  # and goes on as if nothing happened

    def schedules_then_fails(**kwargs):
        transaction.on_commit(lambda: ran_on_commit.append("lost"))
        raise ValueError("before any statement")

    def joined_and_kept(**kwargs):
        joined_write("Kept")
        transaction.on_commit(lambda: ran_on_commit.append("kept"))

    receivers = [joined_then_fails, fails_inside_a_joined_block, swallows_a_database_error, schedules_then_fails]
    for n, receiver in enumerate([*receivers, joined_and_kept]):
        signal.connect(receiver, dispatch_uid=f"tests.receiver{n}")

    block = transaction.atomic() if in_transaction else nullcontext()
    with block:
        outcomes = [outcome for _, outcome in signal.send_robust(sender=None, value=1)]
        Group.objects.create(name="After")  # the sender's transaction is usable

    assert [type(outcome).__name__ for outcome in outcomes] == [
        "ValueError",
        "ValueError",
        "TransactionManagementError",
        "ValueError",
        "NoneType",
    ]
    names = ["Lost", "Lost too", "Lost three", "Lost four", "Kept", "After"]
    assert sorted(Group.objects.filter(name__in=names).values_list("name", flat=True)) == ["After", "Kept"]
    assert ran_on_commit == ["kept"]
    assert ReceiverFailure.objects.count() == 4


@pytest.mark.django_db(transaction=True)  # commits for real: on-commit callbacks run or are dropped
def test_a_receiver_that_wrote_nothing_but_left_the_transaction_to_roll_back_is_rolled_back_alone(signal):
    """No statement, so no savepoint: the one case where a receiver that returned normally must
    still be ended. Its failure caught inside a block without a savepoint marked the sender's
    transaction for rollback; the callback it made before goes with it."""
    from django.contrib.auth.models import Group
    from django.db import transaction

    ran_on_commit = []

    def schedules_then_swallows_a_failed_block(**kwargs):
        transaction.on_commit(lambda: ran_on_commit.append("lost"))
        try:
            with transaction.atomic(savepoint=False):
                raise ValueError("inside a joined block, before any statement")
        except ValueError:
            pass  # and goes on

    signal.connect(schedules_then_swallows_a_failed_block, dispatch_uid="tests.swallows_without_writing")
    with transaction.atomic():
        outcomes = [outcome for _, outcome in signal.send_robust(sender=None, value=1)]
        Group.objects.create(name="After")  # the sender's transaction is usable

    assert [type(outcome).__name__ for outcome in outcomes] == ["TransactionManagementError"]
    assert Group.objects.filter(name="After").exists()
    assert ran_on_commit == []


def test_a_receiver_that_caught_a_read_error_outside_any_block_leaves_the_sender_whole(signal):
    """On PostgreSQL the caught error aborts the transaction without Django knowing (no atomic
    block saw it): the savepoint's RELEASE fails, so the receiver is rolled back and recorded.
    SQLite's transaction survives a failed statement, so there the receiver simply succeeded."""
    from django.contrib.auth.models import Group
    from django.db import DatabaseError, connection, transaction

    def reads_a_missing_table(**kwargs):
        Group.objects.create(name="Written first")
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")
        except DatabaseError:
            pass  # and goes on

    signal.connect(reads_a_missing_table, dispatch_uid="tests.reads_a_missing_table")
    with transaction.atomic():
        outcomes = [outcome for _, outcome in signal.send_robust(sender=None, value=1)]
        Group.objects.create(name="After")  # the sender's transaction is usable

    aborted = connection.vendor == "postgresql"
    assert [type(outcome).__name__ for outcome in outcomes] == (
        ["TransactionManagementError"] if aborted else ["NoneType"]
    )
    expected = ["After"] if aborted else ["After", "Written first"]
    assert sorted(Group.objects.filter(name__in=["Written first", "After"]).values_list("name", flat=True)) == expected
    assert ReceiverFailure.objects.count() == (1 if aborted else 0)


@pytest.fixture
def two_durable_receivers(signal):
    @durable_receiver(signal, dispatch_uid="tests.held.first")
    def first(event: Event) -> None:
        """Never runs here."""

    @durable_receiver(signal, dispatch_uid="tests.held.second")
    def second(event: Event) -> None:
        """Never runs here."""

    yield signal
    for uid in ("tests.held.first", "tests.held.second", "tests.held.nested"):
        registry.pop(uid, None)


@pytest.mark.parametrize("send", ["send", "send_robust"])
def test_a_sends_durable_receivers_write_their_deliveries_in_one_insert(two_durable_receivers, send):
    from django.db import transaction

    with transaction.atomic():
        statements = _statements(lambda: getattr(two_durable_receivers, send)(sender=None, value=1))

    assert len([statement for statement in statements if 'INTO "events_delivery"' in statement]) == 1
    assert sorted(Delivery.objects.values_list("receiver", flat=True)) == ["tests.held.first", "tests.held.second"]


def test_a_delivery_owed_by_a_receiver_that_failed_alone_is_not_written_with_the_others(two_durable_receivers):
    """A receiver that fails under send_robust has its writes rolled back: a delivery it owed
    (a signal it sent in turn) goes with them, though the send holds its deliveries till its end."""
    from django.db import transaction
    from django.dispatch import Signal

    inner = Signal()

    @durable_receiver(inner, dispatch_uid="tests.held.nested")
    def nested(event: Event) -> None:
        """Never runs here."""

    def fails_after_sending(**kwargs):
        inner.send(sender=None, value=2)
        raise ValueError("after its delivery was recorded")

    two_durable_receivers.connect(fails_after_sending, dispatch_uid="tests.held.fails_after_sending")
    with transaction.atomic():
        [*_durable, (_receiver, outcome)] = two_durable_receivers.send_robust(sender=None, value=1)

    assert isinstance(outcome, ValueError)
    assert sorted(Delivery.objects.values_list("receiver", flat=True)) == ["tests.held.first", "tests.held.second"]


def test_a_send_that_fails_still_writes_what_its_receivers_owed_for_a_caller_that_commits(two_durable_receivers):
    """The receivers before the failure wrote their rows (no savepoint under send): the deliveries
    they owed stand with them, and roll back with them if the caller does."""
    from django.db import transaction

    def refuses(**kwargs):
        raise ValueError("the sender fails")

    two_durable_receivers.connect(refuses, dispatch_uid="tests.held.refuses")
    with transaction.atomic(), pytest.raises(ValueError):
        two_durable_receivers.send(sender=None, value=1)

    assert sorted(Delivery.objects.values_list("receiver", flat=True)) == ["tests.held.first", "tests.held.second"]


def test_a_send_inside_another_writes_its_deliveries_with_the_outer_ones_in_the_order_recorded(
    two_durable_receivers,
):
    """A lane runs its deliveries in id order: a delivery recorded later must not get a lower id."""
    from django.db import transaction

    inner = DomainSignal("tests.inner_held", "Sent by a receiver of the outer signal.")

    @durable_receiver(inner, dispatch_uid="tests.held.nested")
    def nested(event: Event) -> None:
        """Never runs here."""

    two_durable_receivers.connect(
        lambda **kwargs: inner.send(sender=None, value=2), dispatch_uid="tests.held.sends_inner"
    )
    with transaction.atomic():
        statements = _statements(lambda: two_durable_receivers.send(sender=None, value=1))

    assert len([statement for statement in statements if 'INTO "events_delivery"' in statement]) == 1
    in_id_order = list(Delivery.objects.order_by("pk").values_list("receiver", flat=True))
    assert in_id_order == ["tests.held.first", "tests.held.second", "tests.held.nested"]


def test_a_delivery_recorded_under_a_savepoint_rolled_back_is_not_written(two_durable_receivers):
    from django.db import transaction
    from django.dispatch import Signal

    inner = Signal()

    @durable_receiver(inner, dispatch_uid="tests.held.nested")
    def nested(event: Event) -> None:
        """Never runs here."""

    def records_then_rolls_back(**kwargs):
        try:
            with transaction.atomic():
                inner.send(sender=None, value=2)
                raise RuntimeError("changed its mind")
        except RuntimeError:
            pass

    two_durable_receivers.connect(records_then_rolls_back, dispatch_uid="tests.held.rolls_back")
    with transaction.atomic():
        two_durable_receivers.send(sender=None, value=1)

    assert sorted(Delivery.objects.values_list("receiver", flat=True)) == ["tests.held.first", "tests.held.second"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_each_delivery_is_written_at_once(two_durable_receivers):
    statements = _statements(lambda: two_durable_receivers.send_robust(sender=None, value=1))

    assert len([statement for statement in statements if 'INTO "events_delivery"' in statement]) == 2
    assert Delivery.objects.count() == 2
