"""Bounds the API keeps against hostile or merely heavy clients."""

import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from carsales.conftest import CarFactory, UserFactory, token_client
from carsales.core.parsers import json_depth

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_deeply_nested_body_is_a_quick_400_on_every_endpoint_the_token_one_included():
    body = "[" * 1000 + "]" * 1000
    started = time.monotonic()

    token = APIClient().post("/api/auth/token/", body, content_type="application/json")
    cart = token_client(UserFactory()).post("/api/cart/items/", body, content_type="application/json")

    assert (token.status_code, cart.status_code) == (400, 400)
    assert "nested deeper than 32" in token.json()["detail"]
    assert time.monotonic() - started < 1


def test_the_depth_scan_ignores_brackets_inside_strings():
    assert json_depth(b'{"a": "[[[[[[", "b": [1, {"c": "\\"]]]"}]}') == 3


def test_the_token_endpoint_is_throttled_per_address(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token": "3/minute"},
    }
    client = APIClient()

    answers = [client.post("/api/auth/token/", {"username": f"x{n}", "password": "y"}).status_code for n in range(4)]

    assert answers == [400, 400, 400, 429]


def test_staff_writes_have_their_own_rate_so_a_stock_feed_is_not_cut_at_a_buyers(settings, staff):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "user_write": "2/minute",
            "staff_write": "50/minute",
        },
    }
    staff_api, buyer_api = token_client(staff), token_client(UserFactory())

    staff_answers = [staff_api.post("/api/brands/", {"name": f"Feed {n}"}).status_code for n in range(5)]
    buyer_answers = [buyer_api.post("/api/cart/items/", {"car": CarFactory().pk}).status_code for _ in range(3)]

    assert staff_answers == [201] * 5
    assert buyer_answers[:2] == [201, 201] and buyer_answers[2] == 429


def _schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


def test_the_schema_says_what_the_api_does(client):
    from django.utils import timezone

    schema = _schema(client)
    car = schema["components"]["schemas"]["Car"]["properties"]
    this_year = timezone.localdate().year

    assert (car["factory_year"]["minimum"], car["factory_year"]["maximum"]) == (1900, this_year)
    assert car["model_year"]["maximum"] == this_year + 1
    assert not car["value"]["pattern"].startswith("^-")  # no negative price
    assert {} in schema["paths"]["/api/cars/"]["get"]["security"]  # public reads: no lock
    assert {} not in schema["paths"]["/api/cars/"]["post"]["security"]
    assert {} not in schema["paths"]["/api/orders/"]["get"]["security"]
    names = {p["name"] for p in schema["paths"]["/api/cars/"]["get"]["parameters"]}
    assert "page_size" in names


def test_page_size_is_honoured_up_to_a_hundred(client):
    CarFactory.create_batch(7)

    five = client.get("/api/cars/", {"page_size": 5}).json()
    many = client.get("/api/cars/", {"page_size": 1000}).json()

    assert len(five["results"]) == 5 and five["count"] == 7
    assert len(many["results"]) == 7


def test_every_api_answer_is_json_a_url_no_route_matches_included(client):
    missing = client.get("/api/no/such/thing/")
    page = client.get("/no/such/page/")

    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
