"""Cached catalogue pages follow every write on the next request, whatever path wrote it.

Each case caches the page first (a request), writes through one path, and reads the page again:
the change shows, on the full page, the htmx results and the API list alike. A rolled-back write
leaves the cached page served as it was.
"""

import json
import re
import tempfile
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core import serializers
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import QuerySet
from django.test import Client
from django.utils import timezone

from carsales.catalog.models import Brand, Car, CatalogueVersion, PriceChange, price_history_written
from carsales.catalog.pages import catalogue_version
from carsales.catalog.services import brand_rename, car_create, car_delete, car_update, cars_withdraw
from carsales.catalog.views import CSRF_TOKEN_SLOT, FIRST_NAME_SLOT, USERNAME_SLOT
from carsales.conftest import BrandFactory, CarFactory, UserFactory, order_for

pytestmark = pytest.mark.django_db

# Parametrized as "shown_on", never "page": that name would pull in pytest-playwright's fixture,
# whose event loop would then run in this thread for the rest of the run.
PAGES: dict[str, Callable[[Any, Car], str]] = {
    "page": lambda client, car: client.get("/").content.decode(),
    "htmx results": lambda client, car: client.get("/", headers={"HX-Request": "true"}).content.decode(),
    "api list": lambda client, car: client.get("/api/cars/").content.decode(),
    "car page": lambda client, car: client.get(car.get_absolute_url()).content.decode(),
}
LISTS = sorted(set(PAGES) - {"car page"})  # where a car off sale is no longer listed


def renamed_by_service(car: Car) -> None:
    car_update(car=car, model="Passat")


def renamed_from_a_shell(car: Car) -> None:
    car.model = "Passat"
    car.save()


def renamed_by_a_queryset_update(car: Car) -> None:
    Car.objects.filter(pk=car.pk).update(model="Passat")


def renamed_by_bulk_update(car: Car) -> None:
    car.model = "Passat"
    Car.objects.bulk_update([car], ["model"])


def renamed_by_a_fixture(car: Car) -> None:
    car.model = "Passat"
    with tempfile.NamedTemporaryFile("w", suffix=".json") as fixture:
        fixture.write(serializers.serialize("json", [car]))
        fixture.flush()
        call_command("loaddata", fixture.name, verbosity=0)


RENAMES = [
    renamed_by_service,
    renamed_from_a_shell,
    renamed_by_a_queryset_update,
    renamed_by_bulk_update,
    renamed_by_a_fixture,
]


@pytest.fixture
def golf() -> Car:
    return CarFactory(model="Golf", brand=BrandFactory(name="Volkswagen"), value=Decimal("15000"))


@pytest.mark.parametrize("shown_on", sorted(PAGES))
@pytest.mark.parametrize("rename", RENAMES, ids=lambda f: f.__name__)
def test_a_renamed_car_shows_its_new_name_on_the_next_request(client, golf, shown_on, rename):
    assert "Golf" in PAGES[shown_on](client, golf)

    rename(golf)

    shown = PAGES[shown_on](client, golf)
    assert "Passat" in shown and "Golf" not in shown


@pytest.mark.parametrize("shown_on", LISTS)
@pytest.mark.parametrize(
    "write, gone",
    [
        (lambda car: order_for(car), True),  # a reservation: a buyer no longer sees it
        (lambda car: cars_withdraw(car_ids=[car.pk]), True),
        (lambda car: car_delete(car=car), True),
        (lambda car: car_update(car=car, value=Decimal("13999")), False),
        (lambda car: brand_rename(brand=car.brand, name="VW"), False),
    ],
    ids=["reserved", "withdrawn", "deleted", "repriced", "brand renamed"],
)
@pytest.mark.parametrize("viewer", ["anonymous", "signed in"])
def test_a_car_reserved_withdrawn_deleted_or_repriced_shows_so_on_the_next_request(
    client, golf, shown_on, write, gone, viewer
):
    if viewer == "signed in":  # the version is read with the user (read_with_each_request_user)
        client.force_login(UserFactory())
    before = PAGES[shown_on](client, golf)
    assert "Golf" in before

    write(golf)

    after = PAGES[shown_on](client, golf)
    assert after != before
    assert ("Golf" not in after) if gone else ("Golf" in after)


@pytest.mark.parametrize(
    "write, shows",
    [
        (lambda car: order_for(car), "Reserved"),
        (lambda car: cars_withdraw(car_ids=[car.pk]), None),  # off sale: no page for a buyer
        (lambda car: car_delete(car=car), None),
        (lambda car: car_update(car=car, value=Decimal("13999")), "13,999"),
        (lambda car: Car.objects.filter(pk=car.pk).update(value=Decimal("12999")), "12,999"),
        (lambda car: brand_rename(brand=car.brand, name="VW"), "VW Golf"),
    ],
    ids=["reserved", "withdrawn", "deleted", "repriced", "repriced in bulk", "brand renamed"],
)
@pytest.mark.parametrize("viewer", ["anonymous", "signed in"])
def test_a_cars_page_shows_each_change_on_the_next_request(client, golf, write, shows, viewer):
    if viewer == "signed in":  # the version is read with the user (read_with_each_request_user)
        client.force_login(UserFactory())
    address = golf.get_absolute_url()
    before = client.get(address).content.decode()
    assert "Add to cart" in before and (shows is None or shows not in before)

    write(golf)

    after = client.get(address)
    if shows is None:
        assert after.status_code == 404
    else:
        assert shows in after.content.decode()


def test_a_cached_car_page_is_each_visitors_own_for_its_notes_and_token(client, golf, django_assert_num_queries):
    """The car page a first visit gets is shared but for the CSRF token and the other apps'
    notes, asked per request: the buyer who ordered the car sees the way to their order."""
    from carsales.conftest import UserFactory

    address = golf.get_absolute_url()
    buyer = UserFactory()
    order_for(golf, user=buyer)
    client.get(address)
    with django_assert_num_queries(1):  # the catalogue's version: the car comes with its page
        first = client.get(address).content.decode()
    assert "csrf-token-slot" not in first and "car-notes-slot" not in first
    assert "Reserved for you" not in first and "Reserved" in first

    signed_in = Client()
    signed_in.force_login(buyer)
    assert "Reserved for you until your order is paid:" in signed_in.get(address).content.decode()


def test_a_brand_renamed_by_a_queryset_update_shows_on_the_next_request(client, golf):
    assert "Volkswagen" in PAGES["page"](client, golf)

    Brand.objects.filter(pk=golf.brand_id).update(name="VW")

    assert "Volkswagen" not in PAGES["page"](client, golf)


def test_a_new_car_and_a_thumbnail_written_by_a_worker_show_on_the_next_request(client, golf):
    PAGES["page"](client, golf)

    car_create(brand=golf.brand, model="Polo", factory_year=2020, model_year=2021, plate="NEW1", value=Decimal(9000))
    assert "Polo" in PAGES["page"](client, golf)

    Car.objects.filter(pk=golf.pk).update(thumbnail="cars/thumbnails/golf.jpg")  # as the worker writes it
    assert "cars/thumbnails/golf.jpg" in PAGES["page"](client, golf)


def test_a_rolled_back_write_moves_nothing_and_the_cached_page_stays(client, golf):
    before = PAGES["page"](client, golf)
    version = catalogue_version()

    with pytest.raises(RuntimeError), transaction.atomic():
        car_update(car=golf, model="Passat")
        raise RuntimeError("changed our mind")

    assert catalogue_version() == version
    assert PAGES["page"](client, golf).count("Golf") == before.count("Golf")


def test_a_cached_page_costs_one_query_and_each_kind_of_reader_has_its_own(staff_client, django_assert_num_queries):
    visitor = Client()  # staff_client is pytest-django's client, logged in
    off_sale = CarFactory(model="Beetle")
    cars_withdraw(car_ids=[off_sale.pk])
    visitor.get("/")
    staff_client.get("/")

    with django_assert_num_queries(1):  # the catalogue's version
        seen_by_visitor = visitor.get("/").content.decode()
    seen_by_staff = staff_client.get("/").content.decode()

    assert "Beetle" not in seen_by_visitor and "Beetle" in seen_by_staff


def _loaded(rows: list[Any]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as fixture:
        fixture.write(json.dumps(rows))
        fixture.flush()
        call_command("loaddata", fixture.name, verbosity=0)


def _history_edited_by_a_fixture(change: PriceChange) -> None:
    (row,) = json.loads(serializers.serialize("json", [change]))
    row["fields"]["old_value"] = "99999.00"
    _loaded([row])


@pytest.mark.parametrize(
    "write",
    [
        _history_edited_by_a_fixture,
        lambda change: price_history_written_by_the_catalogue(
            lambda: PriceChange.objects.filter(pk=change.pk).update(old_value=Decimal("99999"))
        ),
        lambda change: price_history_written_by_the_catalogue(
            lambda: PriceChange.objects.filter(pk=change.pk).delete()
        ),
        lambda change: price_history_written_by_the_catalogue(change.delete),
        lambda change: price_history_written_by_the_catalogue(
            lambda: PriceChange.objects.bulk_create(
                [PriceChange(car=change.car, old_value=Decimal("99999"), new_value=change.new_value)]
            )
        ),
    ],
    ids=["a fixture", "a queryset update", "a queryset delete", "a delete", "a bulk_create"],
)
def test_a_price_history_written_apart_from_its_car_shows_on_the_next_request(client, golf, write):
    """By a fixture, or the catalogue's own code (no other path writes a history: test_price_history)."""
    address = golf.get_absolute_url()
    before = client.get(address).content.decode()
    assert "Price history" in before and "99,999" not in before

    write(golf.price_changes.get())

    after = client.get(address).content.decode()
    assert ("99,999" in after) if PriceChange.objects.exists() else ("Price history" not in after)


def price_history_written_by_the_catalogue(write) -> None:
    with price_history_written():
        write()


def test_a_version_loaded_from_a_fixture_moves_on_past_it_and_past_the_stored_one(client, golf):
    client.get(golf.get_absolute_url())
    dumped = json.loads(serializers.serialize("json", CatalogueVersion.objects.all()))
    car_update(car=golf, value=Decimal("12345"))
    assert "12,345" in client.get(golf.get_absolute_url()).content.decode()
    stored = catalogue_version()

    _loaded(dumped)  # the number before the change, under which the old page is still cached

    assert catalogue_version() == stored + 1
    assert "12,345" in client.get(golf.get_absolute_url()).content.decode()


def test_every_write_moves_the_version_once_it_commits():
    version = catalogue_version()
    car = CarFactory()
    assert catalogue_version() > version
    version = catalogue_version()
    QuerySet.update(Car.objects.filter(pk=car.pk), model="Unseen")  # Django's own update, past the catalogue's
    assert catalogue_version() == version  # the one path left: raw writes, bounded by CARSALES_PAGE_CACHE_SECONDS
    assert CatalogueVersion.objects.count() == 1


def test_a_page_cached_yesterday_is_rendered_anew_today(staff_client, golf):
    """Staff cards say how long a car has been in stock: the day is part of the page. (A page
    rendered by this request has the list's context; one from the cache has not.)"""
    yesterday = timezone.localdate() - timedelta(days=1)
    with mock.patch("carsales.catalog.pages.timezone.localdate", return_value=yesterday):
        assert "page" in staff_client.get("/").context
        assert "page" not in staff_client.get("/").context  # cached for yesterday

    assert "page" in staff_client.get("/").context  # today: rendered anew


def test_each_anonymous_visitor_gets_a_csrf_token_of_its_own_that_works(golf):
    """The car page an anonymous visitor gets is shared, but for its CSRF token: each visitor's
    own, with its cookie, so the form sent from it passes the check (and a shared one could not
    be forged). The catalogue has no form that posts: it mints no token, sets no cookie."""
    tokens = []
    for _ in range(2):
        visitor = Client(enforce_csrf_checks=True)
        assert "csrfmiddlewaretoken" not in visitor.get("/").content.decode() and not visitor.cookies
        page = visitor.get(golf.get_absolute_url()).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        tokens.append(token)
        added = visitor.post(f"/cart/add/{golf.pk}/", {"csrfmiddlewaretoken": token})
        assert added.status_code in (302, 303), added.status_code
        assert visitor.post(f"/cart/add/{golf.pk}/").status_code == 403  # no token: refused

    assert tokens[0] != tokens[1] and "csrf-token-slot" not in tokens[0]


def test_an_anonymous_visitor_back_with_a_cart_shares_the_page_but_sees_its_own_message(golf):
    """A session (a visitor's cart) does not make a page personal: the copy shared by the visitors
    with as many cars in their cart is served. A message waiting for the visitor does: that page
    is rendered, the message shown once."""
    earlier = Client()
    earlier.post(f"/cart/add/{golf.pk}/")
    earlier.get("/")  # the message
    earlier.get("/")  # cached, for one car in the cart
    visitor = Client()
    added = visitor.post(f"/cart/add/{golf.pk}/", follow=False)
    assert added.status_code in (302, 303) and visitor.session.session_key

    with_message = visitor.get("/")
    assert with_message.context is not None and "is in your cart." in with_message.content.decode()
    back = visitor.get("/")
    assert back.context is None and "is in your cart." not in back.content.decode()


@pytest.mark.parametrize("address", ["/", "/api/cars/"])
def test_a_query_with_made_up_parameters_is_served_but_never_stored(client, address):
    """Links with junk parameters (the page's own links repeat them) would otherwise each leave
    a copy in the cache; the pages cache is kept apart from the rate limits' counters."""
    from django.core.cache import caches

    CarFactory()
    pages = caches["pages"]
    assert client.get(address, {"fuel": "diesel"}).status_code == 200
    stored = len(pages._cache)  # type: ignore[attr-defined]
    assert stored >= 1
    for n in range(5):
        response = client.get(address, {"fuel": "diesel", f"junk{n}": "x"})
        assert response.status_code == 200
    assert len(pages._cache) == stored  # type: ignore[attr-defined]
    assert client.get(address, {"fuel": "diesel"}).status_code == 200
    assert len(pages._cache) == stored  # type: ignore[attr-defined]


def test_a_query_sent_in_raw_bytes_leaves_no_copy_for_the_same_query_sent_encoded(client):
    """The next page's link is rebuilt from the query as sent: raw UTF-8 reads as other letters
    there, and that copy would have served everyone asking the same query properly encoded."""
    for _ in range(4):
        CarFactory()
    raw = "٣".encode().decode("latin-1")  # how WSGI hands on the bytes of an unencoded ٣ (3)
    client.get("/api/cars/", QUERY_STRING=f"page_size={raw}")

    encoded = client.get("/api/cars/?page_size=%D9%A3").json()

    assert len(encoded["results"]) == 3 and encoded["next"].endswith("?page=2&page_size=%D9%A3")


def test_the_browsable_api_keeps_its_paging_controls_on_every_visit(client):
    CarFactory.create_batch(25)
    for _visit in range(2):
        response = client.get("/api/cars/", HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert 'class="pagination' in response.content.decode()


def test_htmx_gets_the_results_and_a_history_restore_the_whole_page(client):
    CarFactory()
    results = client.get("/", {"fuel": "diesel"}, HTTP_HX_REQUEST="true")
    restored = client.get("/", {"fuel": "diesel"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" not in results.content.decode()
    assert "<html" in restored.content.decode()
    assert all("HX-Request" in response["Vary"] for response in (results, restored))


def test_the_api_list_is_cached_as_bytes_per_indent_and_nothing_else_of_the_accept_header(client):
    from django.core.cache import caches
    from rest_framework.renderers import JSONRenderer

    CarFactory()
    pages = caches["pages"]
    plain = client.get("/api/cars/")
    stored = len(pages._cache)  # type: ignore[attr-defined]
    with mock.patch.object(JSONRenderer, "render", side_effect=AssertionError("rendered again")):
        again = client.get("/api/cars/")
        for junk in range(5):  # made-up media type parameters: the same bytes, no new copy
            assert client.get("/api/cars/", HTTP_ACCEPT=f"application/json; junk={junk}").content == plain.content
    assert again.content == plain.content and again["Content-Type"] == "application/json"
    assert "Accept" in again["Vary"] and len(pages._cache) == stored  # type: ignore[attr-defined]

    indented = client.get("/api/cars/", HTTP_ACCEPT="application/json; indent=4")
    assert indented.content != plain.content and b'\n    "count"' in indented.content
    assert json.loads(indented.content) == json.loads(plain.content)


def test_a_signed_in_buyer_gets_the_shared_body_in_their_own_header_and_staff_their_own_page(
    golf, staff_client, django_assert_num_queries
):
    from carsales.conftest import UserFactory

    address = golf.get_absolute_url()
    owner, other = UserFactory(username="owner"), UserFactory(username="other")
    order_for(golf, user=owner)
    clients = {}
    for user in (owner, other):
        clients[user.username] = Client(enforce_csrf_checks=True)
        clients[user.username].force_login(user)
    clients["other"].get(address)  # the body and the buyers' layout cached by one buyer's visit

    with mock.patch("carsales.catalog.views._car_layout", side_effect=AssertionError("laid out again")):
        with django_assert_num_queries(3):  # the session, the user with their cart and the version, their order (notes)
            mine = clients["owner"].get(address).content.decode()
        theirs = clients["other"].get(address).content.decode()

    assert "Hi, owner" in mine and "Reserved for you" in mine and "Hi, other" not in mine
    assert "Hi, other" in theirs and "Reserved for you" not in theirs
    assert "Withdraw from sale" not in mine and "Withdraw from sale" not in theirs
    assert USERNAME_SLOT not in mine and CSRF_TOKEN_SLOT not in mine
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', mine)
    assert token is not None  # the log-out form's, their own: it logs them out
    assert clients["owner"].post("/accounts/logout/", {"csrfmiddlewaretoken": token[1]}).status_code == 302
    assert "Log in" in clients["owner"].get(address).content.decode()
    assert "Signal history" in staff_client.get(address).content.decode()  # staff: rendered for them


def test_signed_in_buyers_share_the_catalogue_page_each_with_their_own_name_and_a_message_is_shown_once(golf):
    from carsales.conftest import UserFactory

    first, second = Client(), Client()
    first.force_login(UserFactory(username="first"))
    second.force_login(UserFactory(username="second"))
    assert "Hi, first" in first.get("/").content.decode()  # the buyers' page cached

    with mock.patch("carsales.catalog.views.render_to_string", side_effect=AssertionError("rendered again")):
        page = second.get("/").content.decode()
    assert "Hi, second" in page and "Hi, first" not in page and golf.model in page
    assert USERNAME_SLOT not in page and CSRF_TOKEN_SLOT not in page

    named = Client()
    named.force_login(UserFactory(username="jdoe", first_name="Jane"))
    for address in ("/", golf.get_absolute_url()):  # greeted by first name, as on every other page
        greeted = named.get(address).content.decode()
        assert "Hi, Jane" in greeted and 'title="jdoe"' in greeted and FIRST_NAME_SLOT not in greeted

    second.post(f"/cart/add/{golf.pk}/")
    with_message = second.get("/")
    assert with_message.context is not None and "is in your cart." in with_message.content.decode()
    assert "is in your cart." not in second.get("/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_version_read_is_the_health_check_of_a_kept_connection_and_survives_a_database_restart(monkeypatch):
    """A cached page costs one round trip, not Django's SELECT 1 before it; a connection the
    database dropped meanwhile (a restart) is found by that read and replaced: the page answers."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no connection to lose: its health check is a no-op")
    import psycopg

    car = CarFactory(model="Kept")
    client = Client()
    assert client.get("/").status_code == 200  # cached, its connection kept for the next request
    kept = connections["default"]  # the wrapper itself: the proxy `connection` cannot be patched
    monkeypatch.setattr(kept, "health_check_enabled", True)
    checks: list[bool] = []
    is_usable = kept.is_usable
    monkeypatch.setattr(kept, "is_usable", lambda: checks.append(True) or is_usable())

    # A request on a kept connection owes a health check (Django's test client skips that reset).
    kept.health_check_done = False
    assert "Kept" in client.get("/").content.decode()
    assert checks == []  # the version read stood for the check

    dropped = kept.connection.info.backend_pid
    with psycopg.connect(**kept.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dropped])
    kept.health_check_done = False
    response = client.get("/")

    assert response.status_code == 200 and car.model in response.content.decode()
    assert checks == [True]  # the failed read asked whether the connection was the cause
    assert kept.connection.info.backend_pid != dropped


def test_the_version_is_read_from_its_row_for_a_request_with_no_user_yet_or_not_a_get(rf, golf):
    """A signed-in GET's version comes with its user (read_with_each_request_user); a request the
    authentication layer has not reached, or that may move the version (a POST), reads the row."""
    from carsales.catalog.pages import VERSION_READ_WITH_USER, catalogue_version

    stored = CatalogueVersion.objects.get().number
    early = rf.get("/")
    posted = rf.post("/")
    posted.user = type("Read", (), {VERSION_READ_WITH_USER: stored - 1})()
    got = rf.get("/")
    got.user = posted.user

    assert catalogue_version(early) == catalogue_version(posted) == stored
    assert catalogue_version(got) == stored - 1
