"""Every price change is recorded from the stored price, on every path; a recent drop is shown."""

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.utils import timezone

from carsales.catalog.models import Car, PriceChange, price_history_written
from carsales.catalog.selectors import car_price_history, price_dropped_from, with_price_drop
from carsales.catalog.services import car_delete, car_update, cars_withdraw
from carsales.conftest import CarFactory, token_client
from carsales.core.actor import acting_as
from carsales.core.tests.invariants import store_problems

pytestmark = pytest.mark.django_db


def history(car: Car) -> list[tuple[Decimal | None, Decimal | None, str]]:
    return [(c.old_value, c.new_value, c.changed_by_name) for c in PriceChange.objects.filter(car=car)]


def test_every_path_records_the_old_price_as_stored_and_who_changed_it(admin_user: Any):
    car = CarFactory(value=Decimal("20000"))
    stale = Car.objects.get(pk=car.pk)
    staff = Client()
    staff.force_login(admin_user)

    with acting_as(admin_user):
        car_update(car=Car.objects.get(pk=car.pk), value=Decimal("19000"))  # a service (the page's path)
    token_client(admin_user).patch(f"/api/cars/{car.pk}/", {"value": "18500"}, format="json")
    stale.value = Decimal("18000")  # read at 20,000: the history says 18,500 → 18,000
    stale.save()
    Car.objects.get(pk=car.pk).save()  # no change, no record

    assert history(car) == [
        (Decimal("18500"), Decimal("18000"), ""),
        (Decimal("19000"), Decimal("18500"), admin_user.username),
        (Decimal("20000"), Decimal("19000"), admin_user.username),
        (None, Decimal("20000"), ""),
    ]


def test_the_admin_records_a_price_change_too(admin_user: Any):
    car = CarFactory(value=Decimal("20000"))
    staff = Client()
    staff.force_login(admin_user)
    form = staff.get(f"/admin/catalog/car/{car.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "photo"}
    data.update(brand=car.brand_id, value="17500")
    data.update({"photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0"})  # the gallery inline, left as it is

    response = staff.post(f"/admin/catalog/car/{car.pk}/change/", data)

    assert response.status_code == 302
    assert history(car)[0] == (Decimal("20000"), Decimal("17500"), admin_user.username)


def test_a_recent_drop_shows_a_badge_on_the_card_the_page_and_the_api_until_the_window_closes(
    settings: Any, admin_user: Any
):
    settings.CARSALES_PRICE_DROP_DAYS = 14
    dropped, raised = CarFactory(value=Decimal("20000")), CarFactory(value=Decimal("20000"))
    car_update(car=dropped, value=Decimal("18000"))
    car_update(car=raised, value=Decimal("18000"))
    car_update(car=raised, value=Decimal("19000"))  # the last change is a rise: no badge

    catalogue = Client().get("/").content.decode()
    page = Client().get(f"/cars/{dropped.pk}/").content.decode()
    api = {car["id"]: car["price_dropped_from"] for car in Client().get("/api/cars/").json()["results"]}

    assert catalogue.count("Price dropped") == 1 and "Price dropped" in page
    assert api == {dropped.pk: "20000.00", raised.pk: None}
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        assert "Price dropped" not in Client().get("/").content.decode()
    cars_withdraw(car_ids=[dropped.pk])
    staff = Client()
    staff.force_login(admin_user)
    assert "Price dropped" not in staff.get(f"/cars/{dropped.pk}/").content.decode()  # not on sale: no advert


def test_the_history_is_on_the_car_page_and_in_the_api_without_who_for_visitors(admin_user: Any):
    car = CarFactory(value=Decimal("20000"))
    with acting_as(admin_user):
        car_update(car=car, value=Decimal("18000"))

    public = Client().get(f"/api/cars/{car.pk}/price-history/").json()
    staff = token_client(admin_user).get(f"/api/cars/{car.pk}/price-history/").json()
    page = Client().get(f"/cars/{car.pk}/").content.decode()

    assert public == [
        {"old_value": "20000.00", "new_value": "18000.00", "changed_at": public[0]["changed_at"]},
        {"old_value": None, "new_value": "20000.00", "changed_at": public[1]["changed_at"]},
    ]
    assert staff[0]["changed_by_name"] == admin_user.username
    assert "Price history" in page and "\N{MINUS SIGN}$2,000" in page and admin_user.username not in page


def test_a_price_given_after_price_on_request_reads_priced_not_listed_again():
    car = CarFactory(value=Decimal("20000"))
    car_update(car=car, value=None)
    car_update(car=car, value=Decimal("19000"))

    page = Client().get(f"/cars/{car.pk}/").content.decode()
    changes = re.findall(r"<td>(listed|priced|price on request)</td>", page)

    assert changes == ["priced", "price on request", "listed"]


def test_the_catalogue_costs_the_same_queries_with_many_price_changes(django_assert_max_num_queries: Any):
    cars = CarFactory.create_batch(3)
    for car in cars:
        for price in (900, 800, 700):
            car_update(car=car, value=Decimal(price))
    with django_assert_max_num_queries(4):
        Client().get("/api/cars/")


@pytest.mark.parametrize(
    ("changes", "dropped_from"),
    [
        pytest.param([], None, id="never priced"),
        pytest.param([(None, "20000", 1)], None, id="listed only"),
        pytest.param([(None, "20000", 3), ("20000", "18000", 1)], "20000", id="a recent drop"),
        pytest.param([(None, "20000", 40), ("20000", "18000", 31)], None, id="a drop out of the window"),
        pytest.param([(None, "20000", 3), ("20000", "21000", 1)], None, id="a rise"),
        pytest.param(
            [(None, "20000", 5), ("20000", "18000", 3), ("18000", "19000", 1)], None, id="a rise after a drop"
        ),
        pytest.param([(None, "20000", 3), ("20000", None, 1)], None, id="taken off: price on request"),
        pytest.param([(None, None, 3), (None, "15000", 1)], None, id="priced after being on request"),
        pytest.param(
            [(None, "20000", 3), ("20000", "21000", 1), ("21000", "18000", 1)], "21000", id="two at one moment"
        ),
    ],
)
def test_a_price_drop_read_from_the_history_is_the_one_the_lists_annotate(
    changes: list[tuple[Any, Any, int]], dropped_from: str | None
):
    # The car page reads it from the history it shows (price_dropped_from), the lists by a subquery
    # (with_price_drop): the same rule, the same answer.
    car = CarFactory(value=None)
    now = timezone.now()
    with price_history_written():
        PriceChange.objects.filter(car=car).delete()
        PriceChange.objects.bulk_create(
            [PriceChange(car=car, old_value=old, new_value=new, changed_at=now - timedelta(days=days))
             for old, new, days in changes]
        )  # fmt: skip

    annotated = with_price_drop(Car.objects.filter(pk=car.pk)).get().price_dropped_from
    expected = Decimal(dropped_from) if dropped_from else None
    assert (price_dropped_from(list(car_price_history(car=car))), annotated) == (expected, expected)


def _changed_by_hand(change: PriceChange) -> PriceChange:
    change.new_value = Decimal("1")
    return change


# Each takes a car's listing change and writes its history by hand, as a shell or a script may.
HISTORY_BY_HAND = {
    "queryset update": lambda change: PriceChange.objects.filter(pk=change.pk).update(new_value=Decimal("1")),
    "update of every change": lambda change: PriceChange.objects.update(changed_at=timezone.now()),
    "bulk_update": lambda change: PriceChange.objects.bulk_update([_changed_by_hand(change)], ["new_value"]),
    "save of a change changed": lambda change: _changed_by_hand(change).save(),
    "save naming its field": lambda change: _changed_by_hand(change).save(update_fields=["new_value"]),
    "update_or_create": lambda change: PriceChange.objects.update_or_create(
        pk=change.pk, defaults={"new_value": Decimal("1")}
    ),
    "create": lambda change: PriceChange.objects.create(car=change.car, old_value=change.new_value, new_value=1),
    "bulk_create": lambda change: PriceChange.objects.bulk_create(
        [PriceChange(car=change.car, old_value=change.new_value, new_value=Decimal("1"))]
    ),
    "bulk_create over it": lambda change: PriceChange.objects.bulk_create(
        [_changed_by_hand(change)], update_conflicts=True, unique_fields=["id"], update_fields=["new_value"]
    ),
    "delete": lambda change: change.delete(),
    "queryset delete": lambda change: PriceChange.objects.filter(pk=change.pk).delete(),
    "base manager update": lambda change: PriceChange._base_manager.filter(pk=change.pk).update(new_value=1),
    "base manager delete": lambda change: PriceChange._base_manager.filter(pk=change.pk).delete(),
}


@pytest.mark.parametrize("path", HISTORY_BY_HAND)
def test_no_path_but_a_cars_own_writes_its_price_history(path):
    car = CarFactory(value=Decimal("20000"))
    before = history(car)

    with pytest.raises(TypeError, match="price history"), transaction.atomic():
        HISTORY_BY_HAND[path](PriceChange.objects.get(car=car))

    assert history(car) == before
    assert not store_problems()


def test_a_cars_deletion_takes_its_history_and_an_accounts_keeps_its_name_on_it(staff):
    car, sold_on = CarFactory(value=Decimal("20000")), CarFactory(value=Decimal("9000"))
    with acting_as(staff):
        car_update(car=sold_on, value=Decimal("8500"))

    car_delete(car=car)
    staff.delete()

    assert not PriceChange.objects.filter(car_id=car.pk).exists()
    assert history(sold_on) == [(Decimal("9000"), Decimal("8500"), staff.username), (None, Decimal("9000"), "")]
    assert PriceChange.objects.filter(car=sold_on, changed_by__isnull=False).count() == 0
