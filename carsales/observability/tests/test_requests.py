import html

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carsales.conftest import CarFactory
from carsales.observability.selectors import RouteStats, request_stats
from carsales.observability.services import request_record, request_stats_flush, request_stats_reset, route_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_stats(settings):
    settings.CARSALES_REQUEST_STATS_FLUSH = 3600  # flushed by the tests, not by the clock
    request_stats_reset()
    cache.clear()
    yield
    request_stats_reset()


def _by_route():
    return {stats.route: stats for stats in request_stats()[0]}


def test_requests_are_counted_per_route_once_flushed(client):
    car = CarFactory()
    for _ in range(3):
        client.get("/")
    client.get(f"/cars/{car.pk}/")
    client.get("/no/such/page/")
    client.get("/static/css/site.css")  # served by WhiteNoise before any route is resolved
    assert _by_route() == {}  # in this process's memory until the flush

    request_stats_flush()

    stats = _by_route()
    assert stats[""].count == 3
    assert stats["cars/<id:pk>/"].count == 1
    assert stats["(no route)"].count == 1 and stats["static/<path>"].count == 1
    assert stats["static/<path>"].shown == "/static/<path>"
    assert stats[""].p95_ms >= stats[""].p50_ms > 0 and stats[""].mean_ms > 0


def test_a_request_writes_nothing_to_the_database_for_the_counts(client):
    client.get("/")  # warm: sessions, caches
    with CaptureQueriesContext(connection) as queries:
        client.get("/")

    writes = [q["sql"] for q in queries if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []


def test_counts_from_several_processes_add_up_in_the_cache():
    request_record(route="cars/<id:pk>/", milliseconds=8)
    request_stats_flush()
    # A second process: its own memory, the same cache.
    request_record(route="cars/<id:pk>/", milliseconds=400)
    request_stats_flush()

    [stats] = [s for s in request_stats()[0] if s.route == "cars/<id:pk>/"]
    assert stats.count == 2 and stats.mean_ms == pytest.approx(204)
    assert cache.get(route_key("cars/<id:pk>/", "total_us")) == 408_000


def test_percentiles_are_the_bucket_each_falls_in():
    for _ in range(19):
        request_record(route="cars/<id:pk>/", milliseconds=9)
    request_record(route="cars/<id:pk>/", milliseconds=450)
    request_stats_flush()

    [stats] = [s for s in request_stats()[0] if s.route == "cars/<id:pk>/"]
    assert (stats.p50_ms, stats.p95_ms) == (10, 10)

    request_record(route="cars/<id:pk>/", milliseconds=450)
    request_record(route="cars/<id:pk>/", milliseconds=70_000)
    request_stats_flush()
    [stats] = [s for s in request_stats()[0] if s.route == "cars/<id:pk>/"]
    assert (stats.p50_ms, stats.p95_ms) == (10, 500)


def test_staff_see_the_requests_page_and_buyers_do_not(staff_client, client, user):
    staff_client.get("/")
    request_stats_flush()

    page = staff_client.get("/staff/requests/")
    client.force_login(user)

    assert page.status_code == 200 and "<code>/</code>" in page.content.decode()
    assert client.get("/staff/requests/").status_code == 403


def test_staff_read_each_route_as_an_address_a_regular_expressions_and_the_unmatched_too(staff_client):
    request_record(route="cars/<id:pk>/", milliseconds=3)
    request_record(route="(no route)", milliseconds=3)
    request_stats_flush()

    page = html.unescape(staff_client.get("/staff/requests/").content.decode())

    assert "<code>/cars/<id:pk>/</code>" in page
    assert "no page: an address no route matches (a 404)" in page and "/(no route)" not in page
    # A route written as a regular expression (re_path: the media files `make run` serves).
    assert RouteStats("^media/(?P<path>.*)$", 1, 1.0, 1.0, 1.0).shown == "/media/<path>"
