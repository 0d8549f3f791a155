"""An edit writes what it changed, onto the row as stored: a copy of the car read before another
request changed it (a form left open, a second tab, an API client) never writes back what that
request changed, on the service, the edit page, the admin or the API."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from carsales.catalog.models import Car, CarPhoto
from carsales.catalog.services import car_photo_make_cover, car_photos_add, car_update
from carsales.conftest import CarFactory, image_upload, token_client

pytestmark = pytest.mark.django_db


def test_two_edits_of_different_fields_from_copies_read_before_either_both_stand():
    car = CarFactory(model="Golf", value=Decimal("10000"))
    first, second = Car.objects.get(pk=car.pk), Car.objects.get(pk=car.pk)

    car_update(car=first, model="Golf GTI")
    car_update(car=second, value=Decimal("9500"))

    stored = Car.objects.get(pk=car.pk)
    assert (stored.model, stored.value) == ("Golf GTI", Decimal("9500"))


def test_an_edit_from_a_copy_read_before_a_new_cover_keeps_the_cover_and_every_photo():
    car = CarFactory(photo=image_upload(name="cover.jpg"))
    (side,) = car_photos_add(car=car, files=[image_upload(name="side.jpg")])
    read_before = Car.objects.get(pk=car.pk)
    car_photo_make_cover(photo=side)
    cover = Car.objects.get(pk=car.pk).photo.name

    car_update(car=read_before, model="Renamed")

    stored = Car.objects.get(pk=car.pk)
    assert (stored.model, stored.photo.name) == ("Renamed", cover)
    assert CarPhoto.objects.get(car=car).image.name != cover  # the old cover, in the gallery


def _opened(client, car) -> dict:
    """What the edit page posts back when saved untouched: the values it showed, and their signature."""
    form = client.get(f"/cars/{car.pk}/edit/").context["form"]
    return {name: form[name].value() for name in form.fields if name != "photo" and form[name].value() is not None}


def test_the_edit_page_writes_what_its_user_changed_and_keeps_what_others_changed_meanwhile(staff, staff_client):
    car = CarFactory(model="Golf", value=Decimal("10000"), mileage=1000)
    opened = _opened(staff_client, car)
    # Meanwhile, another request: the car gets a cover, and an API client renames it.
    car_update(car=Car.objects.get(pk=car.pk), photo=image_upload(name="cover.jpg"))
    assert token_client(staff).patch(f"/api/cars/{car.pk}/", {"model": "Golf GTI"}, format="json").status_code == 200

    assert staff_client.post(f"/cars/{car.pk}/edit/", opened | {"mileage": 2000}).status_code == 302

    stored = Car.objects.get(pk=car.pk)
    assert (stored.mileage, stored.model) == (2000, "Golf GTI") and stored.photo.name.endswith(".jpg")


def test_a_field_changed_meanwhile_and_on_the_page_is_asked_about_then_saved_as_confirmed(staff, staff_client):
    car = CarFactory(model="Golf", value=Decimal("10000"), colour="Black", mileage=1000)
    opened = _opened(staff_client, car)
    car_update(car=Car.objects.get(pk=car.pk), value=Decimal("9000"), colour="Purple")  # meanwhile

    asked = staff_client.post(f"/cars/{car.pk}/edit/", opened | {"value": "9500", "mileage": 5000})

    assert (
        asked.status_code == 200
        and "Someone changed this car since you opened this page: price is now $9,000." in asked.content.decode()
    )
    assert Car.objects.get(pk=car.pk).value == Decimal("9000")
    again = asked.context["form"]
    assert (
        again.errors["value"] == ["Changed meanwhile to $9,000; yours is kept here."] and "mileage" not in again.errors
    )
    confirmed = {
        name: again[name].value() for name in again.fields if name != "photo" and again[name].value() is not None
    }
    assert staff_client.post(f"/cars/{car.pk}/edit/", confirmed).status_code == 302
    stored = Car.objects.get(pk=car.pk)
    # Their colour stands: saving again sends what is stored for what this page did not change.
    assert (stored.value, stored.mileage, stored.colour) == (Decimal("9500"), 5000, "Purple")


def test_a_clash_is_summed_up_as_someone_elses_change_in_the_pages_own_number_format(staff_client):
    """Marked on the field, a clash is no mistake to correct; a number reads as the car's page writes it."""
    car = CarFactory(model="Golf", mileage=1000)
    opened = _opened(staff_client, car)
    car_update(car=Car.objects.get(pk=car.pk), mileage=60000)  # meanwhile, in another tab

    asked = staff_client.post(f"/cars/{car.pk}/edit/", opened | {"mileage": 5000}).content.decode()

    assert "Changed by someone else meanwhile:" in asked and "Please correct" not in asked
    assert "mileage in km is now 60,000." in asked and "Changed meanwhile to 60,000; yours is kept here." in asked


def test_a_year_changed_meanwhile_is_written_as_a_year(staff_client):
    car = CarFactory(model="Golf", factory_year=2020, model_year=2021)
    opened = _opened(staff_client, car)
    car_update(car=Car.objects.get(pk=car.pk), model_year=2022)  # meanwhile

    asked = staff_client.post(f"/cars/{car.pk}/edit/", opened | {"model_year": 2020}).content.decode()

    assert "Changed meanwhile to 2022; yours is kept here." in asked


def test_a_page_whose_shown_values_are_forged_or_missing_compares_with_what_is_stored(staff_client):
    car = CarFactory(model="Golf", mileage=1000)
    opened = _opened(staff_client, car)

    for shown in ("forged", None):
        posted = opened | {"mileage": 1500 if shown else 1700}
        posted = posted | {"shown": shown} if shown else {k: v for k, v in posted.items() if k != "shown"}
        assert staff_client.post(f"/cars/{car.pk}/edit/", posted).status_code == 302
    assert Car.objects.get(pk=car.pk).mileage == 1700


def test_an_admin_edit_writes_only_what_its_form_changed(admin_client):
    car = CarFactory(model="Golf", value=Decimal("10000"))
    form = admin_client.get(f"/admin/catalog/car/{car.pk}/change/").context["adminform"].form
    shown = {name: form[name].value() for name in form.fields if name != "photo" and form[name].value() is not None}
    # What the browser posts: each field, and beside it the value it showed (initial-<name>).
    posted = shown | {f"initial-{name}": value for name, value in shown.items()}
    posted |= {f"photos-{count}": 0 for count in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS")}
    car_update(car=Car.objects.get(pk=car.pk), value=Decimal("9000"))  # meanwhile, another request

    response = admin_client.post(f"/admin/catalog/car/{car.pk}/change/", posted | {"model": "Polo"})

    assert response.status_code == 302
    stored = Car.objects.get(pk=car.pk)
    assert (stored.model, stored.value) == ("Polo", Decimal("9000"))


@pytest.mark.parametrize("forged", ["sNaN", "NaN", "-Infinity", "ten"])
def test_an_admin_edit_whose_shown_price_is_forged_writes_the_price_posted_never_a_500(admin_client, forged):
    """The value a field showed is posted back as typed (a hidden initial-<name>); one that is no
    number (a signalling NaN raised when compared) counts as changed: the price posted is written."""
    car = CarFactory(model="Golf", value=Decimal("10000"))
    form = admin_client.get(f"/admin/catalog/car/{car.pk}/change/").context["adminform"].form
    shown = {name: form[name].value() for name in form.fields if name != "photo" and form[name].value() is not None}
    posted = shown | {f"initial-{name}": value for name, value in shown.items()}
    posted |= {f"photos-{count}": 0 for count in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS")}

    response = admin_client.post(
        f"/admin/catalog/car/{car.pk}/change/", posted | {"initial-value": forged, "value": "12000"}
    )

    assert response.status_code == 302
    assert Car.objects.get(pk=car.pk).value == Decimal("12000")


@pytest.mark.parametrize("typed", ["sNaN", "Infinity"])
def test_an_admin_edit_whose_price_is_no_number_is_a_form_error(admin_client, typed):
    car = CarFactory(value=Decimal("10000"))
    form = admin_client.get(f"/admin/catalog/car/{car.pk}/change/").context["adminform"].form
    shown = {name: form[name].value() for name in form.fields if name != "photo" and form[name].value() is not None}
    posted = shown | {f"initial-{name}": value for name, value in shown.items()}
    posted |= {f"photos-{count}": 0 for count in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS")}

    response = admin_client.post(f"/admin/catalog/car/{car.pk}/change/", posted | {"value": typed})

    assert response.status_code == 200 and "Enter a number." in response.content.decode()
    assert Car.objects.get(pk=car.pk).value == Decimal("10000")


def test_an_edit_from_a_copy_read_before_other_fields_changed_is_checked_against_the_row_it_leaves():
    car = CarFactory(factory_year=2015, model_year=2016)
    read_before = Car.objects.get(pk=car.pk)
    car_update(car=Car.objects.get(pk=car.pk), factory_year=2018, model_year=2018)  # meanwhile

    with pytest.raises(ValidationError) as refused:  # a model year before the factory year: a form error, no 500
        car_update(car=read_before, model_year=2016)

    assert "model_year" in refused.value.message_dict or "__all__" in refused.value.message_dict
    stored = Car.objects.get(pk=car.pk)
    assert (stored.factory_year, stored.model_year) == (2018, 2018)
    car_update(car=read_before, model_year=2019)
    assert Car.objects.get(pk=car.pk).model_year == 2019
