"""Who reads a car's plate and VIN whole, on every page and API that shows them: staff who may see
cars (a salesperson fills in a buyer's papers with them), and a buyer on their own paid order;
everyone else sees them masked, and a cache never hands one reader's bytes to another."""

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from carsales.catalog.services import cars_withdraw
from carsales.catalog.vin import plate_masked, vin_masked
from carsales.conftest import CarFactory, UserFactory, order_for, reserved_car, sold_car, token_client
from carsales.core.groups import MANAGER, SALESPERSON
from carsales.events.models import Delivery
from carsales.orders.models import PaymentMethod
from carsales.orders.services import order_cancel, order_mark_paid
from carsales.sales.services import sale_void

pytestmark = pytest.mark.django_db

PLATE, VIN = "7ABC123", "1HGCM82633A004352"


def member_of(group: str) -> Any:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def shows_whole(text: str) -> bool:
    """Whether `text` names the plate and VIN whole; otherwise it must show them masked or not at all."""
    whole = PLATE in text and VIN in text
    assert whole or (PLATE not in text and VIN not in text)
    return whole


def logged_in(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def car() -> Any:
    return CarFactory(plate=PLATE, vin=VIN, model="Identity")


READERS = {
    "visitor": (lambda: None, False),
    "buyer": (UserFactory, False),
    "salesperson": (lambda: member_of(SALESPERSON), True),
    "manager": (lambda: member_of(MANAGER), True),
}


@pytest.mark.parametrize("reader", READERS)
def test_the_car_page_and_the_api_show_the_plate_and_vin_whole_to_staff_only(car: Any, reader: str):
    make, whole = READERS[reader]
    user = make()
    client = logged_in(user)
    api = token_client(user) if user else Client()

    page = client.get(f"/cars/{car.pk}/").content.decode()
    detail = api.get(f"/api/cars/{car.pk}/").json()
    (listed,) = api.get("/api/cars/").json()["results"]

    assert shows_whole(page) is whole
    for shown in (detail, listed):
        assert (shown["plate"], shown["vin"]) == ((PLATE, VIN) if whole else (plate_masked(PLATE), vin_masked(VIN)))
    if not whole:
        assert vin_masked(VIN) in page


@pytest.mark.parametrize("reader", READERS)
def test_a_search_by_plate_or_vin_finds_the_car_for_staff_only(car: Any, reader: str):
    CarFactory(model="Other")
    make, whole = READERS[reader]
    user = make()
    client, api = logged_in(user), token_client(user) if user else Client()

    for typed in (PLATE, VIN):
        page = client.get("/", {"q": typed}).content.decode()
        found = api.get("/api/cars/", {"q": typed}).json()["results"]

        assert ("Identity" in page) is whole
        assert [shown["id"] for shown in found] == ([car.pk] if whole else [])


@pytest.mark.parametrize("state", ["reserved", "sold"])
def test_a_salesperson_finds_a_reserved_or_sold_car_by_its_plate_vin_or_stock_code_and_lists_only_cars_on_sale(
    state: str,
):
    named = (reserved_car if state == "reserved" else sold_car)(plate=PLATE, vin=VIN, model="Identity")
    withdrawn = CarFactory(plate="9WDN999", vin="2HGCM82633A004352")
    cars_withdraw(car_ids=[withdrawn.pk])
    on_sale = CarFactory(model="Other")
    salesperson = member_of(SALESPERSON)
    client, api = logged_in(salesperson), token_client(salesperson)

    for typed in (PLATE, VIN.lower(), named.stock_code, f"identity {PLATE}"):
        page = client.get("/", {"q": typed}).content.decode()
        found = api.get("/api/cars/", {"q": typed}).json()["results"]
        assert "Identity" in page and f"badge {state}" in page
        assert [shown["id"] for shown in found] == [named.pk]
        assert api.get(f"/api/cars/{named.pk}/").status_code == 200
    # Withdrawn stays stock staff's; without a plate asked for, the list is the cars on sale.
    for typed in (withdrawn.plate, withdrawn.vin):
        assert api.get("/api/cars/", {"q": typed}).json()["results"] == []
    assert [shown["id"] for shown in api.get("/api/cars/").json()["results"]] == [on_sale.pk]
    assert "Identity" not in client.get("/").content.decode()
    assert api.get("/api/cars/", {"q": "Identity"}).json()["results"] == []  # its model is no identifier
    # A visitor finds none of them by the plate, and does not read a sold car in the API.
    assert Client().get("/api/cars/", {"q": PLATE}).json()["results"] == []
    assert state == "reserved" or Client().get(f"/api/cars/{named.pk}/").status_code == 404


def test_a_salespersons_whole_plates_are_never_served_to_a_visitor_from_a_cache(car: Any):
    salesperson = member_of(SALESPERSON)
    for_staff = token_client(salesperson).get("/api/cars/").content.decode()
    staff_search = logged_in(salesperson).get("/", {"q": PLATE}).content.decode()

    for_visitor = Client().get("/api/cars/").content.decode()
    visitor_search = Client().get("/", {"q": PLATE}).content.decode()
    buyer_search = logged_in(UserFactory()).get("/", {"q": PLATE}).content.decode()

    assert shows_whole(for_staff) and "Identity" in staff_search
    assert not shows_whole(for_visitor)
    assert "Identity" not in visitor_search and "Identity" not in buyer_search


def test_the_admin_lists_and_searches_plates_for_a_salesperson(car: Any):
    client = logged_in(member_of(SALESPERSON))

    listed = client.get("/admin/catalog/car/", {"q": PLATE}).content.decode()

    assert PLATE in listed and "Identity" in listed


@pytest.mark.parametrize(
    ("state", "buyer_sees"), [("placed", False), ("paid", True), ("cancelled", False), ("voided", False)]
)  # fmt: skip
def test_the_order_page_and_the_api_name_plate_and_vin_to_its_buyer_once_the_cars_are_theirs(
    car: Any, state: str, buyer_sees: bool
):
    """Not on a placed order: anyone could order a car, read them, and cancel."""
    owner = UserFactory()
    order = order_for(car, user=owner)
    if state in ("paid", "voided"):
        order = order_mark_paid(order=order, actor=member_of(SALESPERSON), method=PaymentMethod.TRANSFER)
    if state == "voided":
        sale_void(sale=order.sale, actor=None)
    elif state == "cancelled":
        order_cancel(order=order, actor=owner)

    for user, sees in ((owner, buyer_sees), (member_of(SALESPERSON), True), (member_of(MANAGER), True)):
        page = logged_in(user).get(f"/orders/{order.pk}/")
        assert page.status_code == 200
        assert shows_whole(page.content.decode()) is sees
        api = token_client(user)
        (item,) = api.get(f"/api/orders/{order.pk}/").json()["items"]
        (listed,) = api.get("/api/orders/").json()["results"][0]["items"] if user is owner else [item]
        assert (item["plate"], item["vin"]) == ((PLATE, VIN) if sees else (None, None)) and listed == item
    assert logged_in(UserFactory()).get(f"/orders/{order.pk}/").status_code == 404  # another buyer's


def test_the_receipt_email_alone_names_the_cars_plates_and_vins(car: Any, run_tasks: Any, mailoutbox: list[Any]):
    order = order_for(car, user=UserFactory(email="owner@example.com"))
    emails_owed = Delivery.objects.filter(receiver__startswith="notifications.")
    placed_owed = str(list(emails_owed.values_list("payload", flat=True)))
    run_tasks()
    placed = mailoutbox[-1].body

    order_mark_paid(order=order, actor=member_of(SALESPERSON), method=PaymentMethod.CASH)
    run_tasks()
    receipt = mailoutbox[-1].body

    assert not shows_whole(placed) and not shows_whole(placed_owed)  # kept for days with the delivery: not there
    assert f"plate {PLATE}, VIN {VIN}" in receipt
    assert "This car is now yours:" in receipt and "the car is held for you until then, and goes back" in placed


def test_a_buyers_own_paid_car_page_names_its_plate_and_vin_in_their_note_alone(car: Any):
    owner = UserFactory()
    order = order_mark_paid(order=order_for(car, user=owner), actor=member_of(SALESPERSON), method=PaymentMethod.CASH)

    mine = logged_in(owner).get(f"/cars/{car.pk}/").content.decode()
    others = logged_in(UserFactory()).get(f"/cars/{car.pk}/").content.decode()

    assert f"This car is yours (plate {PLATE}, VIN {VIN}):" in mine and f"see order #{order.pk}" in mine
    assert not shows_whole(others) and not shows_whole(Client().get(f"/cars/{car.pk}/").content.decode())


@pytest.mark.parametrize("reader", ["salesperson", "manager"])
def test_staff_find_a_plate_however_it_is_spaced_or_dashed(reader: str):
    spaced = sold_car(plate="AB12 CDE", model="Spaced")
    bare = CarFactory(plate="XY34FGH", model="Bare")
    CarFactory(plate="AB12 CDF", model="Neighbour")
    staff = member_of(SALESPERSON if reader == "salesperson" else MANAGER)
    client, api = logged_in(staff), token_client(staff)

    for typed, car in (("ab12cde", spaced), ("AB12-CDE", spaced), ("ab12  cde", spaced), ("XY34 FGH", bare)):
        found = api.get("/api/cars/", {"q": typed}).json()["results"]
        assert [shown["id"] for shown in found] == [car.pk], typed
        assert car.model in client.get("/", {"q": typed}).content.decode()
    assert Client().get("/api/cars/", {"q": "XY34 FGH"}).json()["results"] == []  # a visitor: no plate search


def test_only_a_word_that_may_be_a_plate_is_compared_with_the_plates_bare():
    """A model or a year is no plate: it is not looked for among the plates bare."""
    from carsales.catalog.models import Car
    from carsales.catalog.search import identified_by

    def scans(word: str) -> bool:
        return "REPLACE" in str(Car.objects.filter(identified_by(word)).query).upper()

    assert not scans("m7") and not scans("2022") and not scans("golf")
    assert scans("ab12cde") and scans("AB12 CDE") and scans("7ABC123")


@pytest.mark.parametrize("typed", ["AB12 CDE", "ab12-cde", "7ABC123", "m7", "1HGCM82633A004352"])
def test_a_plate_vin_or_stock_code_as_staff_type_it_is_found_through_indexes_not_by_reading_every_car(typed):
    """identified_by says each lookup as an index holds it, word for word: a plate bare is the
    expression car_plate_bare holds, a VIN says it is given as car_vin_unique_when_given does. The
    database reads indexes only (SQLite: MULTI-INDEX OR; PostgreSQL: no sequential scan, with them
    off), not the whole table."""
    from django.db import connection, transaction

    from carsales.catalog.models import Car
    from carsales.catalog.search import identified_by

    CarFactory.create_batch(3)
    found = Car.objects.filter(identified_by(typed))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
        plan = found.explain()
    assert ("car_plate_bare" in plan) == (typed != "m7"), plan  # "m7" is no plate
    assert "car_vin_unique_when_given" in plan, plan
    assert ("SCAN catalog_car" if connection.vendor == "sqlite" else "Seq Scan") not in plan, plan


@pytest.mark.parametrize("typed", ["golf", "GOLF", "2022"])
def test_a_staff_word_that_is_a_model_or_a_year_finds_those_cars_and_the_car_it_is_the_plate_of(typed):
    """A plate may be a word ("GOLF") or a number ("2022"): the cars of that model or year stay
    found beside it, never hidden behind it."""
    from carsales.catalog.models import Car
    from carsales.catalog.search import car_search

    golfs = CarFactory.create_batch(2, model="Golf", model_year=2021, factory_year=2021)
    of_2022 = CarFactory(model="Polo", model_year=2022, factory_year=2022)
    plated = CarFactory(model="Up", model_year=2019, factory_year=2019, plate=typed.upper())
    found, _outcome = car_search(Car.objects.all(), typed, staff=True)
    expected = {*(car.pk for car in golfs), plated.pk} if typed.isalpha() else {of_2022.pk, plated.pk}
    assert set(found.values_list("pk", flat=True)) == expected
    api = token_client(member_of(SALESPERSON))
    listed = {row["id"] for row in api.get("/api/cars/", {"q": typed}).json()["results"]}
    assert listed == expected


@pytest.mark.parametrize("typed", ["straße 1", "ﬁ 12", "\u01319 AB", "ßßßßßßßßß", "ab\x1c77x", "\uff21\uff2212"])
def test_a_plate_written_in_more_than_ascii_is_refused_as_typed_never_stored_as_another(typed: str):
    """Capitals made another plate of some letters (ß → SS, ﬁ → FI, a dotless i → I; fullwidth letters), and a control
    character was read as a space: each is refused by the plate's format, saying so."""
    from carsales.catalog.models import PLATE_FORMAT, Car
    from carsales.conftest import BrandFactory

    staff = token_client(UserFactory(is_staff=True, is_superuser=True))
    sent = {"brand": BrandFactory().slug, "model": "Rio", "factory_year": 2020, "model_year": 2020, "plate": typed}

    answer = staff.post("/api/cars/", sent, format="json")

    assert answer.status_code == 400 and PLATE_FORMAT in str(answer.json()["plate"])
    assert not Car.objects.filter(model="Rio").exists()
