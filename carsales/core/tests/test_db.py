"""The helpers that keep running figures: a record written once, and the figures it moves."""

from datetime import date
from decimal import Decimal

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext

from carsales.accounts.backends import CaseInsensitiveModelBackend
from carsales.analytics.models import DailySales, OrderEvent
from carsales.audit.models import AuditEntry
from carsales.catalog.models import Car, CatalogueVersion, PriceChange
from carsales.conftest import CarFactory, UserFactory, order_for
from carsales.core.db import (
    bump_seeding_row,
    insert_row,
    insert_unless_duplicate,
    insert_unless_duplicate_then_update,
    values_stored,
)
from carsales.events.tests.processes import database_url_for_workers

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 5)


def record(order_id: int, kind: str = "placed") -> bool:
    with OrderEvent.own_writes.opened():  # as the analytics app records them
        return insert_unless_duplicate_then_update(
            OrderEvent(order_id=order_id, kind=kind, amount=Decimal("10"), cars=1, day=DAY),
            seeding=DailySales,
            lookup={"day": DAY},
            changes={"orders_placed": F("orders_placed") + 1, "revenue": F("revenue") + Decimal("10")},
        )


def test_a_record_moves_its_figures_once_making_their_row_on_first_use():
    first, second = order_for(CarFactory()), order_for(CarFactory())
    with OrderEvent.own_writes.opened():
        OrderEvent.objects.all().delete()  # the checkouts recorded theirs today
        DailySales.objects.filter(day=DAY).delete()

    assert record(first.pk)  # the day's first record: its row is made
    with CaptureQueriesContext(connection) as queries:
        assert record(second.pk)
    assert not record(second.pk)  # a repeat moves nothing

    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
    figures = DailySales.objects.get(day=DAY)
    assert (figures.orders_placed, figures.revenue) == (2, Decimal("20"))
    assert OrderEvent.objects.filter(day=DAY).count() == 2


def test_a_counter_bumped_by_a_statement_built_once_makes_its_row_on_first_use():
    with CatalogueVersion.own_writes.opened():  # as on a new database
        CatalogueVersion.objects.all().delete()

    bump_seeding_row(CatalogueVersion, lookup={"singleton": True}, column="number")
    with CaptureQueriesContext(connection) as queries:
        bump_seeding_row(CatalogueVersion, lookup={"singleton": True}, column="number")

    assert len(queries) == 1 and CatalogueVersion.objects.get().number == 2


def test_rows_inserted_by_a_text_built_once_each_keep_their_own_values(monkeypatch):
    monkeypatch.setattr("carsales.core.db._built", {})  # this process's first inserts
    car, buyer = CarFactory(), UserFactory()
    written = [
        # An expression for a value: built by the ORM, as it must be, and its text kept for no other row.
        insert_row(PriceChange(car=car, old_value=Decimal("1"), new_value=Decimal("2"), changed_at=Now())),
        insert_row(PriceChange(car=car, old_value=None, new_value=Decimal("10.50"), changed_by=buyer)),
        insert_row(PriceChange(car=car, old_value=Decimal("10.50"), new_value=None, changed_by_name="shell")),
    ]
    audited = [
        insert_unless_duplicate(AuditEntry(action="a.b", object_type="x.Y", object_id=str(n), detail={"n": n}))
        for n in (1, 2)
    ]

    stored = {change.pk: change for change in PriceChange.objects.filter(pk__in=[row.pk for row in written])}
    assert [(stored[row.pk].old_value, stored[row.pk].new_value) for row in written] == [
        (Decimal("1"), Decimal("2")),
        (None, Decimal("10.50")),
        (Decimal("10.50"), None),
    ]
    assert (stored[written[1].pk].changed_by, stored[written[2].pk].changed_by_name) == (buyer, "shell")
    assert audited == [True, True]
    assert sorted(AuditEntry.objects.filter(action="a.b").values_list("detail", flat=True), key=str) == [
        {"n": 1},
        {"n": 2},
    ]


def test_a_statement_that_fails_marks_the_transaction_as_the_orm_would():
    """A caller that catches the error cannot commit as if the record were written."""
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert_row(PriceChange(car_id=None, new_value=Decimal("1")))  # type: ignore[misc]
        assert transaction.get_connection().needs_rollback


def test_values_stored_are_the_ones_some_row_holds():
    kept = CarFactory(plate="KEPT1"), CarFactory(plate="KEPT2"), CarFactory(plate="ABCDEFGHJKLMNPQR")

    assert values_stored(Car, "plate", {"KEPT1", "NEW1", "KEPT2", "NEW2"}) == {"KEPT1", "KEPT2"}
    assert values_stored(Car, "plate", set()) == set()
    # Longer than the column (16): not the stored plate it begins with.
    assert values_stored(Car, "plate", {"ABCDEFGHJKLMNPQRXYZ"}) == set()
    assert len(kept) == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_a_statement_run_again_and_again_is_prepared_on_its_connection_and_answers_each_value():
    """DATABASE_PREPARE_THRESHOLD: the cart's read, say, planned once for the connection; its
    values bound apart from its text, so one prepared statement answers for every user."""
    users = UserFactory.create_batch(6)

    found = [User.objects.filter(pk=user.pk).values_list("username", flat=True).get() for user in users]

    assert found == [user.username for user in users]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "auth_user" WHERE "auth_user"."id" = $1' in statement for statement in prepared), prepared


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
@pytest.mark.django_db(transaction=True)
def test_a_prepared_statement_is_planned_anew_after_a_migration_changed_what_it_returns():
    """Another process's migration changes a column's type under a statement prepared on this
    connection: PostgreSQL refuses to run that plan again; outside a transaction nothing would
    drop it, and every signed-in page would fail on the user's read (carsales.core.postgresql)."""
    user = UserFactory(first_name="Ana")
    backend = CaseInsensitiveModelBackend()
    for _ in range(6):  # prepared from the fifth run
        backend.get_user(user.pk)
    migrated = psycopg.connect(database_url_for_workers(), autocommit=True)
    migrated.execute("ALTER TABLE auth_user ALTER COLUMN first_name TYPE varchar(200)")
    try:
        assert [backend.get_user(user.pk).first_name for _ in range(7)] == ["Ana"] * 7  # prepared anew
    finally:
        migrated.execute("ALTER TABLE auth_user ALTER COLUMN first_name TYPE varchar(150)")
        migrated.close()
