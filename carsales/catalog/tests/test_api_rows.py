"""The car list read as rows (catalog.api_rows) answers with the bytes DRF makes of the queryset:
for every kind of reader, page, page size and kind of car, and with DRF's own refusals."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from carsales.catalog.api import CarSerializer, CarViewSet
from carsales.catalog.api_rows import CarRowWriter
from carsales.catalog.models import Car, PriceChange, price_history_written
from carsales.catalog.services import car_update, cars_withdraw
from carsales.conftest import BrandFactory, CarFactory, UserFactory, reserved_car, sold_car

pytestmark = pytest.mark.django_db

QUERIES = [
    "",
    "?page=2&page_size=3",
    "?page=last&page_size=4",
    "?page=",
    "?page_size=1000",  # past the most: the most
    "?page_size=0",
    "?page_size=-2",
    "?page_size=abc",
    "?page=1&page_size=5&format=json",
    "?page=2&page_size=5&utm_source=mail",  # a parameter the list does not read
    "?page=999",  # past the last page: DRF's 404
    "?page=abc",
    "?page=0",
    "?page=%D9%A1",  # an Arabic-Indic 1
]


@pytest.fixture
def cars() -> list[Car]:
    skoda = BrandFactory(name="Škoda")
    made = [
        CarFactory(brand=skoda, model="Octavia «Combi»", vin="TMBJJ7NE8L0123456", mileage=12_000, fuel="diesel",
                   transmission="manual", body="estate", colour="Moon white", doors=5, seats=5, engine_cc=1968,
                   power_kw=110, bio='Line one.\nA "quoted" line \u2013 with a dash.', photo="cars/a photo.jpg",
                   thumbnail="cars/thumbs/a.jpg", thumbnail_webp="cars/thumbs/a.webp"),
        CarFactory(value=None, plate="NO PRICE 1"),
        CarFactory(value=Decimal("12345.60")),
        *(CarFactory() for _ in range(6)),
    ]  # fmt: skip
    dropped = CarFactory(value=Decimal("20000"))
    car_update(car=dropped, value=Decimal("18500.50"))  # a recent drop: shown
    long_ago = CarFactory(value=Decimal("30000"))
    car_update(car=long_ago, value=Decimal("29000"))
    with price_history_written():  # changed long ago
        PriceChange.objects.filter(car=long_ago).update(changed_at=timezone.now() - timedelta(days=400))
    raised = CarFactory(value=Decimal("1000"))
    car_update(car=raised, value=Decimal("1100"))
    withdrawn = CarFactory()
    cars_withdraw(car_ids=[withdrawn.pk])
    return [*made, dropped, long_ago, raised, withdrawn, reserved_car(), sold_car()]


def readers() -> dict[str, Client]:
    clients = {"visitor": Client()}
    for name, user in (
        ("buyer", UserFactory()),
        ("stock staff", UserFactory(is_staff=True, is_superuser=True)),
        ("manager", _in_group("Manager")),
    ):
        clients[name] = Client()
        clients[name].force_login(user)
    return clients


def _in_group(name: str) -> Any:
    member = UserFactory(is_staff=True)
    member.groups.add(Group.objects.get(name=name))
    return member


def answer(client: Client, query: str, **headers: Any) -> tuple[int, bytes, int]:
    for cache in caches.all():
        cache.clear()  # each read renders: no copy of the other path's bytes
    with CaptureQueriesContext(connection) as statements:
        response = client.get(f"/api/cars/{query}", **headers)
    return response.status_code, response.content, len(statements.captured_queries)


def test_the_rows_answer_with_the_bytes_drf_makes_for_every_reader_page_and_car(cars, monkeypatch):
    for reader, client in readers().items():
        for query in QUERIES:
            for headers in ({}, {"HTTP_ACCEPT": "application/json; indent=2"}):
                as_rows = answer(client, query, **headers)
                with monkeypatch.context() as drf_only:
                    drf_only.setattr(CarViewSet, "_rows", lambda view: None)
                    by_drf = answer(client, query, **headers)
                said = f"{reader} {query!r} {headers}"
                assert as_rows[:2] == by_drf[:2], said
                assert as_rows[2] <= by_drf[2], said  # never more statements
    # The figures compared were those of cars: masked and whole, dropped, priced and not, with files.
    visitor, staff = readers()["visitor"], readers()["stock staff"]
    shown = {car["id"]: car for car in visitor.get("/api/cars/?page_size=100").json()["results"]}
    assert shown[cars[0].pk]["vin"] == "TMBJJ7NE8L0••••••" and shown[cars[0].pk]["photo"].startswith("http://")
    assert shown[cars[9].pk]["price_dropped_from"] == "20000.00" and shown[cars[1].pk]["value"] is None
    assert staff.get("/api/cars/?page_size=100").json()["count"] == len(cars)


def test_a_catalogue_of_no_cars_answers_as_drf_does(monkeypatch):
    client = Client()
    as_rows = [answer(client, query)[:2] for query in ("", "?page=2", "?page=last")]
    monkeypatch.setattr(CarViewSet, "_rows", lambda view: None)
    assert as_rows == [answer(client, query)[:2] for query in ("", "?page=2", "?page=last")]
    assert as_rows[0][0] == 200 and as_rows[1][0] == 404


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/St_Johns"])
def test_times_are_written_in_the_zone_in_force_as_drf_writes_them(cars, monkeypatch, settings, zone):
    settings.TIME_ZONE = zone
    client = readers()["stock staff"]
    as_rows = answer(client, "?page_size=100")
    monkeypatch.setattr(CarViewSet, "_rows", lambda view: None)
    assert as_rows[:2] == answer(client, "?page_size=100")[:2]
    assert b"Z" not in as_rows[1].split(b'"created_at":"')[1][:40]  # not UTC: the zone's offset


def test_a_salesperson_and_a_filtered_list_are_read_through_the_filterset(cars):
    """A salesperson's list widens to the cars their papers find; a filter narrows: neither is rows."""
    salesperson = Client()
    salesperson.force_login(_in_group("Salesperson"))
    visitor = Client()
    brand = cars[0].brand.slug
    for client, query in ((salesperson, ""), (visitor, "?fuel=diesel"), (visitor, f"?brand={brand}")):
        with CaptureQueriesContext(connection) as statements:
            assert client.get(f"/api/cars/{query}").status_code == 200
        assert any("COUNT(*) AS" in statement["sql"] and "__count" in statement["sql"] for statement in statements)
    assert [car["model"] for car in visitor.get("/api/cars/?fuel=diesel").json()["results"]] == ["Octavia «Combi»"]


def test_a_page_reads_its_count_and_its_rows_and_nothing_else(cars):
    client = Client()
    client.get("/api/cars/")  # the statements built, the version read once
    for cache in caches.all():
        cache.clear()
    with CaptureQueriesContext(connection) as statements:
        assert client.get("/api/cars/?page=2&page_size=4").status_code == 200
    data = [s["sql"] for s in statements.captured_queries if "catalog_car" in s["sql"]]
    assert len(data) == 2 and data[0].startswith("SELECT COUNT(*)") and "LIMIT 4 OFFSET 4" in data[1]


def test_a_field_no_column_writes_is_refused_when_the_writer_is_built():
    class WithNested(CarSerializer):
        brand_detail = serializers.SerializerMethodField()

        class Meta(CarSerializer.Meta):
            fields = [*CarSerializer.Meta.fields, "brand_detail"]

    with pytest.raises(TypeError, match="brand_detail: not in method_fields_from_columns"):
        CarRowWriter(WithNested)


def test_a_write_only_field_is_never_written_and_a_field_written_otherwise_is_refused():
    class WithSecret(CarSerializer):
        secret = serializers.CharField(write_only=True, required=False)

        class Meta(CarSerializer.Meta):
            fields = [*CarSerializer.Meta.fields, "secret"]

    class PhotoAsName(CarSerializer):
        photo = serializers.ImageField(use_url=False, read_only=True)

    assert "secret" not in CarRowWriter(WithSecret).names  # as DRF: a write-only field is read, never written
    with pytest.raises(TypeError, match="photo: a ImageField is not one column"):
        CarRowWriter(PhotoAsName)
