"""A save's derived data in one round trip: what its receivers write, sent together on PostgreSQL
(one WITH of data-modifying statements), each at once elsewhere, the same rows either way."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from carsales.audit.models import AuditEntry
from carsales.catalog.models import Brand, Car, CatalogueVersion, PriceChange
from carsales.catalog.services import car_create
from carsales.conftest import CarFactory
from carsales.core.db import bump_seeding_row, insert_soon, one_round_trip
from carsales.core.dispatch import DomainSignal
from carsales.core.models import ReceiverFailure
from carsales.inventory.models import CarInventory, InventoryTotals

pytestmark = pytest.mark.django_db
TRANSACTION = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")


def bump() -> None:
    bump_seeding_row(CatalogueVersion, lookup={"singleton": True}, column="number")


def version() -> int:
    return CatalogueVersion.objects.get().number


def test_a_car_created_writes_its_derived_data_in_one_statement_after_its_own_row():
    brand = Brand.objects.create(name="Budget", slug="budget")
    car_create(brand=brand, model="Warm", factory_year=2020, model_year=2020, plate="W1", value=1, bio="T.")
    before, snapshots = version(), CarInventory.objects.count()

    with CaptureQueriesContext(connection) as queries:
        car = car_create(brand=brand, model="Golf", factory_year=2020, model_year=2021, plate="G1", value=900, bio="T.")

    sql = [query["sql"] for query in queries.captured_queries]
    after_the_row = sql[next(n for n, text in enumerate(sql) if text.startswith('INSERT INTO "catalog_car"')) + 1 :]
    # The version, the first price, the totals (their trigger writes the snapshot), the audit entry.
    expected = ["WITH"] if connection.vendor == "postgresql" else ["UPDATE", "INSERT", "UPDATE", "INSERT"]
    assert [text.split(" ", 1)[0] for text in after_the_row if not text.startswith(TRANSACTION)] == expected
    assert version() == before + 1 and CarInventory.objects.count() == snapshots + 1
    assert PriceChange.objects.filter(car=car, old_value=None, new_value=Decimal("900")).exists()
    assert AuditEntry.objects.filter(action="car.created", object_id=str(car.pk)).exists()
    assert InventoryTotals.objects.get().cars_value == Decimal("901")


def test_a_statement_in_between_sends_what_is_pending_first_so_it_reads_it():
    bump()
    start = version()
    with transaction.atomic(), one_round_trip("default"):
        bump()
        assert version() == start + 1  # the read sent the bump before itself
        bump()
    assert version() == start + 2


def test_two_writes_of_one_row_in_one_save_both_count():
    bump()
    start = version()
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), one_round_trip("default"):
        bump()
        bump()  # one statement writes a row once: the first is sent before this one joins
    assert version() == start + 2
    assert len([query for query in queries.captured_queries if "catalogueversion" in query["sql"]]) == 2


def test_rows_made_on_first_use_are_made_inside_the_round_trip():
    brand = Brand.objects.create(name="First", slug="first")
    with CatalogueVersion.own_writes.opened(), InventoryTotals.own_writes.opened():  # a new database's
        CatalogueVersion.objects.all().delete()
        InventoryTotals.objects.all().delete()
    Car.objects.all().delete()

    car_create(brand=brand, model="One", factory_year=2020, model_year=2020, plate="F1", value=5, bio="T.")

    assert version() == 1
    totals = InventoryTotals.objects.get()
    assert (totals.cars_count, totals.cars_value) == (1, Decimal("5"))
    assert CarInventory.objects.latest("id").cars_count == 1


def test_a_record_written_soon_gets_its_pk_once_sent():
    car = CarFactory()
    with transaction.atomic():
        with one_round_trip("default"):
            change = PriceChange(car=car, old_value=None, new_value=Decimal("3"))
            insert_soon(change)
            if connection.vendor == "postgresql":
                assert change.pk is None  # not sent yet
        assert PriceChange.objects.get(pk=change.pk).new_value == Decimal("3")


def test_a_write_that_fails_when_sent_fails_the_block_and_marks_the_transaction():
    with transaction.atomic():
        with pytest.raises(IntegrityError), one_round_trip("default"):
            bump()
            insert_soon(PriceChange(car_id=None, new_value=Decimal("1")))  # type: ignore[misc]
        assert transaction.get_connection().needs_rollback


failing_alone = DomainSignal("tests.round_trip", "Sent inside a save by the round-trip test.")


def test_a_receiver_that_may_fail_alone_writes_at_once_under_its_savepoint_and_its_failure_keeps_the_saves():
    """Its write is not held for the save's round trip (its rollback would not undo it), and the
    save's pending writes are sent before its savepoint opens (its rollback does not undo them)."""

    def bumps_then_fails(**kwargs):
        bump()
        raise RuntimeError("observer broke")

    failing_alone.connect(bumps_then_fails, dispatch_uid="tests.round_trip.bumps_then_fails")
    try:
        bump()
        start = version()
        with transaction.atomic():
            with one_round_trip("default"):
                bump()  # the save's own, pending
                [(_receiver, outcome)] = failing_alone.send_robust(sender=None)
                assert isinstance(outcome, RuntimeError)
            assert not transaction.get_connection().needs_rollback
        assert version() == start + 1
    finally:
        failing_alone.disconnect(dispatch_uid="tests.round_trip.bumps_then_fails")


def test_a_car_deleted_has_its_derived_data_written_in_the_round_trip_of_its_delete():
    kept, gone = CarFactory(value=Decimal("10")), CarFactory(value=Decimal("7"))
    start = version()

    with CaptureQueriesContext(connection) as queries:
        Car.objects.get(pk=gone.pk).delete()

    sql = [query["sql"] for query in queries.captured_queries]
    after_the_row = sql[next(n for n, text in enumerate(sql) if text.startswith('DELETE FROM "catalog_car" ')) + 1 :]
    assert sum(text.startswith("WITH") for text in after_the_row) == (1 if connection.vendor == "postgresql" else 0)
    assert version() == start + 1
    totals = InventoryTotals.objects.get()
    assert (totals.cars_count, totals.cars_value) == (1, kept.value)
    assert AuditEntry.objects.filter(action="car.deleted", object_id=str(gone.pk)).exists()


def test_a_write_of_the_save_failing_as_a_receiver_that_may_fail_alone_begins_fails_the_save_not_the_receiver():
    """The save's writes are sent before that receiver's savepoint: their failure is the save's,
    not booked to the receiver (whose rollback would have let the save commit without them)."""
    car = CarFactory()
    failures = ReceiverFailure.objects.count()

    def reads(**kwargs):
        CatalogueVersion.objects.count()

    failing_alone.connect(reads, dispatch_uid="tests.round_trip.reads")
    try:
        with pytest.raises(IntegrityError), transaction.atomic(), one_round_trip("default"):
            bump()
            insert_soon(PriceChange(car=car, new_value=Decimal("1")))
            insert_soon(PriceChange(car_id=None, new_value=Decimal("2")))  # type: ignore[misc]  # NOT NULL
            failing_alone.send_robust(sender=None)
    finally:
        failing_alone.disconnect(dispatch_uid="tests.round_trip.reads")
    assert ReceiverFailure.objects.count() == failures


def test_a_write_of_the_save_failing_under_a_receivers_own_savepoint_still_fails_the_save():
    """A receiver that opens a savepoint and takes an IntegrityError for its own (a "create unless
    it exists") may catch the save's error sent before its SAVEPOINT: the save raises it all the same."""
    car = CarFactory()
    with pytest.raises(IntegrityError), transaction.atomic(), one_round_trip("default"):
        insert_soon(PriceChange(car=car, new_value=Decimal("1")))
        insert_soon(PriceChange(car_id=None, new_value=Decimal("2")))  # type: ignore[misc]  # NOT NULL
        try:
            with transaction.atomic():
                pass
        except IntegrityError:
            pass


def test_a_save_inside_a_receiver_that_may_fail_alone_holds_nothing_back_from_its_savepoint():
    bump()
    start = version()

    def saves_then_fails(**kwargs):
        with one_round_trip("default"):  # a save the receiver makes
            bump()  # before the receiver's first statement, which opens its savepoint
            CatalogueVersion.objects.exists()
        raise RuntimeError("observer broke")

    failing_alone.connect(saves_then_fails, dispatch_uid="tests.round_trip.saves_then_fails")
    try:
        with transaction.atomic():
            [(_receiver, outcome)] = failing_alone.send_robust(sender=None)
        assert isinstance(outcome, RuntimeError)
    finally:
        failing_alone.disconnect(dispatch_uid="tests.round_trip.saves_then_fails")
    assert version() == start  # its bump rolled back with it


def test_a_row_the_save_makes_on_first_use_is_not_made_under_a_receivers_savepoint():
    with CatalogueVersion.own_writes.opened():  # as on a new database
        CatalogueVersion.objects.all().delete()

    def reads_then_fails(**kwargs):
        CatalogueVersion.objects.exists()
        raise RuntimeError("observer broke")

    failing_alone.connect(reads_then_fails, dispatch_uid="tests.round_trip.reads_then_fails")
    try:
        with transaction.atomic(), one_round_trip("default"):
            bump()  # the save's, the first ever: its row is made when it is sent
            failing_alone.send_robust(sender=None)
    finally:
        failing_alone.disconnect(dispatch_uid="tests.round_trip.reads_then_fails")
    assert version() == 1
