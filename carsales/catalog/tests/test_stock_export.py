"""Days in stock, the CSV export (download and command), and the audit of withdraw/relist."""

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from carsales.audit.models import AuditEntry
from carsales.catalog.exports import CSV_COLUMNS
from carsales.catalog.services import cars_relist, cars_withdraw
from carsales.conftest import BrandFactory, CarFactory, UserFactory, sold_car
from carsales.core.actor import acting_as

pytestmark = pytest.mark.django_db


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def staff(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_staff_download_streams_every_field_of_the_filtered_cars(staff: Client):
    brand = BrandFactory(name="Škoda")
    CarFactory(brand=brand, model="=HYPERLINK(1)", fuel="diesel", vin="TMBJJ7NE8J0123456", mileage=1200)
    CarFactory(brand=brand, fuel="petrol")

    response = staff.get("/cars/export.csv?fuel=diesel")

    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = rows_of(b"".join(response.streaming_content).decode())  # type: ignore[attr-defined]
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == 1
    row = rows[0]
    assert (row["brand"], row["fuel"], row["vin"], row["mileage"]) == ("Škoda", "diesel", "TMBJJ7NE8J0123456", "1200")
    assert row["model"] == "'=HYPERLINK(1)"  # a formula is text to a spreadsheet


@pytest.mark.parametrize(("ordering", "values"), [("price", ["100", "200", "300"]), ("-price", ["300", "200", "100"])])
def test_the_staff_download_lists_the_cars_in_the_order_the_page_shows_them(staff: Client, ordering, values):
    for value in (200, 100, 300):
        CarFactory(value=value)

    response = staff.get("/cars/export.csv", {"ordering": ordering})

    rows = rows_of(b"".join(response.streaming_content).decode())  # type: ignore[attr-defined]
    assert [row["value"].split(".")[0] for row in rows] == values


@pytest.mark.parametrize(
    ("query", "said"),
    [("brand=zzz", "Brand: Select a valid choice."), ("price_min=abc", "Min price: Enter a number.")],
)
def test_a_download_with_a_filter_refused_says_why_instead_of_exporting_every_car(staff: Client, query, said):
    CarFactory()

    response = staff.get(f"/cars/export.csv?{query}")

    assert response.status_code == 400 and said in response.content.decode()


def test_only_staff_download_the_stock(client: Client):
    assert client.get("/cars/export.csv").status_code == 302
    client.force_login(UserFactory())
    assert client.get("/cars/export.csv").status_code == 403


def test_the_command_writes_the_same_csv_and_reads_the_rows_a_chunk_at_a_time(
    tmp_path: Any, staff: Client, django_assert_max_num_queries: Any
):
    CarFactory.create_batch(5)
    target = tmp_path / "cars.csv"

    with django_assert_max_num_queries(2):
        call_command("export_cars", str(target), verbosity=0)

    # The command lists by id; the page's "longest in stock" is that order for cars taken in one by one.
    oldest_first = staff.get("/cars/export.csv", {"ordering": "oldest"})
    download = b"".join(oldest_first.streaming_content).decode()  # type: ignore[attr-defined]
    assert target.read_bytes().decode() == download and len(rows_of(download)) == 5


def test_days_in_stock_show_to_staff_and_filter_the_old_stock(staff: Client, admin_user: Any):
    with time_machine.travel(timezone.now() - timedelta(days=100)):
        old = CarFactory(model="Old")
        sold_long_ago = sold_car(model="Gone")
    CarFactory(model="Fresh")

    page = staff.get("/?in_stock_days_min=90")
    inventory = staff.get("/staff/inventory/?older_than=90").content.decode()

    assert [car.pk for car in page.context["page"]] == [old.pk]
    assert "in stock 100 days" in page.content.decode()
    assert "1 car in stock for 90 days or more" in inventory and str(old) in inventory
    assert str(sold_long_ago) not in inventory
    assert "stock-age" not in Client().get("/").content.decode()  # visitors see no stock ages


def test_withdrawing_and_relisting_are_in_the_audit_log_with_who_did_it(admin_user: Any):
    car = CarFactory()

    with acting_as(admin_user):
        cars_withdraw(car_ids=[car.pk])
        cars_relist(car_ids=[car.pk])

    entries = AuditEntry.objects.filter(object_id=str(car.pk), action__in=["car.withdrawn", "car.relisted"])
    assert sorted((e.action, e.actor_name) for e in entries) == [
        ("car.relisted", admin_user.username),
        ("car.withdrawn", admin_user.username),
    ]


def test_a_salesperson_finds_no_link_to_a_withdrawn_cars_page_they_may_not_open(admin_user: Any):
    from django.contrib.auth.models import Group

    from carsales.catalog.services import cars_withdraw
    from carsales.conftest import UserFactory
    from carsales.core.groups import SALESPERSON

    with time_machine.travel(timezone.now() - timedelta(days=100)):
        withdrawn, listed = CarFactory(model="Withdrawn"), CarFactory(model="Listed")
    cars_withdraw(car_ids=[withdrawn.pk])
    sales = UserFactory(is_staff=True)
    sales.groups.add(Group.objects.get(name=SALESPERSON))
    salesperson, manager = Client(), Client()
    salesperson.force_login(sales)
    manager.force_login(admin_user)

    for client, linked in ((salesperson, False), (manager, True)):
        page = client.get("/staff/inventory/?older_than=90").content.decode()
        assert str(withdrawn) in page and (withdrawn.get_absolute_url() in page) == linked
        assert listed.get_absolute_url() in page
        assert (client.get(withdrawn.get_absolute_url()).status_code == 200) == linked
