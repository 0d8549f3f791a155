"""Input a person can type or forge, on the pages and in the admin, gets a clear refusal and loses
nothing: never a 500 (each case was one, on SQLite, PostgreSQL or both)."""

import html
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from carsales.catalog.models import BRAND_NAME_LENGTH, Brand, Car
from carsales.conftest import BrandFactory, CarFactory, UserFactory, order_for
from carsales.core.groups import SALESPERSON
from carsales.core.security import NUL_IN_QUERY
from carsales.orders.models import Order

pytestmark = pytest.mark.django_db

NOT_A_NUMBER = ["NaN", "sNaN", "-Infinity", "1e999999999999999999", "12345678901234567890.5"]
# A digit to str.isdigit(), which int() refuses: "²", "٣" is (Arabic-Indic) three, which int() takes.
SUPERSCRIPT_TWO = "²"


def said(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("price", NOT_A_NUMBER)
def test_a_checkout_posting_a_price_no_page_shows_is_sent_back_to_the_cart(buyer_client: Client, price: str):
    car = CarFactory(value=Decimal("10000"))
    buyer_client.post(f"/cart/add/{car.pk}/")

    response = buyer_client.post("/checkout/", {"cars": [car.pk], f"price-{car.pk}": price})

    assert response.status_code == 302 and response["Location"] == reverse("orders:cart")
    assert said(response)[-1] == "Your cart could not be read; check it and place the order again."
    assert not Order.objects.exists() and Car.objects.get(pk=car.pk).is_available


@pytest.mark.parametrize("query", [SUPERSCRIPT_TWO, "#²", "#" + "9" * 30, "golf%00"])
def test_a_staff_order_search_for_any_text_is_a_page(staff_client: Client, query: str):
    order = order_for(CarFactory(model="Golf"))

    response = staff_client.get("/orders/", {"q": query})

    assert response.status_code == 200
    if query == "golf%00":  # the text "%00", no NUL (that is a 400, below): searched as typed, found in none
        assert order not in response.context["page"]


def _salesperson() -> Any:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=SALESPERSON))
    return user


def _superuser() -> Any:
    return UserFactory(is_staff=True, is_superuser=True)


# Each path took the value to a query unchecked; PostgreSQL refused it there (a 500).

NUL_PATHS = {
    "the catalogue, a salesperson's search": (_salesperson, "/", "q"),
    "the catalogue, a visitor's brand": (lambda: None, "/", "brand"),
    "the API's car list": (lambda: None, "/api/cars/", "q"),
    "the staff's order search": (_superuser, "/orders/", "q"),
    "the signal timeline's filters": (_superuser, "/staff/timeline/", "signal"),
    "an admin list's filter": (_superuser, "/admin/catalog/car/", "fuel__exact"),
    "the admin's autocomplete": (
        _superuser,
        "/admin/autocomplete/?app_label=catalog&model_name=car&field_name=brand",
        "term",
    ),
}


@pytest.mark.parametrize("path", NUL_PATHS)
@pytest.mark.parametrize("value", ["\x00", "a\x00b"])
def test_a_nul_in_any_query_parameter_is_a_400_saying_so_before_any_query(path: str, value: str):
    make, address, name = NUL_PATHS[path]
    client, user = Client(), make()
    if user is not None:
        client.force_login(user)
    joined = "&" if "?" in address else "?"

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{address}{joined}{urlencode({name: value})}")

    assert response.status_code == 400 and response["X-Frame-Options"] == "DENY"  # a page like any other
    said = response.json()["detail"] if address.startswith("/api/") else html.unescape(response.content.decode())
    assert NUL_IN_QUERY in said
    assert not any("\x00" in str(query["sql"]) for query in queries.captured_queries)  # no query was given it
    assert client.get(f"{address}{joined}{urlencode({name: value.replace(chr(0), '')})}").status_code == 200


def test_a_requeue_naming_a_digit_int_refuses_is_no_error(staff_client: Client):
    response = staff_client.post(reverse("events:requeue"), {"delivery": [SUPERSCRIPT_TWO, "¹²", "9" * 5000]})

    assert response.status_code == 302 and said(response) == ["0 dead deliveries requeued."]


@pytest.mark.parametrize("name", ["ß" * BRAND_NAME_LENGTH, "ﷺ" * 10, "½" * 50])
def test_a_brand_name_that_folds_past_its_column_is_refused_on_the_page_and_by_the_api(
    staff_client: Client, staff_api: Any, name: str
):
    page = staff_client.post("/brands/", {"name": name})
    api = staff_api.post("/api/brands/", {"name": name}, format="json")

    assert page.status_code == 200 and page.context["form"].errors["name"] == [
        "This name is too long once compared as buyers search it; shorten it."
    ]
    assert api.status_code == 400 and "name" in api.json()
    assert not Brand.objects.exists()


@pytest.mark.parametrize(
    "posted",
    [
        {"username": "ana", "ip_address": "not-an-ip"},
        {"username": "ana", "ip_address": "9" * 30},
        {"username": "an\x00a", "ip_address": "127.0.0.1"},
        {"username": "", "ip_address": ""},
    ],
)
def test_lifting_a_lock_out_named_by_a_forged_form_says_there_is_none(staff_client: Client, posted: dict[str, str]):
    response = staff_client.post("/staff/lockouts/", posted)

    assert response.status_code == 302
    assert said(response) == ["No such lock-out: give a name and, if any, an IP address."]


def test_the_admins_car_form_posted_with_a_brand_that_is_no_id_shows_the_form_again(staff_client: Client):
    BrandFactory()
    form = {"brand": "abc", "model": "Golf", "factory_year": 2020, "model_year": 2020, "plate": "AB1"}

    response = staff_client.post("/admin/catalog/car/add/", form)

    assert response.status_code == 200 and "brand" in response.context["adminform"].form.errors
    assert not Car.objects.exists()


def test_a_price_of_zero_is_refused_on_every_path_as_a_slip_for_price_on_request(staff_client: Client, staff_api: Any):
    brand = BrandFactory()
    car = {"model": "Golf", "factory_year": 2020, "model_year": 2020, "value": "0"}
    refusal = "A price is above zero; leave it empty for a car priced on request."

    page = staff_client.post("/cars/new/", {**car, "brand": brand.pk, "plate": "P1"})
    api = staff_api.post("/api/cars/", {**car, "brand": brand.slug, "plate": "P2"}, format="json")
    admin = staff_client.post("/admin/catalog/car/add/", {**car, "brand": brand.pk, "plate": "P3"})

    assert page.status_code == 200 and page.context["form"].errors["value"] == [refusal]
    assert api.status_code == 400 and api.json()["value"] == [refusal]
    assert admin.status_code == 200 and admin.context["adminform"].form.errors["value"] == [refusal]
    assert not Car.objects.exists()


def test_a_lock_out_listed_with_a_long_name_and_no_address_is_lifted_from_its_page(staff_client: Client):
    from axes.models import AccessAttempt
    from django.conf import settings
    from django.utils import timezone

    name = "a-customer-with-a-long-address@" + "x" * 180 + ".example"
    AccessAttempt.objects.create(
        username=name, ip_address=None, failures_since_start=settings.AXES_FAILURE_LIMIT, attempt_time=timezone.now()
    )
    page = staff_client.get("/staff/lockouts/").content.decode()
    form = re.search(r'name="username" value="([^"]+)"><input type="hidden" name="ip_address" value="([^"]*)"', page)
    assert form is not None and form[2] == ""

    response = staff_client.post("/staff/lockouts/", {"username": html.unescape(form[1]), "ip_address": form[2]})

    assert said(response) == [f"The lock-out of {name} is lifted."]
    assert not AccessAttempt.objects.exists()


def test_a_json_string_that_is_no_unicode_text_is_a_400(buyer_api: Any):
    refused = buyer_api.post("/api/cart/items/", '{"car": "\\ud800"}', content_type="application/json")
    paired = buyer_api.post("/api/cart/items/", '{"car": "\\ud83d\\ude97"}', content_type="application/json")

    assert refused.status_code == 400 and "lone surrogate" in refused.json()["detail"]
    assert paired.status_code == 400 and "car" in paired.json()  # a character: the field's own refusal


def test_a_staff_api_write_with_no_unicode_text_is_a_400(staff_api: Any):
    for body in ('{"fuel": "\\udfff"}', '{"model": "A\\ud800B"}'):
        response = staff_api.patch(f"/api/cars/{CarFactory().pk}/", body, content_type="application/json")
        assert response.status_code == 400, body


def test_a_log_in_with_a_name_longer_than_any_is_refused_on_every_log_in_path(client: Client):
    name = "n" * 300
    site = client.post("/accounts/login/", {"username": name, "password": "x"})
    admin = client.post("/admin/login/", {"username": name, "password": "x"})
    api = client.post("/api/auth/token/", {"username": name, "password": "x"})

    assert (site.status_code, admin.status_code) == (200, 200) and api.status_code in (400, 401)


def test_a_profile_email_longer_than_the_account_holds_is_a_form_error(buyer_client: Client):
    address = "a" * 250 + "@example.com"
    response = buyer_client.post("/accounts/profile/", {"email": address})

    assert response.status_code == 200 and "email" in response.context["form"].errors
