import pytest
from django.contrib import admin

from carsales.conftest import CarFactory

pytestmark = pytest.mark.django_db


def test_every_registered_model_has_a_working_admin_list_and_add_page(staff_client):
    CarFactory()
    for model in admin.site._registry:
        meta = model._meta
        changelist = staff_client.get(f"/admin/{meta.app_label}/{meta.model_name}/", {"q": "x"})
        assert changelist.status_code == 200, meta.label


def test_every_project_model_is_registered_in_the_admin():
    from django.apps import apps

    project_models = [m for m in apps.get_models() if m.__module__.startswith("carsales.")]

    assert project_models and all(m in admin.site._registry for m in project_models)


@pytest.mark.parametrize(
    "address",
    [
        "/admin/audit/auditentry/?created_at__year=0",
        "/admin/catalog/car/?updated_at__year=0",
        "/admin/orders/order/?paid_at__year=10000",
        "/admin/auth/user/?date_joined__year__gte=0",
        "/admin/analytics/orderevent/?created_at__year=0",
        "/admin/catalog/car/?updated_at__year=9999",  # its end in Chicago is in 10000 in UTC
        "/admin/catalog/car/?updated_at__year=1",  # its start in Kolkata is in year 0 in UTC
        "/admin/catalog/car/?updated_at__iso_year=9999",  # the ISO year ends in 10000
        # The date hierarchy's own bounds, and moments a zone pushes past the calendar in UTC.
        "/admin/catalog/car/?created_at__year=9999",
        "/admin/catalog/car/?created_at__year=9999&created_at__month=12",
        "/admin/catalog/car/?created_at__year=9999999999999999999999",
        "/admin/catalog/car/?created_at__year=1",
        "/admin/catalog/car/?created_at__gte=9999-12-31+23:59:59",
        "/admin/catalog/car/?created_at__lte=0001-01-01+00:00",
        "/admin/axes/accessattempt/?attempt_time__year=9999",
        "/admin/analytics/dailysales/?day__year=9999",
    ],
)
@pytest.mark.parametrize("zone", ["America/Chicago", "Asia/Kolkata"])
def test_a_date_no_zone_can_hold_is_a_bad_filter_in_any_admin_list_not_a_500(staff_client, settings, address, zone):
    settings.TIME_ZONE = zone
    answer = staff_client.get(address)
    # Django's "bad filter" answer; or the list, where the zone and the database hold the year (year 1
    # in Chicago, or on PostgreSQL, whose dates go back past year 1).
    bad_filter = answer.status_code == 302 and answer["Location"].endswith("?e=1")
    assert bad_filter or (answer.status_code == 200 and address.endswith("created_at__year=1"))


def _first_text_field(model):
    texts = (f.name for f in model._meta.concrete_fields if f.get_internal_type() in ("CharField", "TextField"))
    return next(texts, None)


# Each is built into a query without complaint and refused only when the database runs it: a range
# of one word (seven values for two placeholders), a number past SQLite's integers, a lookup SQLite
# has no SQL for, a pattern no regular expression reads.
BAD_AT_RUN_TIME = ["pk__range=garbage", "pk__gt=" + "9" * 30, "pk__contained_by=a"]


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda model: model._meta.label)
def test_a_filter_the_database_refuses_is_a_bad_filter_in_every_admin_list_not_a_500(staff_client, model):
    CarFactory()
    meta = model._meta
    text = _first_text_field(model)
    lookups = BAD_AT_RUN_TIME + ([f"{text}__regex=(", f"{text}__iregex=["] if text else [])
    for lookup in lookups:
        answer = staff_client.get(f"/admin/{meta.app_label}/{meta.model_name}/?{lookup}")
        # The bad filter answer; the list, where the filter ran on no row that would refuse it; or a
        # filter refused before (a password's, 400).
        assert answer.status_code in (200, 400) or answer["Location"].endswith("?e=1"), (lookup, answer.status_code)


@pytest.mark.parametrize(
    "lookup",
    ["status__range=garbage", "model__regex=(", "model__iregex=[", "id__contained_by=a"],
)
def test_a_car_list_filter_the_database_refuses_is_a_bad_filter(staff_client, lookup):
    CarFactory()
    answer = staff_client.get(f"/admin/catalog/car/?{lookup}")
    assert answer.status_code == 302 and answer["Location"].endswith("?e=1")


def test_an_admin_list_answers_after_a_refused_filter_in_the_same_transaction(staff_client):
    CarFactory()
    staff_client.get("/admin/catalog/car/?model__regex=(")
    assert staff_client.get("/admin/catalog/car/").status_code == 200  # PostgreSQL's transaction not left aborted


def test_an_order_list_filter_past_the_integers_is_a_bad_filter_or_no_rows(staff_client):
    answer = staff_client.get("/admin/orders/order/?cars__gt=" + "9" * 30)
    assert answer.status_code == 200 or answer["Location"].endswith("?e=1")


def test_view_on_site_with_an_id_no_key_can_hold_is_a_404_for_every_model(staff_client):
    from django.contrib.contenttypes.models import ContentType

    CarFactory()
    answers = {
        (kind.app_label, kind.model, object_id): staff_client.get(f"/admin/r/{kind.pk}/{object_id}/").status_code
        for kind in ContentType.objects.all()
        for object_id in ["x", "%00", "9" * 30, "-1", "1.5", "%20"]
    }
    assert set(answers.values()) == {404}
    assert staff_client.get("/admin/r/" + "9" * 30 + "/1/").status_code == 404


def test_view_on_site_still_leads_to_a_cars_page(staff_client):
    from django.contrib.contenttypes.models import ContentType

    car = CarFactory()
    answer = staff_client.get(f"/admin/r/{ContentType.objects.get_for_model(car).pk}/{car.pk}/")
    assert answer.status_code == 302 and answer["Location"].endswith(car.get_absolute_url())


def test_view_on_site_is_for_staff_only(client):
    from django.contrib.contenttypes.models import ContentType

    car = CarFactory()
    answer = client.get(f"/admin/r/{ContentType.objects.get_for_model(car).pk}/{car.pk}/")
    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]


def test_a_list_failing_without_its_filters_too_is_a_server_error_not_a_bad_filter(staff_client, monkeypatch):
    """A fault of the list itself (here, a column its query names and no table has) fails its
    unfiltered count as well: it stays a server error, never shown as the visitor's bad filter."""
    from django.db import DatabaseError
    from django.db.models.expressions import RawSQL

    from carsales.catalog.admin import CarAdmin

    real = CarAdmin.get_queryset
    monkeypatch.setattr(
        CarAdmin,
        "get_queryset",
        lambda self, request: real(self, request).annotate(broken=RawSQL("no_such_column + 1", ())).filter(broken=1),
    )
    CarFactory()

    with pytest.raises(DatabaseError):
        staff_client.get("/admin/catalog/car/?status=available")
