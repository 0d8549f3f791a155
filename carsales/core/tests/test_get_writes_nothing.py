"""A read writes nothing: no GET, HEAD or OPTIONS of any address the site routes, by any reader,
makes a row (a cart, a profile, a count, a photo) or changes one; a HEAD answers as its GET does.
A crawler, a prefetch, a reload or a probe costs reads only. And no page shows template syntax
(a comment or a tag left open)."""

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from carsales.catalog.models import CarPhoto
from carsales.catalog.services import car_photos_add
from carsales.conftest import CarFactory, UserFactory, image_upload, order_for, token_client
from carsales.orders.services import cart_for_buyer, cart_item_add, order_mark_paid

pytestmark = pytest.mark.django_db

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# Besides every route: a query, and the admin's pages (its own routes are one per model).
ALSO = ["/?q=civic&ordering=-price", "/admin/", "/admin/orders/order/", "/admin/catalog/car/{car}/change/"]
# What each route's parameters stand for, by the route's first part and the parameter's name.
OBJECT_OF = {"cars": "car", "brands": "brand", "orders": "order", "sales": "sale", "inventory": "car"}


def _routes(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    for pattern in (resolver or get_resolver()).url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, text)
        elif isinstance(pattern, URLPattern) and not text.startswith("admin/"):
            yield text


def _address(route: str, world: dict[str, int]) -> str:
    """The route with each parameter an object of the world (or a value it takes, where none is)."""
    parts = [part for part in route.split("/") if part and part != "api" and not part.startswith("<")]
    kind = OBJECT_OF.get(parts[0] if parts else "", "car")

    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if name == "pk":
            return str(world[kind])
        if converter == "uuid":
            return str(uuid.uuid4())
        return {"photo_id": str(world["photo"]), "car_id": str(world["car"]), "change": "cover"}.get(name, "x")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


@pytest.fixture
def world(settings, tmp_path) -> dict[str, int]:
    settings.MEDIA_ROOT = tmp_path
    car = CarFactory()
    (photo,) = car_photos_add(car=car, files=[image_upload()])
    paid = order_mark_paid(order=order_for(CarFactory()), actor=AnonymousUser())
    return {"car": car.pk, "photo": photo.pk, "brand": car.brand_id, "order": paid.pk, "sale": paid.sale.pk}


def _reader(kind: str, world: dict[str, int]) -> tuple[Client, Client | None, dict[str, int]]:
    """The reader's browser, their API client (a token's), and the world as they read it: a buyer
    reads their own order and a cart holding a car."""
    if kind == "visitor":
        return Client(), Client(), world
    user = UserFactory(is_staff=kind != "buyer", is_superuser=kind == "staff")
    if kind == "salesperson":
        user.groups.add(Group.objects.get(name="Salesperson"))
    if kind == "buyer":
        world = {**world, "order": order_for(CarFactory(), user=user).pk}
        cart_item_add(cart=cart_for_buyer(buyer=user.buyer), car=CarFactory())
    browser = Client()
    browser.force_login(user)
    browser.get("/")  # the log-in's own writes (session, last login) are behind us
    return browser, token_client(user), world


# Template syntax a page shows when a tag or a comment is left open ({# #} ends on its own line).
LEFT_OPEN = re.compile(r"\{#|#\}|\{%|%\}")


def _answer(client: Client, method: str, url: str, after_commit: Any) -> tuple[int, list[str]]:
    client.raise_request_exception = False  # a 500 is counted with the others, not raised
    # What a read would leave to do once its transaction commits is done too, and watched.
    with CaptureQueriesContext(connection) as captured, after_commit(execute=True):
        response = client.generic(method, url)
    writes = [query["sql"] for query in captured.captured_queries if WRITE.match(query["sql"])]
    page = response.content.decode(errors="replace") if "text/html" in response.get("Content-Type", "") else ""
    if method == "GET" and (left := LEFT_OPEN.search(page)):
        writes.append(f"a page showing template syntax: {page[left.start() - 60 : left.end() + 60]!r}")
    return response.status_code, writes


@pytest.mark.parametrize("reader", ["visitor", "buyer", "salesperson", "staff"])
def test_no_read_of_any_address_writes_a_row_and_a_head_answers_as_its_get(
    world, reader, django_capture_on_commit_callbacks, mailoutbox, settings
):
    browser, api, seen = _reader(reader, world)
    files = sorted(path for path in Path(settings.MEDIA_ROOT).rglob("*"))
    addresses = [_address(route, seen) for route in _routes()] + [url.format(**seen) for url in ALSO]
    assert len(addresses) > 80  # every route: the site's, the API's, the accounts'
    found, failed, heads, answered = {}, {}, {}, {}
    for url in addresses:
        client = api if url.startswith("/api/") and api is not None else browser
        statuses = {}
        for method in ("GET", "HEAD", "OPTIONS"):
            statuses[method], writes = _answer(client, method, url, django_capture_on_commit_callbacks)
            if writes:
                found[f"{method} {url}"] = writes
            if statuses[method] >= 500:
                failed[f"{method} {url}"] = statuses[method]
        if statuses["HEAD"] != statuses["GET"]:
            heads[url] = (statuses["GET"], statuses["HEAD"])
        answered[url] = statuses["GET"]
    assert (found, failed, heads) == ({}, {}, {})
    assert mailoutbox == [] and sorted(Path(settings.MEDIA_ROOT).rglob("*")) == files  # no email, no file
    if reader == "buyer":  # their own pages read, not another buyer's 404s
        own = f"/orders/{seen['order']}/"
        assert (answered[own], answered["/cart/"], answered[f"/api{own}"], answered["/api/cart/"]) == (200,) * 4


def test_a_head_carrying_photos_uploads_none_and_answers_as_the_gallery_does(world):
    """DRF sends a HEAD to the action's GET and its permission lets any reader through: the upload
    the action made of whatever was not a GET was anyone's."""
    photos = f"/api/cars/{world['car']}/photos/"
    for client in (Client(), token_client(UserFactory())):
        sent = client.generic("HEAD", photos, data=b"--x--", content_type="multipart/form-data; boundary=x")
        assert sent.status_code == client.get(photos).status_code == 200
    assert list(CarPhoto.objects.values_list("pk", flat=True)) == [world["photo"]]
