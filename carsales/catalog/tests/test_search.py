"""Search that forgives typos, aliases and a year, finds staff identifiers, and suggests."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carsales.catalog.models import Brand, Car
from carsales.conftest import BrandFactory, CarFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock() -> dict[str, Any]:
    honda, vw, chevrolet, peugeot, fiat = (
        BrandFactory(name=name) for name in ("Honda", "Volkswagen", "Chevrolet", "Peugeot", "Fiat")
    )
    return {
        "civic": CarFactory(brand=honda, model="Civic", factory_year=2019, model_year=2019),
        "golf_2022": CarFactory(
            brand=vw, model="Golf", factory_year=2022, model_year=2022, fuel="diesel", colour="Deep red", body="estate"
        ),
        "golf_2018": CarFactory(
            brand=vw, model="Golf", factory_year=2018, model_year=2018, fuel="petrol", transmission="automatic"
        ),
        "cruze": CarFactory(brand=chevrolet, model="Cruze"),
        "p2008": CarFactory(brand=peugeot, model="2008", factory_year=2020, model_year=2020),
        "doblo": CarFactory(brand=fiat, model="Doblò", plate="FI123X", vin="ZFA22300005556777"),
    }


def found(query: str, client: Client | None = None) -> list[int]:
    page = (client or Client()).get("/", {"q": query})
    api = (client or Client()).get("/api/cars/", {"q": query}).json()["results"]
    ids = sorted(car.pk for car in page.context["page"])
    assert ids == sorted(car["id"] for car in api), "the page and the API find the same cars"
    return ids


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hnda civic", ["civic"]),
        ("Honda Cvic", ["civic"]),
        ("vw golf", ["golf_2022", "golf_2018"]),
        ("chevy", ["cruze"]),
        ("golf 2022", ["golf_2022"]),
        ("peugeot 2008", ["p2008"]),
        ("volkswagon", ["golf_2022", "golf_2018"]),
        ("doblo", ["doblo"]),
        ("GOLF", ["golf_2022", "golf_2018"]),
        # What a car is, beside its brand and model: its fuel, gearbox, body and colour.
        ("golf diesel", ["golf_2022"]),
        ("vw gas", ["golf_2018"]),
        ("red", ["golf_2022"]),
        ("wagon", ["golf_2022"]),
        ("automatic golf", ["golf_2018"]),
        ("golf electric", []),  # no correction to another word: nothing is an electric Golf
        ("ev", []),  # the fact alone: not the "ev" of Chevrolet
        ("éV", []),  # folded as brands are
        ("golf, diesel.", ["golf_2022"]),  # a sentence's punctuation is no part of a word
    ],
)
def test_a_query_as_buyers_type_it_finds_what_they_meant(stock: dict[str, Any], query: str, expected: list[str]):
    assert found(query) == sorted(stock[name].pk for name in expected)


@pytest.mark.parametrize(
    ("rename", "typo", "car"),
    [
        (lambda stock: Car.objects.filter(pk=stock["cruze"].pk).update(model="Zafira"), "zafria", "cruze"),
        (
            lambda stock: Car.objects.bulk_update([Car(pk=stock["cruze"].pk, model="Zafira")], ["model"]),
            "zafria",
            "cruze",
        ),
        (lambda stock: Brand.objects.filter(name="Fiat").update(name="Abarth"), "abrath", "doblo"),
        (
            lambda stock: Brand.objects.bulk_update([Brand(pk=stock["doblo"].brand_id, name="Abarth")], ["name"]),
            "abrath",
            "doblo",
        ),
        (
            lambda stock: Car.objects.filter(pk=stock["cruze"].pk).update(model="Zafira", value=Decimal(1)),
            "zafria",
            "cruze",
        ),
    ],
    ids=["car update", "car bulk_update", "brand update", "brand bulk_update", "car update of model and price"],
)
def test_a_name_renamed_by_a_queryset_write_is_corrected_to_at_once(stock: dict[str, Any], rename, typo, car):
    assert found("civic") == [stock["civic"].pk]  # the words are cached now
    rename(stock)

    assert found(typo) == [stock[car].pk]


def test_the_page_says_how_a_corrected_query_was_understood(stock: dict[str, Any]):
    page = Client().get("/", {"q": "hnda civic"}).content.decode()

    assert "Showing results for <strong>honda civic</strong>" in page


def test_an_empty_result_suggests_what_was_probably_meant(stock: dict[str, Any]):
    page = Client().get("/", {"q": "dobo"}).content.decode()

    assert "No car matches this search. Did you mean" in page and ">doblò</a>" in page
    assert stock["doblo"].get_absolute_url() in Client().get("/", {"q": "doblò"}).content.decode()


def test_a_suggestion_completes_a_word_typed_short_beside_one_it_corrects(stock: dict[str, Any]):
    page = Client().get("/", {"q": "fia dobo"}).content.decode()

    assert "Did you mean" in page and ">fiat doblò</a>" in page


@pytest.mark.parametrize(
    "query",
    [{"q": "golff cruise"}, {"q": "dobo", "fuel": "diesel"}, {"q": "Škoda"}],
    ids=["a golf, a cruze: no golf cruze", "the doblò is no diesel", "a brand not in stock is no honda"],
)
def test_no_suggestion_is_offered_that_would_find_no_car_either(stock: dict[str, Any], query: dict[str, str]):
    page = Client().get("/", query).content.decode()

    advice = (
        "No car matches these filters. Try fewer of them, or"
        if len(query) > 1
        else "No car matches this search. Search for a brand or a model alone"
    )
    assert "Did you mean" not in page and advice in page


def test_words_that_find_nothing_together_are_offered_each_alone_with_what_it_finds(stock: dict[str, Any]):
    CarFactory(model="Tiguan", brand=Brand.objects.get(name="Volkswagen"), body="suv", colour="Grey")

    red_suv = Client().get("/", {"q": "red suv"}).content.decode()
    electric_golf = Client().get("/", {"q": "golf electric"}).content.decode()
    found_alone = Client().get("/", {"q": "suv"}).context["page"]

    assert "No car matches this search. Search for " in red_suv
    assert '>red</a> (1 car) or <a href="?q=suv">suv</a> (1 car) alone.' in red_suv
    assert ">golf</a> (2 cars) alone." in electric_golf and "electric</a>" not in electric_golf
    assert [car.model for car in found_alone] == ["Tiguan"]


@pytest.mark.parametrize("query", ["car", "used cars", "Vehicle."])
def test_words_every_car_listed_is_are_no_condition(stock: dict[str, Any], query: str):
    page = Client().get("/", {"q": query})

    assert len(page.context["page"]) == len(stock) and "Did you mean" not in page.content.decode()
    assert found(f"red {query}") == [stock["golf_2022"].pk]


def test_staff_find_a_car_by_stock_code_plate_or_vin_and_visitors_by_its_stock_code_only(
    stock: dict[str, Any], admin_user: Any
):
    staff = Client()
    staff.force_login(admin_user)
    doblo = stock["doblo"]

    for query in (doblo.stock_code.lower(), "fi123x", "zfa22300005556777"):
        assert doblo.pk in found(query, staff)
    assert found("FI123X") == found("ZFA22300005556777") == []  # a plate and a VIN are the buyer's papers
    assert found(doblo.stock_code) == [doblo.pk]  # shown on its page to anyone


def test_a_search_costs_a_constant_number_of_queries(stock: dict[str, Any]):
    def count(query: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            Client().get("/", {"q": query})
        return len(queries)

    plain, corrected = count("civic"), count("hnda civic")
    CarFactory.create_batch(15, model="Accord")
    assert (count("civic"), count("hnda civic")) == (plain, corrected) and corrected <= plain + 3


def test_anyone_finds_a_car_on_sale_by_the_stock_code_its_page_shows_in_any_case():
    from carsales.conftest import reserved_car

    wanted, held = CarFactory(model="Wanted"), reserved_car(model="Held")
    CarFactory(model="Other")

    def found(query: str) -> list[str]:
        return [car.model for car in Client().get("/", {"q": query}).context["page"]]

    assert found(wanted.stock_code) == ["Wanted"] == found(wanted.stock_code.lower())
    assert found(f"wanted {wanted.stock_code}") == ["Wanted"]
    assert found(held.stock_code) == []  # the catalogue lists cars on sale
    assert Client().get("/api/cars/", {"q": wanted.stock_code}).json()["count"] == 1
