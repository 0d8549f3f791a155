"""Reads built once (core.prepared): the rows the ORM's own query gives, for any value, on every
read they serve (sessions, users, carts, car pages), and a query that cannot be replayed refused."""

import gc
import threading
import weakref
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Count, Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carsales.catalog.models import Car, PriceChange
from carsales.conftest import CarFactory, UserFactory
from carsales.core.prepared import PreparedQuery
from carsales.core.sessions import SessionStore

pytestmark = pytest.mark.django_db

CAR_WITH_BRAND = PreparedQuery(
    lambda pk: Car.objects.with_brand().filter(pk=pk).annotate(changes=Count("price_changes")), pk=int
)


def test_instances_come_back_as_the_orms_own_query_gives_them_for_each_value():
    cheap, dear = CarFactory(value=Decimal("1000.50")), CarFactory(value=Decimal("99999.99"))
    for car in (cheap, dear):
        (prepared,) = CAR_WITH_BRAND.rows(pk=car.pk)
        (orm,) = Car.objects.with_brand().filter(pk=car.pk).annotate(changes=Count("price_changes"))
        fields = [field.attname for field in Car._meta.concrete_fields]
        assert [getattr(prepared, name) for name in fields] == [getattr(orm, name) for name in fields]
        assert type(prepared.value) is Decimal and prepared.created_at == orm.created_at  # converters applied
        assert prepared.changes == orm.changes == 1  # an annotation, in place
        with CaptureQueriesContext(connection) as read:
            assert prepared.brand.name == orm.brand.name  # select_related: no query more
        assert not read.captured_queries
        assert not prepared._state.adding and prepared._state.db == "default"
    assert CAR_WITH_BRAND.rows(pk=dear.pk + 1000) == []
    assert CAR_WITH_BRAND.first(pk=cheap.pk) == cheap


def test_values_strings_and_datetimes_vary_and_each_read_is_one_query():
    car = CarFactory()
    for new_value in (Decimal(2), Decimal(3)):
        car.value = new_value
        car.save()
    changes = PreparedQuery(
        lambda car_id, model, after: PriceChange.objects.filter(
            car_id=car_id, car__model=model, changed_at__gte=after
        ).values_list("new_value", flat=True),
        car_id=int,
        model=str,
        after=datetime,
    )
    long_ago = timezone.now() - timedelta(days=1)
    with CaptureQueriesContext(connection) as read:
        found = changes.rows(car_id=car.pk, model=car.model, after=long_ago)
    assert len(read.captured_queries) == 1
    assert found == list(PriceChange.objects.filter(car=car).values_list("new_value", flat=True)) and len(found) == 3
    assert changes.rows(car_id=car.pk, model=car.model + "x", after=long_ago) == []
    assert changes.rows(car_id=car.pk, model=car.model, after=timezone.now() + timedelta(days=1)) == []


@pytest.mark.parametrize(
    "names",
    [
        ("model", "brand__name", "value"),  # fields only, in the order selected
        ("changes", "model", "brand__slug"),  # an annotation first: selected after the fields
        ("brand__name",),  # one name: still a tuple
    ],
)
def test_values_list_tuples_come_back_as_the_orms_own_in_the_order_named(names):
    CarFactory(value=Decimal("1000.50")), CarFactory(value=None)
    with_changes = Car.objects.annotate(changes=Count("price_changes")).order_by("pk")
    prepared = PreparedQuery(lambda pk: with_changes.filter(pk__gte=pk).values_list(*names), pk=int)
    assert prepared.rows(pk=0) == list(with_changes.values_list(*names)) and len(prepared.rows(pk=0)) == 2
    # An annotation not named comes last, as the ORM gives it.
    unnamed = PreparedQuery(lambda pk: with_changes.filter(pk__gte=pk).values_list("model"), pk=int)
    assert unnamed.rows(pk=0) == list(with_changes.values_list("model"))


@pytest.mark.parametrize(
    ("build", "kinds", "refused"),
    [
        (lambda pk: Car.objects.filter(Q(pk=pk) | Q(brand_id=pk)), {"pk": int}, "2 times"),  # one value, two places
        (lambda model: Car.objects.filter(model__icontains=model), {"model": str}, "0 times"),  # changed on its way
        (lambda pk: Car.objects.filter(pk=pk).prefetch_related("price_changes"), {"pk": int}, "prefetch_related"),
        (lambda pk: Car.objects.filter(pk=pk).values("model"), {"pk": int}, "values_list"),
        (lambda pk: Car.objects.filter(pk=pk).values_list("model", named=True), {"pk": int}, "values_list"),
        (lambda value: Car.objects.filter(value=value), {"value": Decimal}, "only int, str and datetime"),
    ],
)
def test_a_query_that_cannot_be_replayed_is_refused_when_first_built(build, kinds, refused):
    CarFactory()
    with pytest.raises((TypeError, ValueError), match=refused):
        PreparedQuery(build, **kinds).rows(**dict.fromkeys(kinds, 1))


def test_it_takes_the_values_it_names_and_no_others():
    with pytest.raises(TypeError, match="takes"):
        CAR_WITH_BRAND.rows(id=1)


@pytest.mark.parametrize(
    ("kinds", "value"),
    [
        ({"token": str}, None),  # the ORM would ask IS NULL
        ({"pk": int}, None),
        ({"pk": int}, True),
        ({"after": datetime}, datetime(2026, 1, 1)),  # naive: the ORM reads it in TIME_ZONE
        ({"after": datetime}, date(2026, 1, 1)),
    ],
)
def test_a_value_the_orm_would_have_read_otherwise_is_refused(kinds, value):
    ((name, kind),) = kinds.items()
    column = {int: "pk", str: "model", datetime: "created_at__gte"}[kind]
    query = PreparedQuery(lambda **values: Car.objects.filter(**{column: values[name]}), **kinds)
    with pytest.raises(TypeError, match="must be"):
        query.rows(**{name: value})


def test_a_small_integer_column_takes_a_value_as_any_other_on_every_database():
    car = CarFactory()
    by_year = PreparedQuery(lambda year: Car.objects.filter(factory_year=year).values_list("pk", flat=True), year=int)
    assert by_year.rows(year=car.factory_year) == [car.pk] and by_year.rows(year=car.factory_year - 1) == []


@pytest.mark.parametrize(
    "build",
    [lambda pk: Car.objects.filter(pk=pk).select_for_update(), lambda pk: Car.objects.using("default").filter(pk=pk)],
)
def test_a_query_locking_rows_or_naming_its_database_is_refused(build):
    with pytest.raises(TypeError, match="not replayed"):
        PreparedQuery(build, pk=int).rows(pk=1)


@pytest.mark.django_db(transaction=True)
def test_a_query_built_in_one_thread_reads_in_another_with_that_threads_connection():
    car = CarFactory(value=Decimal("123.45"))
    query = PreparedQuery(lambda pk: Car.objects.with_brand().filter(pk=pk), pk=int)
    assert query.first(pk=car.pk) == car  # built here
    read: list[Car] = []

    def elsewhere() -> None:
        try:
            read.append(query.first(pk=car.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    (found,) = read
    assert (found.brand.name, found.value, found.created_at) == (car.brand.name, Decimal("123.45"), car.created_at)


@pytest.mark.django_db(transaction=True)  # the car committed: another thread's connection reads it
def test_a_query_first_built_in_a_thread_keeps_no_hold_on_that_threads_connection():
    """Runserver and a threaded worker give each request a thread and its own connection: a query
    built there once kept that connection open after its thread ended (a page shape of the car
    list each: PostgreSQL ran out of connections)."""
    car = CarFactory()
    query = PreparedQuery(lambda pk: Car.objects.filter(pk=pk), pk=int)
    held: list[Any] = []

    def elsewhere() -> None:
        from django.db import connections

        assert query.first(pk=car.pk) == car  # built here first
        held.append(weakref.ref(connections["default"]))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    gc.collect()

    assert held[0]() is None  # the thread's connection is gone with its thread
    assert query.first(pk=car.pk) == car  # and built again for this one


def test_a_session_is_read_while_it_lives_and_not_once_expired():
    live = SessionStore()
    live["seen"] = "yes"
    live.create()
    assert SessionStore(session_key=live.session_key)["seen"] == "yes"
    Session.objects.filter(session_key=live.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(session_key=live.session_key)
    assert "seen" not in expired and expired.session_key is None  # a new one is made on save, as Django's
    assert "seen" not in SessionStore(session_key="no-such-session-key")


def test_a_signed_in_request_reads_its_user_and_not_one_deactivated_or_gone(client: Client):
    user = UserFactory()
    client.force_login(user)

    def signed_in() -> object:
        return auth.get_user(SimpleNamespace(session=SessionStore(client.session.session_key)))

    assert signed_in() == user
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert not signed_in().is_authenticated
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    assert signed_in() == user
    user.delete()
    assert not signed_in().is_authenticated
