"""A GET writes nothing: no page or API read, by any reader, makes a row (a cart, a profile, a
count) or changes one. A crawler, a prefetch or a reload costs reads only."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carsales.conftest import CarFactory, UserFactory, order_for, token_client

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
PAGES = [
    "/", "/?q=civic&ordering=-price", "/cars/{car}/", "/cart/", "/orders/", "/orders/{order}/",
    "/accounts/profile/", "/accounts/token/", "/staff/inventory/", "/staff/sales/", "/staff/signals/",
    "/staff/events/", "/admin/", "/admin/orders/order/", "/admin/catalog/car/{car}/change/",
]  # fmt: skip
API = ["/api/cars/", "/api/cars/{car}/", "/api/cart/", "/api/cart/items/", "/api/orders/", "/api/sales/"]


@pytest.fixture
def world() -> dict[str, int]:
    car = CarFactory()
    return {"car": car.pk, "order": order_for(CarFactory()).pk}


def _writes(get, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = get(url)
    assert response.status_code < 500, url
    return [query["sql"] for query in captured.captured_queries if WRITE.match(query["sql"])]


@pytest.mark.parametrize("reader", ["visitor", "buyer without a cart", "staff"])
def test_no_get_writes_a_row(world, reader, django_user_model):
    user = None
    client = Client()
    if reader == "buyer without a cart":
        user = UserFactory()
    elif reader == "staff":
        user = UserFactory(is_staff=True, is_superuser=True)
    if user is not None:
        client.force_login(user)
        client.get("/")  # the log-in's own writes (session, last login) are behind us
    api = token_client(user) if user is not None else None

    found = {url: _writes(client.get, url.format(**world)) for url in PAGES}
    if api is not None:
        found |= {f"API {url}": _writes(api.get, url.format(**world)) for url in API}

    assert {url: sql for url, sql in found.items() if sql} == {}
