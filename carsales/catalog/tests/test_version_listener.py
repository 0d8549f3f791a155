"""The catalogue's version pushed by PostgreSQL (catalog.version_listener): a cached page costs no
query while the process listens, a change this process commits is seen by its next request, one
committed elsewhere once it is notified, and a lost connection falls back to reading the row."""

import os
import signal
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction
from django.test import Client

from carsales.catalog import version_listener
from carsales.catalog.models import Car, CatalogueVersion
from carsales.catalog.pages import catalogue_version
from carsales.catalog.services import car_update
from carsales.conftest import CarFactory
from carsales.events.tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)  # notified at commit: the writes must commit
postgresql_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="LISTEN/NOTIFY is PostgreSQL's")


@pytest.fixture
def listener(settings, monkeypatch) -> Iterator[version_listener.VersionListener]:
    """This process listening, as a web process does, until the test ends."""
    settings.CARSALES_CATALOGUE_VERSION_PUSHED = True
    monkeypatch.setattr(version_listener, "HEARTBEAT_SECONDS", 0.5)  # stopped within it
    monkeypatch.setattr(version_listener, "RETRY_SECONDS", 0.2)
    monkeypatch.setattr(version_listener, "_listeners", {})
    CatalogueVersion.bump()  # the row exists, as after any write
    assert version_listener.pushed_version(connection.alias) is None  # started: it reads first
    started = version_listener._listeners[connection.alias]
    try:
        wait_until(lambda: started.known() is not None, timeout=10)
        yield started
    finally:
        started.stop()


def stored_version() -> int:
    return CatalogueVersion.objects.get().number


def elsewhere(sql: str) -> None:
    """Run `sql` on a connection of its own, committed: what another web process's write does."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432,
        password=settings["PASSWORD"], autocommit=True,
    ) as other:  # fmt: skip
        other.execute(sql)


@postgresql_only
def test_a_replayed_page_costs_no_query_while_listening(listener, django_assert_num_queries):
    car = CarFactory()
    anyone = Client()
    for address in ("/", car.get_absolute_url(), "/api/cars/"):
        anyone.get(address)  # kept
    wait_until(lambda: listener.known() == stored_version(), timeout=10)
    with django_assert_num_queries(0):
        assert anyone.get("/").status_code == 200
        assert anyone.get(car.get_absolute_url()).status_code == 200
        assert anyone.get("/api/cars/").status_code == 200


@postgresql_only
def test_a_change_this_process_commits_is_seen_by_its_next_request(listener):
    car = CarFactory(value=Decimal("10000"))
    anyone = Client()
    for _round in range(20):  # no wait for the notification: the commit made the process read the row
        anyone.get(car.get_absolute_url())
        car_update(car=car, value=car.value + 1)
        assert f"{car.value:,.0f}" in anyone.get(car.get_absolute_url()).content.decode()
    assert catalogue_version() == stored_version()


@postgresql_only
def test_a_change_committed_elsewhere_is_seen_once_notified(listener):
    car = CarFactory(value=Decimal("10000"))
    anyone = Client()
    anyone.get(car.get_absolute_url())
    before = stored_version()
    elsewhere(
        f"UPDATE catalog_car SET value = 12345 WHERE id = {car.pk}; "
        "UPDATE catalog_catalogueversion SET number = number + 1"
    )
    wait_until(lambda: listener.known() == before + 1, timeout=10)
    assert "12,345" in anyone.get(car.get_absolute_url()).content.decode()


@postgresql_only
def test_a_lost_connection_reads_the_row_until_it_listens_again(listener):
    car = CarFactory(value=Decimal("10000"))
    anyone = Client()
    elsewhere(f"SELECT pg_terminate_backend({listener_backends()[0]})")
    wait_until(lambda: listener.known() is None, timeout=10)
    # Not listening: what is committed meanwhile is read from the row, and nobody is told.
    Car.objects.filter(pk=car.pk).update(value=Decimal("11111"))
    elsewhere("UPDATE catalog_catalogueversion SET number = number + 1")
    assert "11,111" in anyone.get(car.get_absolute_url()).content.decode()
    wait_until(lambda: listener.known() == stored_version(), timeout=10)  # listening again, the row read
    car_update(car=car, value=Decimal("22222"))
    assert "22,222" in anyone.get(car.get_absolute_url()).content.decode()


@postgresql_only
def test_a_server_gone_silent_makes_the_version_unknown_and_the_row_is_read(listener):
    car = CarFactory(value=Decimal("10000"))
    anyone = Client()
    anyone.get(car.get_absolute_url())
    (backend,) = listener_backends()
    try:
        os.kill(backend, signal.SIGSTOP)  # the connection stays open; nothing answers on it
    except PermissionError:
        pytest.skip("this user cannot pause the database server's processes")
    try:
        wait_until(lambda: listener.known() is None, timeout=10)
        elsewhere(
            f"UPDATE catalog_car SET value = 13579 WHERE id = {car.pk}; "
            "UPDATE catalog_catalogueversion SET number = number + 1"
        )
        assert "13,579" in anyone.get(car.get_absolute_url()).content.decode()
        assert listener.known() is None  # what a request read is not kept while the thread is silent
    finally:
        os.kill(backend, signal.SIGCONT)
    wait_until(lambda: listener.known() == stored_version(), timeout=10)


@postgresql_only
def test_a_read_begun_before_a_commit_here_is_not_kept(listener):
    """Another request thread of this process read the row just before this one's commit."""
    before = stored_version()

    def read_as_a_commit_lands() -> int:
        CatalogueVersion.bump()  # committed (autocommit), its forget() run
        return before  # what the read had found

    version_listener.read_version(connection.alias, read_as_a_commit_lands)
    assert listener.known() in (None, before + 1)
    wait_until(lambda: listener.known() == before + 1, timeout=10)


@postgresql_only
def test_a_read_inside_a_transaction_is_its_own_and_never_kept(listener):
    before = stored_version()
    with transaction.atomic():
        CatalogueVersion.bump()
        assert catalogue_version() == before + 1  # this transaction's own number
        transaction.set_rollback(True)
    assert listener.known() == before == catalogue_version()


def listener_backends() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [version_listener.APPLICATION_NAME],
        )
        return [pid for (pid,) in cursor.fetchall()]


@pytest.mark.parametrize("pushed", [False, True], ids=["switched off", "switched on"])
def test_switched_off_or_on_sqlite_the_row_is_read(pushed, settings, monkeypatch):
    if pushed and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL pushes it: the tests above")
    monkeypatch.setattr(version_listener, "_listeners", {})
    settings.CARSALES_CATALOGUE_VERSION_PUSHED = pushed
    CatalogueVersion.bump()
    assert version_listener.pushed_version(connection.alias) is None
    assert not version_listener._listeners and catalogue_version() == stored_version()
