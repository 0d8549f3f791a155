"""The activity page: the audit log as a manager reads it."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from carsales.audit.views import LINES_PER_PAGE
from carsales.catalog.services import (
    car_delete,
    car_photo_delete,
    car_photo_make_cover,
    car_photos_add,
    car_update,
    cars_withdraw,
)
from carsales.conftest import BrandFactory, CarFactory, UserFactory, image_upload, order_for
from carsales.core.actor import acting_as
from carsales.orders.services import order_cancel, order_mark_paid
from carsales.sales.services import sale_void

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def shown(client, query: str = "") -> str:
    response = client.get(f"/staff/activity/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_each_kind_of_event_is_said_in_words_with_who_did_it_and_a_link(manager_client, staff):
    buyer = UserFactory(username="ana")
    with acting_as(staff):
        car = CarFactory(value=Decimal("10000"), model="Golf")
        car_update(car=car, value=Decimal("9500"))
        gone = CarFactory(model="Polo")
        gone_code = gone.stock_code
        car_delete(car=gone)
        withdrawn = CarFactory(model="Up")
        cars_withdraw(car_ids=[withdrawn.pk])
    cancelled = order_for(CarFactory(), user=buyer)
    order_cancel(order=cancelled, actor=buyer)
    paid = order_mark_paid(order=order_for(car, user=buyer), actor=staff, method="transfer", reference="TR 9")
    sale_void(sale=paid.sale, actor=staff, reason="returned")

    page = shown(manager_client)

    assert f'<a href="/cars/{car.pk}/">Changed the price of {car} from $10,000 to $9,500</a>' in page
    assert f"Deleted {gone} (stock code {gone_code})" in page and f'href="/cars/{gone.pk}/"' not in page
    assert f'<a href="/cars/{withdrawn.pk}/">Took {withdrawn} off sale</a>' in page
    assert f'<a href="/orders/{cancelled.pk}/">Cancelled order #{cancelled.pk}</a>' in page
    assert f"Recorded the payment of order #{paid.pk} ($9,500, by bank transfer, reference TR 9)" in page
    assert f"Voided the sale of order #{paid.pk} ($9,500): the buyer returned the car" in page  # one car
    assert ">ana<" in page and f">{staff.username}<" in page


def test_photos_added_and_deleted_by_any_path_are_said_not_a_cover_made_nor_a_car_deleted(manager_client, staff):
    with acting_as(staff):
        car = CarFactory(model="Golf", photo=None)
        first, second, third = car_photos_add(car=car, files=[image_upload(name=f"{n}.jpg") for n in range(3)])
        car_photo_delete(photo=second)
        car_photo_make_cover(photo=first)  # moved to the cover: no photo deleted
        third.delete()  # a shell's, or the admin's inline
        gone = CarFactory(model="Polo", photo=None)
        car_photos_add(car=gone, files=[image_upload()])
        car_delete(car=gone)  # its photos go with it: the car's deletion is said

    page = shown(manager_client, "?kind=photos")

    assert page.count(f'<a href="/cars/{car.pk}/">Added a photo to {car}</a>') == 3
    assert page.count(f'<a href="/cars/{car.pk}/">Deleted a photo of {car}</a>') == 2
    assert page.count(f"Added a photo to {gone}") == 1 and f"Deleted a photo of {gone}" not in page


def test_photos_added_and_deleted_through_the_admins_inline_are_said_with_who_did_it(manager_client, staff):
    """The admin's inline saves and deletes gallery photos itself (a formset), past the services:
    the model signals log them as the gallery page's do, by the staff member signed in."""
    from django.db.models.fields.files import FieldFile

    from carsales.catalog.models import CarPhoto

    car = CarFactory(model="Golf", photo=None)
    admin = Client()
    admin.force_login(staff)
    address = f"/admin/catalog/car/{car.pk}/change/"
    form = admin.get(address).context["adminform"].form
    car_fields = {
        name: value for name, value in form.initial.items() if value is not None and not isinstance(value, FieldFile)
    }
    inline = {"photos-MIN_NUM_FORMS": 0, "photos-MAX_NUM_FORMS": 1000}

    added = admin.post(address, car_fields | inline | {
        "photos-TOTAL_FORMS": 2, "photos-INITIAL_FORMS": 0,
        "photos-0-image": image_upload(), "photos-0-position": 0, "photos-0-car": car.pk,
        "photos-1-image": image_upload(), "photos-1-position": 1, "photos-1-car": car.pk,
    })  # fmt: skip
    first, second = CarPhoto.objects.filter(car=car).order_by("position")
    deleted = admin.post(address, car_fields | inline | {
        "photos-TOTAL_FORMS": 2, "photos-INITIAL_FORMS": 2,
        "photos-0-id": first.pk, "photos-0-position": 0, "photos-0-car": car.pk,
        "photos-1-id": second.pk, "photos-1-position": 1, "photos-1-car": car.pk, "photos-1-DELETE": "on",
    })  # fmt: skip

    assert added.status_code == deleted.status_code == 302
    assert list(CarPhoto.objects.filter(car=car)) == [first]
    page = re.sub(r"\s+", " ", shown(manager_client, "?kind=photos"))
    by_staff = f'<td data-label="Who">{staff.username}</td> <td data-label="What"><a href="/cars/{car.pk}/">'
    assert page.count(f"{by_staff}Added a photo to {car}</a>") == 2
    assert page.count(f"{by_staff}Deleted a photo of {car}</a>") == 1


def test_a_photo_is_logged_once_per_save_or_delete_and_a_stale_copys_deletion_by_the_row_it_deleted(staff):
    from django.db.models.signals import post_save

    from carsales.audit.models import AuditEntry
    from carsales.catalog.models import CarPhoto

    car = CarFactory(photo=image_upload(name="cover.jpg"))
    (photo,) = car_photos_add(car=car, files=[image_upload(name="front.jpg")])
    post_save.send(sender=CarPhoto, instance=photo, created=True, raw=False)  # the same save's signal again
    assert AuditEntry.objects.filter(action="car.photo_added").count() == 1

    stale = CarPhoto.objects.get(pk=photo.pk)
    car_photo_make_cover(photo=photo)  # front.jpg is the cover now; this row holds cover.jpg
    stale.delete()  # its copy still names front.jpg: the row it deleted held cover.jpg

    assert AuditEntry.objects.filter(action="car.photo_deleted").count() == 1


def test_the_page_filters_by_kind_who_and_day_and_says_what_is_wrong(manager_client, staff):
    buyer = UserFactory(username="ana")
    order = order_for(CarFactory(), user=buyer)
    order_mark_paid(order=order, actor=staff, method="cash")

    payments = shown(manager_client, "?kind=payments")
    by_ana = shown(manager_client, "?actor=AN")  # part of a name
    wrong = shown(manager_client, "?day=yesterday&kind=nonsense")

    assert f"Recorded the payment of order #{order.pk}" in payments and "Placed order" not in payments
    assert f"Placed order #{order.pk}" in by_ana and "Recorded the payment" not in by_ana
    assert (
        "Day: Enter a valid date." in wrong and "What: Select a valid choice." in wrong and "Nothing matches." in wrong
    )


def statements_of(client, query: str = "") -> tuple[int, str]:
    # Counted by a wrapper: Django empties connection.queries as each request starts.
    run: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *args: run.append(sql) or execute(sql, *args)):
        page = shown(client, query)
    return len(run), page


def test_the_page_costs_the_same_queries_however_many_lines_and_pages(manager_client, staff):
    with acting_as(staff):
        for _ in range(3):
            CarFactory()
    few, _page = statements_of(manager_client)
    with acting_as(staff):
        for _ in range(LINES_PER_PAGE + 5):
            CarFactory()
    many, first = statements_of(manager_client)
    last = shown(manager_client, "?page=2")

    assert many == few
    assert first.count("Added ") == LINES_PER_PAGE and "Page 1 of 2" in first and "Page 2 of 2" in last


def test_the_activity_is_a_managers_page(client):
    from django.contrib.auth.models import Group

    salesperson = UserFactory(is_staff=True)
    salesperson.groups.add(Group.objects.get(name="Salesperson"))
    manager = UserFactory(is_staff=True)
    manager.groups.add(Group.objects.get(name="Manager"))
    buyer = UserFactory()

    for user, status in ((buyer, 403), (salesperson, 403), (manager, 200)):
        client.force_login(user)
        assert client.get("/staff/activity/").status_code == status
    client.logout()
    assert client.get("/staff/activity/").status_code == 302


def test_an_entry_about_what_is_gone_is_said_not_linked_and_an_odd_one_breaks_nothing(manager_client, staff):
    from carsales.audit.models import AuditEntry

    with acting_as(staff):
        gone = CarFactory(model="Polo")
        gone_pk = gone.pk
        car_delete(car=gone)
    edited = {"action": "car.edited", "object_type": "catalog.Car"}
    AuditEntry.objects.create(**edited, object_id="x", detail={"fields": [1, 2]})
    AuditEntry.objects.create(**edited, object_id="7", detail=["not", "a", "dict"])

    page = shown(manager_client)

    assert f'href="/cars/{gone_pk}/"' not in page and "Added " in page
    assert "Edited car #x: 1, 2" in page and "Edited car #7<" in page


def test_an_edit_names_what_it_changed_in_staffs_words_and_a_save_changing_nothing_is_no_edit(manager_client, staff):
    from carsales.audit.models import AuditEntry
    from carsales.catalog.models import CarPhoto
    from carsales.catalog.services import car_photo_make_cover
    from carsales.conftest import image_upload

    with acting_as(staff):
        car = CarFactory(model="Fiesta")
        photo = CarPhoto.objects.create(car=car, image=image_upload(), position=1)
        car_update(car=car, mileage=12_000, model_year=car.model_year)
        car_update(car=car, model="Fiesta")  # as it was
        named = str(car)
        car_update(car=car, brand=BrandFactory(name="Ford"))  # a relation: its field's name, not its column's
        car_photo_make_cover(photo=photo)

    edits = list(AuditEntry.objects.filter(action="car.edited").order_by("id").values_list("detail", flat=True))
    page = shown(manager_client, "?kind=cars")

    assert [edit["fields"] for edit in edits] == [["mileage"], ["brand"], ["photo"]]
    assert f"Edited {named}: mileage" in page and f"Edited {car}: brand" in page
