"""The signal timeline: what each request, task and command set off, committed or rolled back."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from carsales.catalog.models import Car
from carsales.conftest import CarFactory, UserFactory
from carsales.observability.models import SignalChain
from carsales.observability.selectors import timeline_chain, timeline_chains
from carsales.observability.timeline import timeline_begin, timeline_flush, timeline_prune
from carsales.orders.services import cart_for_buyer, cart_item_add

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def recording(settings):
    settings.CARSALES_TIMELINE = True
    timeline_flush()
    yield
    timeline_flush()


def _names(steps):
    return [step.record.name for step in steps]


@pytest.mark.django_db(transaction=True)
def test_a_checkout_over_http_is_one_chain_with_its_signals_their_receivers_and_its_commit(client):
    user = UserFactory()
    cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=CarFactory())
    timeline_flush()  # what the set-up recorded
    SignalChain.objects.all().delete()
    client.force_login(user)

    client.post("/checkout/")

    [chain] = [c for c in timeline_chains() if c.cause == "POST /checkout/"]
    assert chain.committed and chain.errors == 0
    steps = timeline_chain(chain=chain.chain)
    placed = next(step for step in steps if step.record.name == "order_placed")
    assert placed.record.subject.startswith("orders.order:")
    # The durable receivers record their deliveries; the send writes them together once its
    # receivers ran (one INSERT), with each delivery's model signals.
    assert _names(placed.children) == [
        "carsales.orders.receivers.expire_unpaid_order",
        "carsales.notifications.receivers.confirm_placed_order",
        "carsales.analytics.receivers.count_placed_order",
        "carsales.audit.receivers.log_order_placed",
        "pre_save",
        "pre_save",
        "post_save",
        "post_save",
    ]
    assert placed.children[1].record.detail.startswith("durable")
    assert {step.record.subject.split(":")[0] for step in placed.children[-2:]} == {"events.delivery"}
    moved = next(step for step in steps if step.record.name == "car_stock_moved")
    assert _names(moved.children) == [
        "carsales.catalog.receivers.catalogue_changed",
        "carsales.inventory.receivers.cars_moved_update_inventory",
        "carsales.audit.receivers.log_cars_taken_off_or_back_on_sale",
    ]


@pytest.mark.django_db(transaction=True)
def test_a_chain_whose_transaction_rolled_back_is_kept_and_marked_so():
    timeline_begin("test: a rolled-back save")
    with pytest.raises(RuntimeError), transaction.atomic():
        CarFactory()
        raise RuntimeError("the request failed after the save")
    timeline_flush()
    timeline_begin("test: a committed save")
    CarFactory()
    timeline_flush()

    by_cause = {c.cause: c for c in timeline_chains()}
    assert not by_cause["test: a rolled-back save"].committed
    assert by_cause["test: a committed save"].committed
    assert [c.cause for c in timeline_chains(committed="no")] == ["test: a rolled-back save"]


def test_a_failing_receiver_is_recorded_with_its_traceback(monkeypatch):
    from carsales.conftest import order_for

    def broken(**kwargs):
        raise ValueError("warehouse down")

    monkeypatch.setattr("carsales.analytics.receivers.order_event_record", broken)
    timeline_begin("test: a failing receiver")
    order_for(CarFactory())
    timeline_flush()

    [chain] = timeline_chains(outcome="error")
    failed = [step for step in SignalChain.objects.get(chain=chain.chain).steps if step["outcome"] == "error"]
    assert chain.errors == 1 and failed[0]["name"] == "carsales.analytics.receivers.count_placed_order"
    assert "ValueError: warehouse down" in failed[0]["traceback"]


def test_staff_filter_the_timeline_by_object_and_open_one_chain(staff_client):
    car = CarFactory()
    timeline_flush()
    other = CarFactory()
    timeline_flush()

    page = staff_client.get("/staff/timeline/", {"subject": f"catalog.car:{car.pk}"})
    [chain] = page.context["chains"]
    tree = staff_client.get(f"/staff/timeline/{chain.chain}/")
    live = staff_client.get("/staff/timeline/", {"subject": f"catalog.car:{other.pk}"}, HTTP_HX_REQUEST="true")

    assert 'hx-trigger="every 5s"' in page.content.decode()  # live: refreshed without a reload
    assert "carsales.inventory.receivers.car_saved_update_inventory" in tree.content.decode()
    assert live.templates[0].name == "observability/_chains.html" and len(live.context["chains"]) == 1


def test_the_car_and_order_pages_link_to_their_history(staff_client):
    from carsales.conftest import order_for

    car = CarFactory()
    order = order_for(CarFactory())

    assert f"?subject=catalog.car:{car.pk}" in staff_client.get(f"/cars/{car.pk}/").content.decode()
    assert f"?subject=orders.order:{order.pk}" in staff_client.get(f"/orders/{order.pk}/").content.decode()


def test_the_log_command_prints_the_latest_chains_and_json(capsys):
    timeline_begin("test: a logged save")
    CarFactory()
    timeline_flush()

    call_command("signals", "--log", "5")
    text = capsys.readouterr().out
    call_command("signals", "--log", "5", "--json")
    data = json.loads(capsys.readouterr().out)

    assert "test: a logged save" in text and "post_save" in text
    assert data[0]["cause"] == "test: a logged save" and data[0]["steps"][0]["name"] == "pre_save"


def test_recording_is_written_as_one_row_per_cause_not_a_row_per_receiver(django_assert_num_queries):
    from carsales.catalog.services import car_update

    car = CarFactory()
    timeline_flush()
    timeline_begin("test: counting")
    car_update(car=car, model="Edited")

    with django_assert_num_queries(1):
        written = timeline_flush()

    assert written >= 5


def test_old_records_are_pruned_by_the_retention():
    timeline_begin("test: old")
    CarFactory()
    timeline_flush()
    SignalChain.objects.update(started_at=timezone.now() - timedelta(days=8))
    timeline_begin("test: new")
    CarFactory()
    timeline_flush()

    assert timeline_prune() > 0
    assert {c.cause for c in timeline_chains()} == {"test: new"}


def test_nothing_is_recorded_when_switched_off(settings):
    settings.CARSALES_TIMELINE = False
    timeline_begin("test: off")
    CarFactory()

    assert timeline_flush() == 0


def test_a_chain_page_names_its_cause_and_an_unknown_chain_is_a_404(staff_client):
    timeline_begin("test: a named cause")
    CarFactory()
    timeline_flush()
    [chain] = [c for c in timeline_chains() if c.cause == "test: a named cause"]

    page = staff_client.get(f"/staff/timeline/{chain.chain}/").content.decode()

    assert "test: a named cause" in page
    assert staff_client.get("/staff/timeline/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_a_deliverys_history_shows_the_chain_that_owed_it_and_each_attempt(run_tasks):
    from carsales.conftest import order_for
    from carsales.events.models import Delivery

    timeline_begin("test: a checkout")
    order_for(CarFactory())
    timeline_flush()
    email = Delivery.objects.get(receiver="notifications.confirm_placed_order")

    run_tasks()

    history = timeline_chains(subject=f"events.delivery:{email.pk}")
    causes = [chain.cause for chain in history]
    assert "test: a checkout" in causes
    attempts = [
        chain for chain in history if chain.cause.startswith("task delivery notifications.confirm_placed_order")
    ]
    assert len(attempts) == 1 and attempts[0].errors == 0
    [task] = timeline_chain(chain=attempts[0].chain)
    assert task.record.kind == "task" and task.record.subject == f"events.delivery:{email.pk}"


def test_every_delivery_a_checkout_owes_is_filed_under_its_chain_the_first_one_included():
    """On PostgreSQL a transaction's first delivery is written by the INSERT that also wakes the
    workers: it is filed under the chain that owed it all the same."""
    from carsales.conftest import order_for
    from carsales.events.models import Delivery

    timeline_begin("test: a checkout owing deliveries")
    order_for(CarFactory())
    timeline_flush()

    owed = list(Delivery.objects.order_by("pk"))
    assert len(owed) >= 2
    for delivery in owed:
        causes = [chain.cause for chain in timeline_chains(subject=f"events.delivery:{delivery.pk}")]
        assert causes == ["test: a checkout owing deliveries"], delivery.receiver


def test_the_timeline_filters_by_app_and_time_and_the_prune_command_keeps_recent_chains(staff_client, capsys):
    from carsales.conftest import order_for

    timeline_begin("test: an order")
    order_for(CarFactory())
    timeline_flush()
    timeline_begin("test: an old car")
    CarFactory()
    timeline_flush()
    SignalChain.objects.filter(cause="test: an old car").update(started_at=timezone.now() - timedelta(days=30))

    by_app = staff_client.get("/staff/timeline/", {"app": "notifications"}).context["chains"]
    recent = staff_client.get("/staff/timeline/", {"since": str(timezone.localdate() - timedelta(days=1))})
    call_command("timeline_prune", "--days", "7")

    nonsense = staff_client.get("/staff/timeline/", {"since": "2026-13-40"})
    assert nonsense.status_code == 200
    for past_the_calendar_in_utc in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):
        assert staff_client.get("/staff/timeline/", {"since": past_the_calendar_in_utc}).status_code == 200
    assert [c.cause for c in by_app] == ["test: an order"]
    assert "test: an old car" not in [c.cause for c in recent.context["chains"]]
    assert "Deleted 1 chains older than 7 days." in capsys.readouterr().out


def test_reading_a_page_writes_no_timeline_row_unless_the_page_wrote_something(client):
    car = CarFactory()
    timeline_flush()
    SignalChain.objects.all().delete()

    client.get(f"/cars/{car.pk}/")  # sends car_page_notes, writes nothing

    assert not SignalChain.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_checkout_that_rolled_back_is_kept_on_the_timeline_marked_rolled_back():
    from carsales.orders.services import order_place

    user = UserFactory()
    cart = cart_for_buyer(buyer=user.buyer)
    cart_item_add(cart=cart, car=CarFactory())
    timeline_flush()

    timeline_begin("test: a checkout that failed after placing")
    with pytest.raises(RuntimeError), transaction.atomic():
        order_place(cart=cart, buyer=user.buyer, actor=user)
        raise RuntimeError("the payment provider refused the deposit")
    timeline_flush()

    [chain] = timeline_chains(committed="no")
    assert chain.cause == "test: a checkout that failed after placing" and "order_placed" in chain.signals
    placed = next(step for step in timeline_chain(chain=chain.chain) if step.record.name == "order_placed")
    receivers = [step for step in placed.children if step.record.kind == "receiver"]
    assert not placed.record.committed and len(receivers) == 4


def test_a_workers_batch_of_done_deliveries_writes_their_chains_in_one_insert_with_their_outcome():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from carsales.events.models import Delivery
    from carsales.events.services import deliveries_claim, deliveries_run_claimed
    from carsales.events.tests.receivers import bench_thing

    with transaction.atomic():
        for token in ("a", "b", "c"):
            bench_thing.send(sender=None, token=token)
    timeline_flush()
    claimed = deliveries_claim(worker="w", limit=10)
    assert len(claimed) == 3

    with CaptureQueriesContext(connection) as queries:
        assert deliveries_run_claimed(claimed, worker="w") == ["done"] * 3

    inserts = [query["sql"] for query in queries if query["sql"].startswith('INSERT INTO "observability_signalchain"')]
    assert len(inserts) == 1
    for delivery in Delivery.objects.filter(receiver="events_tests.bench"):
        assert delivery.status == "done"
        [attempt] = [
            chain
            for chain in timeline_chains(subject=f"events.delivery:{delivery.pk}")
            if chain.cause.startswith("task")
        ]
        assert attempt.errors == 0


@pytest.mark.parametrize("failure", ["a refused ORM write", "a statement PostgreSQL aborts the transaction on"])
def test_an_observer_of_done_deliveries_that_fails_never_loses_the_outcomes(failure, caplog):
    from django.db import IntegrityError, connection

    from carsales.events.models import Delivery
    from carsales.events.services import deliveries_claim, deliveries_run_claimed
    from carsales.events.signals import deliveries_done
    from carsales.events.tests.receivers import bench_thing

    def failing_observer(**kwargs):
        if failure == "a refused ORM write":
            with transaction.atomic(savepoint=False):  # as bulk_create: marks the transaction for rollback
                raise IntegrityError("refused")
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    bench_thing.send(sender=None, token="a")
    timeline_flush()
    deliveries_done.connect(failing_observer, dispatch_uid="test.failing_observer")
    try:
        assert deliveries_run_claimed(deliveries_claim(worker="w"), worker="w") == ["done"]
    finally:
        deliveries_done.disconnect(dispatch_uid="test.failing_observer")

    assert Delivery.objects.get(receiver="events_tests.bench").status == "done"
    assert "Observer" in caplog.text


def test_an_attempt_whose_lease_another_worker_took_is_neither_recorded_nor_told_done():
    from carsales.events.models import Delivery
    from carsales.events.services import deliveries_claim, deliveries_run_claimed
    from carsales.events.signals import deliveries_done
    from carsales.events.tests.receivers import bench_thing

    with transaction.atomic():
        for token in ("kept", "taken"):
            bench_thing.send(sender=None, token=token)
    timeline_flush()
    claimed = deliveries_claim(worker="w", limit=10)
    kept, taken = sorted(claimed, key=lambda delivery: delivery.payload["token"] != "kept")
    Delivery.objects.filter(pk=taken.pk).state_write(worker="other")  # its lease ran out and another worker claimed it
    told: list[int] = []
    deliveries_done.connect(
        lambda deliveries, **kwargs: told.extend(delivery.pk for delivery in deliveries),
        weak=False,
        dispatch_uid="test.told",
    )
    try:
        deliveries_run_claimed(claimed, worker="w")
    finally:
        deliveries_done.disconnect(dispatch_uid="test.told")

    assert told == [kept.pk]
    assert Delivery.objects.get(pk=taken.pk).status == "running"

    def attempts_of(delivery):
        return [
            chain
            for chain in timeline_chains(subject=f"events.delivery:{delivery.pk}")
            if chain.cause.startswith("task")
        ]

    assert len(attempts_of(kept)) == 1
    assert attempts_of(taken) == []


@pytest.mark.django_db(transaction=True)
def test_a_long_command_in_one_transaction_is_written_once_it_commits_marked_committed(monkeypatch):
    monkeypatch.setattr("carsales.observability.timeline.FLUSH_AT", 10)  # a car save alone records more
    timeline_begin("test: a long load")
    with transaction.atomic():
        cars = [CarFactory() for _ in range(3)]
        assert not SignalChain.objects.exists()  # kept in memory while the transaction is open
    timeline_flush()  # the commit wrote them (its last step's mark); the rest, if any

    chains = timeline_chains(subject=f"catalog.car:{cars[0].pk}")
    assert chains and all(chain.committed for chain in timeline_chains())


@pytest.mark.parametrize(
    ("argv", "cause"),
    [
        (["/srv/carsales/manage.py", "import_cars", "cars.csv"], "command import_cars"),
        (["manage.py", "shell", "-c", "..."], "shell"),
        (["manage.py", "--help"], "shell or command"),
        (["/usr/bin/python3", "script.py"], "shell or command"),
    ],
)
def test_what_a_command_or_shell_sets_off_is_caused_by_it_by_name(monkeypatch, argv, cause):
    timeline_flush()
    monkeypatch.setattr("sys.argv", argv)

    car = CarFactory()
    timeline_flush()

    assert [chain.cause for chain in timeline_chains(subject=f"catalog.car:{car.pk}")] == [cause]


def test_the_history_of_an_order_and_of_its_cars_holds_every_request_that_moved_them():
    from carsales.catalog.services import cars_relist, cars_withdraw
    from carsales.conftest import sold_car
    from carsales.sales.services import sale_void

    car = sold_car()
    order = car.order_items.get().order
    other = CarFactory()
    timeline_flush()
    for cause, act in (
        ("test: the sale voided", lambda: sale_void(sale=order.sale, actor=None)),
        ("test: withdrawn", lambda: cars_withdraw(car_ids=[other.pk])),
        ("test: relisted", lambda: cars_relist(car_ids=[other.pk])),
        ("test: repriced in bulk", lambda: Car.objects.filter(pk=other.pk).update(value=F("value") + 1)),
    ):
        timeline_begin(cause)
        act()
        timeline_flush()

    def causes(subject):
        return {chain.cause for chain in timeline_chains(subject=subject)}

    assert "test: the sale voided" in causes(f"orders.order:{order.pk}") & causes(f"catalog.car:{car.pk}")
    assert {"test: withdrawn", "test: relisted", "test: repriced in bulk"} <= causes(f"catalog.car:{other.pk}")


@pytest.mark.django_db(transaction=True)
def test_a_command_saving_row_by_row_each_in_its_transaction_writes_its_steps_as_it_goes(monkeypatch):
    monkeypatch.setattr("carsales.observability.timeline.FLUSH_AT", 10)
    timeline_begin("test: row by row")
    for _ in range(4):
        with transaction.atomic():
            CarFactory()

    assert SignalChain.objects.count() >= 3  # not all kept in memory until the command ends
    assert all(chain.committed for chain in timeline_chains())


@pytest.mark.django_db(transaction=True)
def test_one_transaction_too_long_to_hold_is_written_inside_it_for_the_same_cause(monkeypatch):
    monkeypatch.setattr("carsales.observability.timeline.FLUSH_AT", 5)
    monkeypatch.setattr("carsales.observability.timeline.LONG_TRANSACTION_FLUSHES", 4)  # 20 steps held at most
    timeline_begin("test: a huge load")
    with transaction.atomic():
        for _ in range(4):
            CarFactory()
        assert SignalChain.objects.exists()  # written inside it: memory stays bounded
    timeline_flush()

    chains = timeline_chains()
    assert len(chains) >= 2 and {chain.cause for chain in chains} == {"test: a huge load"}
    assert all(chain.committed for chain in chains)


@pytest.mark.django_db(transaction=True)
def test_a_timeline_that_cannot_be_written_after_a_commit_costs_its_record_never_the_action(monkeypatch, caplog):
    from django.db import DatabaseError

    monkeypatch.setattr("carsales.observability.timeline.FLUSH_AT", 5)

    def refused(*args, **kwargs):
        raise DatabaseError("the timeline's table is locked")

    monkeypatch.setattr(SignalChain, "save", refused)
    timeline_begin("test: row by row")
    for _ in range(2):
        with transaction.atomic():
            CarFactory()

    assert Car.objects.count() == 2
    assert "A signal timeline could not be written after its commit" in caplog.text
