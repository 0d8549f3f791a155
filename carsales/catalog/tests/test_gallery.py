"""A car's photo gallery: several uploads at once, order, cover, WebP renditions, files cleaned up."""

from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models.fields.files import FieldFile
from django.test import Client
from django.test.utils import CaptureQueriesContext

from carsales.catalog.models import Car, CarPhoto
from carsales.catalog.services import car_delete, car_photo_make_cover, car_photos_add
from carsales.conftest import CarFactory, UserFactory, image_upload, token_client

pytestmark = pytest.mark.django_db


def gallery(car: Car) -> list[CarPhoto]:
    return list(CarPhoto.objects.filter(car=car))


def exists(*names: str) -> list[bool]:
    return [default_storage.exists(name) for name in names]


def test_staff_upload_several_photos_at_once_on_the_page_and_each_gets_webp_renditions(
    staff_client: Client, run_tasks: Any
):
    car = CarFactory()

    response = staff_client.post(
        f"/cars/{car.pk}/photos/", {"photos": [image_upload(name=f"p{n}.jpg") for n in range(3)]}
    )
    run_tasks()

    photos = gallery(car)
    assert response.status_code == 302 and [photo.position for photo in photos] == [0, 1, 2]
    for photo in photos:
        assert photo.large.name.endswith("-large.webp") and photo.small.name.endswith("-small.webp")
        with default_storage.open(photo.large.name) as file:
            assert file.read(12)[8:12] == b"WEBP"
    page = Client().get(f"/cars/{car.pk}/").content.decode()
    assert page.count('type="image/webp"') == 3 and "photo 3 of 3" in page


def test_a_bad_file_among_several_is_named_and_none_is_added(staff_client: Client):
    car = CarFactory()
    bad = SimpleUploadedFile("notes.jpg", b"not a photo", content_type="image/jpeg")

    response = staff_client.post(f"/cars/{car.pk}/photos/", {"photos": [image_upload(), bad]})

    page = response.content.decode()
    assert response.status_code == 400 and "notes.jpg: Upload a photo in JPEG, PNG or WebP" in page
    assert (
        "No photo was added: the 2 photos you chose are added all together or not at all." in page
    )  # not the good one either
    assert gallery(car) == []


def test_the_gallery_has_a_limit(settings: Any):
    settings.CARSALES_GALLERY_MAX_PHOTOS = 2
    car = CarFactory()
    car_photos_add(car=car, files=[image_upload(), image_upload()])

    with pytest.raises(Exception, match="A gallery holds 2 photos; 0 more fit"):
        car_photos_add(car=car, files=[image_upload()])


def test_the_gallery_limit_and_a_photos_car_hold_on_every_path(settings: Any, staff: Any):
    """The shell and the admin (its photo list, its car page's inline) as the site: at most
    CARSALES_GALLERY_MAX_PHOTOS photos, and a photo stays with its car."""
    from django.core.exceptions import ValidationError

    settings.CARSALES_GALLERY_MAX_PHOTOS = 2
    car, other = CarFactory(), CarFactory()
    first, _ = car_photos_add(car=car, files=[image_upload(), image_upload()])
    admin = Client()
    admin.force_login(staff)

    with pytest.raises(ValidationError, match="A gallery holds 2 photos; 0 more fit"), transaction.atomic():
        CarPhoto.objects.create(car=car, image=image_upload())
    first.car = other
    with pytest.raises(ValidationError, match="A photo stays in its car's gallery"), transaction.atomic():
        first.save()

    added = admin.post("/admin/catalog/carphoto/add/", {"car": car.pk, "image": image_upload(), "position": 5})
    assert added.status_code == 200 and "A gallery holds 2 photos; 0 more fit" in added.content.decode()
    moved = admin.post(f"/admin/catalog/carphoto/{first.pk}/change/", {"car": other.pk, "position": 0})
    assert moved.status_code == 302  # saved, its car shown, not offered

    assert [photo.car_id for photo in CarPhoto.objects.order_by("id")] == [car.pk, car.pk]


def test_the_admin_inline_adds_no_photo_past_the_gallery_limit(settings: Any, staff: Any):
    settings.CARSALES_GALLERY_MAX_PHOTOS = 2
    car = CarFactory()
    car_photos_add(car=car, files=[image_upload()])
    admin = Client()
    admin.force_login(staff)
    form = admin.get(f"/admin/catalog/car/{car.pk}/change/").context["adminform"].form
    data = {
        name: value for name, value in form.initial.items() if value is not None and not isinstance(value, FieldFile)
    }
    photo = CarPhoto.objects.get(car=car)
    data |= {
        "photos-TOTAL_FORMS": 3, "photos-INITIAL_FORMS": 1, "photos-MIN_NUM_FORMS": 0, "photos-MAX_NUM_FORMS": 1000,
        "photos-0-id": photo.pk, "photos-0-car": car.pk, "photos-0-position": 0,
        "photos-1-image": image_upload(), "photos-1-position": 1, "photos-1-car": car.pk,
        "photos-2-image": image_upload(), "photos-2-position": 2, "photos-2-car": car.pk,
    }  # fmt: skip

    response = admin.post(f"/admin/catalog/car/{car.pk}/change/", data)

    assert response.status_code == 200 and "A gallery holds 2 photos; 1 more fit" in response.content.decode()
    assert CarPhoto.objects.filter(car=car).count() == 1


def test_the_api_uploads_reorders_makes_a_cover_and_deletes_and_only_staff_may(admin_user: Any, run_tasks: Any):
    car = CarFactory(photo=image_upload(name="cover.jpg"))
    api = token_client(admin_user)

    added = api.post(f"/api/cars/{car.pk}/photos/", {"photos": [image_upload(), image_upload()]}, format="multipart")
    first, second = (photo["id"] for photo in added.json())
    reordered = api.put(f"/api/cars/{car.pk}/photos/order/", {"photo_ids": [second, first]}, format="json")
    wrong = api.put(f"/api/cars/{car.pk}/photos/order/", {"photo_ids": [second]}, format="json")
    refused = token_client(UserFactory()).post(f"/api/cars/{car.pk}/photos/", {"photos": [image_upload()]})
    public = Client().get(f"/api/cars/{car.pk}/photos/")

    assert added.status_code == 201 and [p["id"] for p in reordered.json()] == [second, first]
    assert wrong.status_code == 400 and refused.status_code == 403 and len(public.json()) == 2
    old_cover = Car.objects.get(pk=car.pk).photo.name
    covered = api.post(f"/api/cars/{car.pk}/photos/{first}/cover/")
    run_tasks()
    car.refresh_from_db()
    assert covered.status_code == 200 and CarPhoto.objects.get(pk=first).image.name == old_cover
    assert car.thumbnail.name and default_storage.exists(old_cover)
    assert api.delete(f"/api/cars/{car.pk}/photos/{second}/").status_code == 204
    assert api.delete(f"/api/cars/{car.pk}/photos/{second}/").status_code == 404


def test_making_a_cover_and_deleting_keep_every_file_in_use_and_delete_the_rest(run_tasks: Any):
    car = CarFactory(photo=image_upload(name="cover.jpg"))
    (photo,) = car_photos_add(car=car, files=[image_upload(name="side.jpg")])
    run_tasks()
    photo.refresh_from_db()
    car.refresh_from_db()
    cover, cover_thumb, side, side_large, side_small = (
        car.photo.name, car.thumbnail.name, photo.image.name, photo.large.name, photo.small.name
    )  # fmt: skip

    car_photo_make_cover(photo=photo)
    run_tasks()

    assert exists(cover, side) == [True, True]  # both still shown, roles swapped
    assert exists(cover_thumb, side_large, side_small) == [False, False, False]  # made for the other role
    photo.refresh_from_db()
    car.refresh_from_db()
    used = [car.photo.name, car.thumbnail.name, photo.image.name, photo.large.name, photo.small.name]
    assert all(exists(*used))
    car_delete(car=car)
    run_tasks()
    assert not any(exists(*used))


def test_visitors_browse_the_gallery_with_buttons_and_staff_get_its_management_page(
    staff_client: Client, run_tasks: Any
):
    car = CarFactory(photo=image_upload())
    car_photos_add(car=car, files=[image_upload()])

    page = Client().get(f"/cars/{car.pk}/").content.decode()
    management = staff_client.get(f"/cars/{car.pk}/photos/").content.decode()

    assert 'aria-label="Next photo"' in page and 'data-goto="1"' in page and "js/gallery.js" in page
    assert 'aria-roledescription="carousel"' in page and 'data-gallery tabindex="0"' in page
    assert "Make cover" in management and Client().get(f"/cars/{car.pk}/photos/").status_code == 302
    # One photo is no carousel: nothing to focus or page through.
    alone = Client().get(f"/cars/{CarFactory(photo=image_upload()).pk}/").content.decode()
    assert "data-gallery>" in alone and "carousel" not in alone and 'aria-label="Next photo"' not in alone


def test_a_gallery_upload_may_carry_several_photos_where_other_requests_may_not(staff_client: Client, settings: Any):
    settings.CARSALES_MAX_REQUEST_BYTES = 8_000
    settings.CARSALES_LARGE_REQUEST_PATHS = {r"^/(api/)?cars/[0-9]+/photos/$": 2_000_000}
    car = CarFactory()
    photos = [image_upload(width=900, height=600, name=f"{n}.png") for n in range(4)]

    gallery_upload = staff_client.post(f"/cars/{car.pk}/photos/", {"photos": photos})
    other = staff_client.post(
        f"/cars/{car.pk}/edit/", {"photo": image_upload(), "more": [image_upload(), image_upload()]}
    )

    assert sum(photo.size for photo in photos) > 8_000
    assert gallery_upload.status_code == 302 and len(gallery(car)) == 4
    assert other.status_code == 413


def test_the_catalogue_card_offers_its_thumbnail_in_webp_and_jpeg(run_tasks: Any):
    car = CarFactory(photo=image_upload(1200, 800))
    run_tasks()
    car.refresh_from_db()

    card = Client().get("/").content.decode()

    assert f'<source srcset="{car.thumbnail_webp.url}" type="image/webp">' in card
    assert f'<img src="{car.thumbnail.url}"' in card
    with default_storage.open(car.thumbnail_webp.name) as file:
        assert file.read(12)[8:12] == b"WEBP"


def test_a_card_shows_the_gallerys_first_photo_when_the_car_has_no_cover(run_tasks: Any):
    with_cover = CarFactory(photo=image_upload(name="cover.jpg"))
    coverless = CarFactory(photo=None)
    first, _second = car_photos_add(
        car=coverless, files=[image_upload(name="front.jpg"), image_upload(name="side.jpg")]
    )
    bare = CarFactory(photo=None)
    run_tasks()
    first.refresh_from_db()

    page = Client().get("/").content.decode()
    card_of = {car.pk: _card(page, car) for car in (with_cover, coverless, bare)}

    assert f'<img src="{first.image.url}"' in card_of[coverless.pk]
    assert f'<source srcset="{first.large.url}" type="image/webp">' in card_of[coverless.pk]
    assert "No photo yet" in card_of[bare.pk] and "No photo yet" not in card_of[with_cover.pk]


def test_the_photos_page_says_which_photo_buyers_see_as_the_cover(staff_client: Client, run_tasks: Any):
    coverless = CarFactory(photo=None)
    car_photos_add(car=coverless, files=[image_upload(name="front.jpg"), image_upload(name="side.jpg")])
    covered = CarFactory(photo=image_upload(name="cover.jpg"))
    car_photos_add(car=covered, files=[image_upload(name="front.jpg")])
    run_tasks()

    lead = staff_client.get(f"/cars/{coverless.pk}/photos/").content.decode()
    cover = staff_client.get(f"/cars/{covered.pk}/photos/").content.decode()

    assert lead.count("Shown as the cover") == 1 and lead.index("Shown as the cover") < lead.index("photo 2")
    assert "no cover of its own" in lead and "To replace it" not in lead
    assert "Shown as the cover" not in cover and '<p class="badge">Cover</p>' in cover and "To replace it" in cover


def test_the_gallery_leads_cost_one_query_whatever_the_page_holds():
    CarFactory(photo=None)
    before = _queries_of_a_catalogue_page()
    for car in CarFactory.create_batch(5, photo=None):
        car_photos_add(car=car, files=[image_upload()])

    assert _queries_of_a_catalogue_page() == before


def _queries_of_a_catalogue_page() -> int:
    with CaptureQueriesContext(connection) as ran:
        assert Client().get("/?per_page=48").status_code == 200
    return len(ran)


def _card(page: str, car: Any) -> str:
    start = page.index(f'<a href="{car.get_absolute_url()}" class="card-photo"')
    return page[start : page.index("</article>", start)]


def test_gallery_photos_cannot_be_bulk_created_past_their_receivers():
    car = CarFactory()

    with pytest.raises(TypeError, match=r"use catalog\.services\.car_photos_add"):
        CarPhoto.objects.bulk_create([CarPhoto(car=car, image="cars/photos/x.jpg")])


def _moved(photo: CarPhoto, **values: Any) -> CarPhoto:
    for name, value in values.items():
        setattr(photo, name, value)
    return photo


@pytest.mark.parametrize(
    "move",
    [
        lambda photo, other: CarPhoto.objects.filter(pk=photo.pk).update(car=other),
        lambda photo, other: CarPhoto.objects.filter(pk=photo.pk).update(car_id=other.pk),
        lambda photo, other: CarPhoto.objects.filter(pk=photo.pk).update(image="cars/photos/else.jpg"),
        lambda photo, other: CarPhoto.objects.bulk_update([_moved(photo, car=other)], ["car"]),
        lambda photo, other: CarPhoto.objects.bulk_update([_moved(photo, image="cars/photos/else.jpg")], ["image"]),
    ],
    ids=["update car", "update car_id", "update image", "bulk_update car", "bulk_update image"],
)
def test_a_gallery_photo_is_neither_moved_to_another_car_nor_given_another_image_in_bulk(move):
    car, other = CarFactory(), CarFactory()
    (photo,) = car_photos_add(car=car, files=[image_upload()])
    image = photo.image.name

    with pytest.raises(TypeError, match="a photo stays with its car"), transaction.atomic():
        move(photo, other)

    stored = CarPhoto.objects.get(pk=photo.pk)
    assert (stored.car_id, stored.image.name) == (car.pk, image)
    assert CarPhoto.objects.filter(pk=photo.pk).update(position=3) == 1  # what a reorder writes stays open


def test_photos_with_names_as_long_as_a_column_holds_get_their_renditions(run_tasks: Any):
    long_name = "a-very-long-photo-name-from-a-phone-" + "x" * 50 + ".jpg"
    car = CarFactory(photo=image_upload(1200, 800, name=long_name))
    (photo,) = car_photos_add(car=car, files=[image_upload(1200, 800, name=long_name)])

    run_tasks()

    car.refresh_from_db()
    photo.refresh_from_db()
    made = [car.thumbnail.name, car.thumbnail_webp.name, photo.large.name, photo.small.name]
    assert all(made) and all(len(name) <= 100 for name in made), made
    assert all(default_storage.exists(name) for name in made)


def test_deleting_a_photo_on_the_site_asks_first(staff_client: Client):
    car = CarFactory()
    (photo,) = car_photos_add(car=car, files=[image_upload()])
    management = staff_client.get(f"/cars/{car.pk}/photos/").content.decode()
    assert f'href="/cars/{car.pk}/photos/{photo.pk}/delete/"' in management  # a link to the question

    asked = staff_client.get(f"/cars/{car.pk}/photos/{photo.pk}/delete/")
    assert asked.status_code == 200 and f"Delete this photo of {car}?" in asked.content.decode()
    assert gallery(car) == [photo]
    assert staff_client.get(f"/cars/{car.pk}/photos/{photo.pk}/cover/").status_code == 405  # only a POST changes

    staff_client.post(f"/cars/{car.pk}/photos/{photo.pk}/delete/")
    assert gallery(car) == []
    for change in ("delete", "cover", "later"):  # sent again from a page left open
        again = staff_client.post(f"/cars/{car.pk}/photos/{photo.pk}/{change}/", follow=True)
        assert again.redirect_chain == [(f"/cars/{car.pk}/photos/", 302)]
        assert "That photo is no longer in this car&#x27;s gallery: nothing changed." in again.content.decode()
    assert staff_client.get(f"/cars/{car.pk}/photos/{photo.pk}/delete/").status_code == 404
    assert staff_client.post(f"/cars/{car.pk + 1000}/photos/{photo.pk}/delete/").status_code == 404


def test_moving_a_photo_says_so_and_returns_to_it(staff_client: Client):
    car = CarFactory(photo=None)
    first, second = car_photos_add(car=car, files=[image_upload(), image_upload()])

    moved = staff_client.post(f"/cars/{car.pk}/photos/{second.pk}/earlier/")
    page = staff_client.get(moved["Location"])

    assert moved["Location"] == f"/cars/{car.pk}/photos/#photo-{second.pk}"
    assert gallery(car) == [second, first]
    assert "The photo moved earlier." in page.content.decode() and f'id="photo-{second.pk}"' in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_photo_saved_from_a_shell_outside_any_transaction_is_counted_under_the_cars_lock(settings: Any):
    """A shell's save runs in autocommit: the lock its receiver takes needs the save's own block."""
    from django.core.exceptions import ValidationError

    settings.CARSALES_GALLERY_MAX_PHOTOS = 1
    car = CarFactory()

    CarPhoto.objects.create(car=car, image=image_upload())
    with pytest.raises(ValidationError, match="A gallery holds 1 photos; 0 more fit"):
        CarPhoto.objects.create(car=car, image=image_upload())

    assert CarPhoto.objects.filter(car=car).count() == 1


def test_adding_a_car_with_more_photos_than_a_gallery_holds_says_so_in_the_admin(settings: Any, staff: Any):
    from carsales.conftest import BrandFactory

    settings.CARSALES_GALLERY_MAX_PHOTOS = 2
    admin = Client()
    admin.force_login(staff)
    data = {
        "brand": BrandFactory().pk, "model": "Fit", "factory_year": 2020, "model_year": 2020, "plate": "FIT0001",
        "value": "9000", "photos-TOTAL_FORMS": 3, "photos-INITIAL_FORMS": 0, "photos-MIN_NUM_FORMS": 0,
        "photos-MAX_NUM_FORMS": 1000,
    } | {f"photos-{n}-image": image_upload(name=f"p{n}.jpg") for n in range(3)} | {
        f"photos-{n}-position": n for n in range(3)
    }  # fmt: skip

    response = admin.post("/admin/catalog/car/add/", data)

    assert response.status_code == 200 and "A gallery holds 2 photos; 2 more fit" in response.content.decode()
    assert not Car.objects.filter(plate="FIT0001").exists()


def test_a_fixture_listing_a_photo_before_its_car_loads(tmp_path):
    """A fixture's rows come in any order (the load checks the keys at its end): a photo may come
    before the car it belongs to, which is not "a car deleted meanwhile"."""
    import json

    from django.core import serializers
    from django.core.management import call_command

    (car_row,) = json.loads(serializers.serialize("json", [CarFactory()]))
    car_row["pk"], car_row["fields"]["plate"], car_row["fields"]["stock_code"] = 999, "FIXT1", "FX999"
    photo = {"car": 999, "image": "x.jpg", "position": 0, "uploaded_at": "2026-01-01T00:00:00Z"}
    photo_row = {"model": "catalog.carphoto", "pk": 900, "fields": photo}
    fixture = tmp_path / "gallery.json"
    fixture.write_text(json.dumps([photo_row, car_row]))

    call_command("loaddata", str(fixture), verbosity=0)

    assert CarPhoto.objects.get(pk=900).car_id == 999
