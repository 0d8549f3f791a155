"""SharedResponsesMiddleware: a visitor who brings no cookie and no credentials gets the response
such a visitor got before, replayed whole (one version read, nothing else), and only while the
catalogue has not changed; anyone else, and anything the views do not mark, is served in full.

Where a change reaches the replayed copies through every write path: test_page_cache.py, whose
anonymous client is such a visitor.
"""

import json
from datetime import timedelta
from decimal import Decimal
from http.cookies import SimpleCookie
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from carsales.catalog.middleware import _keyed_by
from carsales.catalog.models import Car
from carsales.catalog.pages import CSRF_TOKEN_SLOT
from carsales.catalog.services import car_update, cars_withdraw
from carsales.conftest import CarFactory, order_for
from carsales.core.testing import csrf_token_in
from carsales.orders.services import order_mark_paid

pytestmark = pytest.mark.django_db

# (address, query, request headers): every response a view marks, as clients ask for it.
SHARED = {
    "catalogue": ("/", {}, {}),
    "catalogue, filtered and sorted": ("/", {"fuel": "diesel", "ordering": "-value"}, {}),
    "htmx results": ("/", {"fuel": "diesel"}, {"HX-Request": "true"}),
    "htmx history restore": ("/", {}, {"HX-Request": "true", "HX-History-Restore-Request": "true"}),
    "api list": ("/api/cars/", {}, {}),
    "api list as json": ("/api/cars/", {"page": "1"}, {"Accept": "application/json"}),
    "api list, format named": ("/api/cars/", {"format": "json"}, {"Accept": "*/*"}),
}


@pytest.fixture
def anyone() -> Client:
    """Visitors bringing nothing, one after another, to the same site (one process's middleware)."""
    return Client()


def replayed(response: Any) -> bool:
    # A copy is replayed before the authentication layer: its request never got a user.
    return not hasattr(response.wsgi_request, "user")


def _headers(response: Any) -> dict[str, str]:
    # Expires is the moment of the response (Cache-Control: private, core.security): its own each time.
    return {name: value for name, value in response.items() if name != "Expires"}


@pytest.mark.parametrize("asked", SHARED.values(), ids=SHARED.keys())
def test_a_visitor_bringing_nothing_gets_the_first_response_replayed_whole(asked, anyone, django_assert_num_queries):
    CarFactory(fuel="diesel")
    address, query, headers = asked
    first = anyone.get(address, query, headers=headers)
    with django_assert_num_queries(1):  # the catalogue's version, nothing else
        again = anyone.get(address, query, headers=headers)
    assert replayed(again) and not replayed(first)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert _headers(again) == _headers(first) and "Expires" in again
    assert "X-Frame-Options" in again and "Content-Security-Policy" in again and "Cookie" in again["Vary"]


@pytest.mark.parametrize("address", ["/", "/api/cars/"])
def test_the_next_request_after_a_change_gets_the_change(address, anyone):
    car = CarFactory(value=Decimal("10000"))
    anyone.get(address)
    assert replayed(anyone.get(address))
    car_update(car=car, value=Decimal("9876"))
    assert "9,876" in anyone.get(address).content.decode().replace("9876.00", "9,876")
    assert replayed(anyone.get(address))
    cars_withdraw(car_ids=[car.pk])
    assert f"/cars/{car.pk}/" not in anyone.get(address).content.decode()


def test_a_visitor_bringing_a_cookie_or_credentials_is_served_in_full(user, staff, anyone):
    withdrawn = CarFactory()
    cars_withdraw(car_ids=[withdrawn.pk])
    CarFactory()
    for address in ("/", "/api/cars/"):
        anyone.get(address)
        assert replayed(anyone.get(address))
    anyone.force_login(user)
    signed_in = anyone.get("/")
    assert not replayed(signed_in) and f"Hi, {user.username}" in signed_in.content.decode()
    anyone.cookies.clear()
    anyone.cookies["messages"] = "anything"  # any cookie at all: the site decides what it means
    assert not replayed(anyone.get("/"))
    anyone.cookies.clear()
    # A token's holder sees what it may see: staff, the withdrawn car the copy for anyone lacks.
    token = f"Token {Token.objects.create(user=staff).key}"
    as_staff = anyone.get("/api/cars/", headers={"Authorization": token})
    assert not replayed(as_staff) and f'"id":{withdrawn.pk},' in as_staff.content.decode()
    assert f'"id":{withdrawn.pk},' not in anyone.get("/api/cars/").content.decode()
    assert replayed(anyone.get("/api/cars/")) and replayed(anyone.get("/"))


def test_made_up_negotiation_is_answered_and_never_kept(anyone):
    car = CarFactory()
    for headers in ({}, {"HX-Request": "true"}):
        anyone.get("/", headers=headers)
        anyone.get("/api/cars/", headers=headers)
    anyone.get(car.get_absolute_url())
    anyone.cookies.clear()
    pages = caches["pages"]
    kept = len(pages._cache)  # type: ignore[attr-defined]
    for junk in range(5):
        assert anyone.get("/api/cars/", headers={"Accept": f"application/json; junk={junk}"}).status_code == 200
        assert anyone.get("/", headers={"HX-Request": f"junk{junk}"}).status_code == 200
        assert anyone.get("/", {"junk": junk}).status_code == 200  # a query the page does not read
        anyone.cookies.clear()  # each a first visit: the page's token set a cookie
        assert anyone.get(car.get_absolute_url(), {"fbclid": junk}).status_code == 200  # a car page reads none
    assert len(pages._cache) == kept  # type: ignore[attr-defined]


def test_a_response_setting_a_cookie_or_left_unmarked_is_served_in_full_each_time(anyone):
    for _visit in range(2):
        # Its form holds a token minted by the CSRF layer itself, which sets its cookie.
        anyone.cookies.clear()  # a first visit each time
        first_visit = anyone.get("/accounts/login/")
        assert first_visit.cookies["csrftoken"].value and not replayed(first_visit)
        # No form, no cookie, but its view marks nothing: the cart is the visitor's own.
        anyone.cookies.clear()
        assert not replayed(anyone.get("/cart/"))
        assert not anyone.cookies


def test_a_car_page_with_a_form_is_replayed_with_a_token_of_each_visitors_own(django_assert_num_queries):
    car = CarFactory()
    site = Client(enforce_csrf_checks=True)  # one process's middleware, visitors one after another

    def first_visit() -> tuple[Any, SimpleCookie]:
        site.cookies = SimpleCookie()
        page = site.get(car.get_absolute_url())
        return page, site.cookies

    first, first_cookies = first_visit()
    with django_assert_num_queries(1):  # the catalogue's version, nothing else
        second, second_cookies = first_visit()
    third, third_cookies = first_visit()
    pages = [first, second, third]
    assert not replayed(first) and replayed(second) and replayed(third)
    secrets = {cookies["csrftoken"].value for cookies in (first_cookies, second_cookies, third_cookies)}
    tokens = [csrf_token_in(page) for page in pages]
    assert len(secrets) == len(set(tokens)) == 3  # each visitor's own
    assert all(len(token) == 64 for token in tokens)  # masked, as Django masks a form's token
    # The cookie is set as the CSRF layer sets it on a page it renders.
    site.cookies = SimpleCookie()
    site.get("/accounts/login/")
    djangos = site.cookies["csrftoken"]
    for cookies in (first_cookies, second_cookies, third_cookies):
        assert {key: cookies["csrftoken"][key] for key in djangos if key != "expires"} == {
            key: djangos[key] for key in djangos if key != "expires"
        }
    for page, token in zip(pages, tokens, strict=True):
        body = page.content.decode()
        assert CSRF_TOKEN_SLOT not in body and body.replace(token, "") == first.content.decode().replace(tokens[0], "")
        assert page["Content-Length"] == str(len(page.content))
        assert "Cookie" in page["Vary"] and "private" in page["Cache-Control"]  # never kept by a proxy
    # Each token goes with its own visitor's cookie only.
    add = reverse("orders:cart_add", args=[car.pk])
    site.cookies = second_cookies
    assert site.post(add, {"csrfmiddlewaretoken": tokens[2]}).status_code == 403
    site.cookies = third_cookies
    assert site.post(add, {"csrfmiddlewaretoken": tokens[2]}).status_code == 302
    assert str(car) in site.get("/cart/").content.decode()


def test_a_sold_cars_page_is_replayed_to_anyone_and_its_buyer_still_finds_their_order(anyone, user):
    car = CarFactory()
    order = order_for(car, user=user)
    order_mark_paid(order=order, actor=AnonymousUser())
    anyone.get(car.get_absolute_url())
    again = anyone.get(car.get_absolute_url())
    assert replayed(again) and "This car has been sold." in again.content.decode()
    assert not anyone.cookies  # no form on it: no token minted
    anyone.force_login(user)
    own = anyone.get(car.get_absolute_url()).content.decode()
    assert f"see order #{order.pk}" in own and "This car has been sold." not in own


@pytest.mark.parametrize(
    "made",
    [
        lambda: HttpResponse("x", status=404),
        lambda: HttpResponseRedirect("/elsewhere/"),
        lambda: StreamingHttpResponse(iter([b"x"])),
        lambda: _with_cookie(HttpResponse("x")),
        lambda: _varying(HttpResponse("x"), "Accept-Language"),
        lambda: _varying(HttpResponse("x"), "*"),
    ],
    ids=["not a 200", "a redirect", "streamed", "sets a cookie", "varies on another header", "varies on everything"],
)
def test_a_response_is_kept_only_when_it_is_anyones(made):
    assert _keyed_by(_varying(HttpResponse("x"), "Accept, HX-Request, Cookie")) is not None
    assert _keyed_by(made()) is None


def _with_cookie(response: HttpResponse) -> HttpResponse:
    response.set_cookie("session", "theirs")
    return response


def _varying(response: Any, header: str) -> Any:
    response["Vary"] = header
    return response


def test_a_copy_is_kept_per_query_as_the_page_reads_it_not_as_it_is_spelt(anyone):
    CarFactory(fuel="diesel", model="Dieselone")
    CarFactory(fuel="petrol", model="Petrolone")
    diesel = anyone.get("/?fuel=diesel&ordering=-value")
    petrol = anyone.get("/?fuel=petrol&ordering=-value")
    assert "Dieselone" in diesel.content.decode() and "Dieselone" not in petrol.content.decode()
    for spelt in (
        "/?ordering=-value&fuel=diesel",
        "/?fuel=diesel&&ordering=-value&",
        "/?%66uel=diesel&ordering=-value",
    ):
        again = anyone.get(spelt)
        assert replayed(again) and again.content == diesel.content, spelt
    # The raw bytes of "café", and a search for the text "cafÃ©" (its bytes read as Latin-1): two queries.
    cafe = anyone.get("/", QUERY_STRING="q=caf\xc3\xa9")
    mojibake = anyone.get("/?q=caf%C3%83%C2%A9")
    assert 'value="café"' in cafe.content.decode() and 'value="cafÃ©"' in mojibake.content.decode()


@override_settings(TRUSTED_PROXIES=["127.0.0.1"], SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_the_api_list_is_kept_per_site_its_links_name_and_the_catalogue_for_any(anyone):
    CarFactory.create_batch(3)
    by_proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    for _visit in range(2):
        secure = anyone.get("/api/cars/?page_size=1", headers=by_proxy)
        plain = anyone.get("/api/cars/?page_size=1")
        other_port = anyone.get("/api/cars/?page_size=1", HTTP_HOST="localhost:8001")
        assert json.loads(secure.content)["next"].startswith("https://testserver")
        assert json.loads(plain.content)["next"].startswith("http://testserver/api/cars/")
        assert json.loads(other_port.content)["next"].startswith("http://localhost:8001/api/cars/")
    assert replayed(secure) and replayed(plain) and replayed(other_port)
    anyone.get("/", headers=by_proxy)
    assert replayed(anyone.get("/", HTTP_HOST="localhost:8001"))  # its links are relative: one copy
    assert anyone.get("/", HTTP_HOST="elsewhere.example").status_code == 400  # a host Django refuses


def test_a_miss_reads_the_version_once(anyone, django_assert_num_queries):
    CarFactory()
    anyone.cookies["unrelated"] = "1"
    anyone.get("/")  # caches the page's parts, not a whole copy
    with django_assert_num_queries(1):  # the version, read by the view
        assert not replayed(anyone.get("/"))
    anyone.cookies.clear()
    anyone.get("/?ordering=-value")  # a copy kept for the address: the next ones are looked up
    with django_assert_num_queries(1):  # read by the middleware, which finds no copy, and handed on
        assert not replayed(anyone.get("/"))
    assert replayed(anyone.get("/"))


def test_a_copy_expires_when_the_oldest_part_it_was_made_of_does(anyone):
    # At midday: the copies are kept for a day (part of their key), and this test must not cross midnight.
    now = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    with time_machine.travel(now, tick=False):
        car = CarFactory(model="Golf")
        anyone.cookies["unrelated"] = "1"  # caches the page's parts, not a whole copy
        assert "Golf" in anyone.get("/").content.decode()
    # A write outside Django (raw SQL) moves no version: the parts' lifetime bounds how long it is unseen.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Car._meta.db_table} SET model = 'Passat' WHERE id = %s", [car.pk])
    anyone.cookies.clear()
    with time_machine.travel(now + timedelta(seconds=settings.CARSALES_PAGE_CACHE_SECONDS - 10), tick=False):
        assert "Golf" in anyone.get("/").content.decode()  # made from those parts: whole, kept
        assert replayed(anyone.get("/"))
    with time_machine.travel(now + timedelta(seconds=settings.CARSALES_PAGE_CACHE_SECONDS + 1), tick=False):
        fresh = anyone.get("/")
        assert "Passat" in fresh.content.decode() and not replayed(fresh)
