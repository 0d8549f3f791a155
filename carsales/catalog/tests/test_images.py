"""Car photos are JPEG, PNG or WebP, told by what Pillow decodes, never by name or content type."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import UnidentifiedImageError

from carsales.catalog.images import thumbnail_of
from carsales.catalog.models import Car
from carsales.catalog.tests.test_views import car_form_data
from carsales.conftest import BrandFactory, CarFactory, image_bytes

pytestmark = pytest.mark.django_db


def disguised(fmt: str, width: int = 600, height: int = 400) -> SimpleUploadedFile:
    """An image of `fmt` that claims to be a JPEG by its name and content type."""
    return SimpleUploadedFile("photo.jpg", image_bytes(width, height, fmt), content_type="image/jpeg")


def api_car(brand, photo):
    return {
        "brand": brand.slug,
        "model": "Rio",
        "factory_year": 2020,
        "model_year": 2020,
        "plate": "K1",
        "photo": photo,
    }


@pytest.mark.parametrize("fmt", ["EPS", "GIF", "BMP", "TIFF"])
def test_a_photo_in_a_format_off_the_allow_list_is_a_400_by_api(staff_client, fmt):
    response = staff_client.post("/api/cars/", api_car(BrandFactory(), disguised(fmt)))

    assert response.status_code == 400
    assert response.json()["photo"] == [
        "Upload a photo in JPEG, PNG or WebP; other files and image formats are not accepted."
    ]
    assert not Car.objects.exists()


def test_a_large_postscript_photo_is_refused_before_any_thumbnail_is_made(staff_client):
    # 600 px needs a thumbnail, which for EPS would run Ghostscript (a 500 where it is missing).
    response = staff_client.post("/api/cars/", api_car(BrandFactory(), disguised("EPS", 600, 600)))

    assert response.status_code == 400 and "photo" in response.json()


def test_a_postscript_photo_gets_a_form_error_on_the_car_page(staff_client):
    response = staff_client.post("/cars/new/", {**car_form_data(BrandFactory()), "photo": disguised("EPS")})

    assert response.status_code == 200
    assert "JPEG, PNG or WebP" in response.context["form"].errors["photo"][0]
    assert not Car.objects.exists()


@pytest.mark.parametrize("fmt, name", [("JPEG", "a.jpg"), ("PNG", "a.png"), ("WEBP", "a.webp")])
def test_jpeg_png_and_webp_photos_are_accepted_with_a_thumbnail(staff_client, fmt, name, run_tasks):
    photo = SimpleUploadedFile(name, image_bytes(900, 600, fmt), content_type="application/octet-stream")

    response = staff_client.post("/api/cars/", api_car(BrandFactory(), photo))
    run_tasks()  # the worker makes the thumbnail after the commit

    assert response.status_code == 201, response.json()
    assert staff_client.get(f"/api/cars/{response.json()['id']}/").json()["thumbnail"].endswith(".jpg")


def test_a_thumbnail_is_never_made_of_a_stored_file_off_the_allow_list():
    car = CarFactory(photo=None)
    car.photo.save("legacy.jpg", ContentFile(image_bytes(900, 600, "EPS")), save=False)

    with pytest.raises(UnidentifiedImageError):
        thumbnail_of(car.photo, max_side=500)


def _jpeg_with_gps_sideways() -> bytes:
    from io import BytesIO

    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned, the pixels were not
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 24.0)  # GPS latitude
    buffer = BytesIO()
    Image.new("RGB", (1200, 800), (10, 120, 40)).save(
        buffer, format="JPEG", exif=exif, comment=b"Taken at 12 Rue de la Paix, owner 0612345678"
    )
    return buffer.getvalue()


def test_a_photo_is_published_upright_and_without_its_gps_position_on_every_path(staff_api):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from carsales.catalog.models import Car
    from carsales.conftest import BrandFactory

    brand = BrandFactory()
    upload = SimpleUploadedFile("gps.jpg", _jpeg_with_gps_sideways(), content_type="image/jpeg")
    response = staff_api.post(
        "/api/cars/",
        {
            "brand": brand.slug,
            "model": "Leon",
            "factory_year": 2020,
            "model_year": 2020,
            "plate": "GPS1",
            "photo": upload,
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content

    car = Car.objects.get(plate="GPS1")
    with car.photo.open("rb") as stored, Image.open(BytesIO(stored.read())) as image:
        assert image.size == (800, 1200)  # turned upright
        exif = image.getexif()
        assert 0x8825 not in exif and not exif.get_ifd(0x8825) and 0x0112 not in exif
        assert "comment" not in image.info  # a JPEG's comment is metadata too
    with car.photo.open("rb") as stored:
        assert b"Rue de la Paix" not in stored.read()
    from carsales.catalog.images import thumbnail_of, webp_of

    for made in (thumbnail_of(car.photo, max_side=400), webp_of(car.photo, max_side=400)):
        assert made is not None and b"Rue de la Paix" not in made.read()


def test_a_truncated_jpeg_is_refused_at_upload_not_left_to_fail_in_the_worker(staff_api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from carsales.conftest import BrandFactory, image_bytes

    whole = image_bytes(1200, 800)
    upload = SimpleUploadedFile("cut.jpg", whole[: len(whole) // 2], content_type="image/jpeg")
    response = staff_api.post(
        "/api/cars/",
        {
            "brand": BrandFactory().slug,
            "model": "Leon",
            "factory_year": 2020,
            "model_year": 2020,
            "plate": "CUT1",
            "photo": upload,
        },
        format="multipart",
    )

    assert response.status_code == 400 and "photo" in response.json()
