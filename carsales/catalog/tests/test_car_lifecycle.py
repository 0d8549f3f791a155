"""pre_save defaults, the post_save thumbnail, and the files a car leaves behind."""

import importlib
import io
import json
import time
import urllib.request
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Upper
from django.db.models.signals import post_save
from PIL import Image

from carsales.catalog.models import Brand, Car, CatalogueVersion, folded
from carsales.catalog.services import (
    _BYTE_TO_SYMBOL,
    STOCK_CODE_ALPHABET,
    UNCOMMITTED_DIR,
    car_bio_fill,
    car_create,
    car_delete,
    car_thumbnail_make,
    car_update,
    stock_codes_generate,
    uncommitted_uploads_sweep,
)
from carsales.conftest import BrandFactory, CarFactory, image_upload
from carsales.events.models import Delivery
from carsales.events.services import delivery_run
from carsales.inventory.selectors import inventory_current

pytestmark = pytest.mark.django_db

THUMBNAIL = "catalog.make_thumbnail"


def test_a_new_car_gets_a_unique_ten_character_stock_code():
    cars = CarFactory.create_batch(5)

    codes = {car.stock_code for car in cars}
    assert len(codes) == 5
    assert all(len(code) == 10 and set(code) <= set(STOCK_CODE_ALPHABET) for code in codes)
    assert {c.stock_code for c in Car.objects.all()} == codes


def test_codes_made_a_batch_at_a_time_are_distinct_and_use_every_symbol_alike():
    codes = stock_codes_generate(3000)

    assert len(set(codes)) == 3000 and all(len(code) == 10 for code in codes)
    assert set("".join(codes)) == set(STOCK_CODE_ALPHABET)
    # Each of the 256 byte values picks a symbol; every symbol is picked by 8 of them: none more likely.
    assert Counter(bytes(range(256)).translate(_BYTE_TO_SYMBOL).decode()) == dict.fromkeys(STOCK_CODE_ALPHABET, 8)


def test_a_stock_code_already_set_is_kept():
    car = CarFactory(stock_code="KEEPME1234")
    car.refresh_from_db()

    assert car.stock_code == "KEEPME1234"


def _with_bio(car, durable):
    """The car once the worker ran what its save owed."""
    durable.run()
    car.refresh_from_db()
    return car


def test_an_empty_bio_is_written_from_the_cars_fields_after_commit(durable):
    car = CarFactory(
        brand=BrandFactory(name="Fiat"), model="Uno", model_year=2021, factory_year=2020, value=Decimal("25000")
    )
    car.refresh_from_db()
    assert car.bio == ""  # nothing written inside the save's transaction

    assert "Fiat Uno" in _with_bio(car, durable).bio and "2021" in car.bio


def test_a_generated_bio_says_the_build_year_only_when_it_is_not_the_model_year():
    from carsales.catalog.bio import CarFacts, TemplateBioWriter

    writer = TemplateBioWriter()
    same = writer.write(CarFacts(brand="Toyota", model="Corolla", factory_year=2016, model_year=2016))
    apart = writer.write(CarFacts(brand="Toyota", model="Corolla", factory_year=2015, model_year=2016))

    assert same.startswith("A well-kept 2016 Toyota Corolla, inspected and ready") and same.count("2016") == 1
    assert apart.startswith("A well-kept 2016 Toyota Corolla, built in 2015, inspected and ready")


def test_a_generated_bio_never_states_the_price_which_can_change(durable):
    car = _with_bio(CarFactory(value=Decimal("45999.99")), durable)

    assert car.bio and "45,999" not in car.bio and "$" not in car.bio


def test_the_language_model_is_asked_after_commit_and_not_told_the_price(settings, monkeypatch, durable):
    settings.CARSALES_BIO_WRITER = "carsales.catalog.bio.HttpLLMBioWriter"
    settings.CARSALES_LLM_URL = "http://llm.invalid/v1/chat/completions"
    sent = []

    def answer(request, timeout):
        sent.append(json.loads(request.data)["messages"][0]["content"])
        return io.BytesIO(b'{"choices": [{"message": {"content": "A fine Civic."}}]}')

    monkeypatch.setattr(urllib.request, "urlopen", answer)

    car = CarFactory(model="Civic", value=Decimal("45999.99"))
    assert sent == []  # no HTTP call while the save's transaction holds its locks

    assert _with_bio(car, durable).bio == "A fine Civic."
    assert "Civic" in sent[0] and "45,999" not in sent[0] and "45999" not in sent[0]


def test_a_bio_given_by_staff_is_kept_and_owes_no_writing(durable):
    with durable.owed() as owed:
        car = CarFactory(bio="One owner, garage kept.")

    assert "catalog.write_missing_bio" not in owed.receivers()
    assert _with_bio(car, durable).bio == "One owner, garage kept."


def test_a_bio_typed_by_staff_before_the_worker_runs_is_never_overwritten(durable):
    car = CarFactory(model="Golf")
    car_update(car=car, bio="Typed by staff meanwhile.")

    assert _with_bio(car, durable).bio == "Typed by staff meanwhile."


def test_writing_a_bio_twice_writes_it_once(durable, settings):
    settings.CARSALES_BIO_WRITER = "carsales.catalog.tests.test_car_lifecycle.EchoWriter"
    with durable.owed() as owed:
        car = CarFactory(model="Civic")
    durable.run(owed)
    settings.CARSALES_BIO_WRITER = "carsales.catalog.tests.test_car_lifecycle.FailingWriter"

    [delivery] = [d for d in owed if d.receiver == "catalog.write_missing_bio"]
    delivery_run(delivery_id=delivery.pk)
    assert car_bio_fill(car_id=car.pk) is None
    car.refresh_from_db()
    assert car.bio == "LLM text about the Civic"


def test_a_bio_given_by_staff_survives_later_edits():
    car = CarFactory(bio="One owner, garage kept.", value=Decimal("30000"))

    car_update(car=car, value=Decimal("27500"), model_year=2022)
    car_update(car=car, plate="NEW0001")
    car.refresh_from_db()

    assert car.bio == "One owner, garage kept." and car.value == Decimal("27500")


class FailingWriter:
    def write(self, car):
        raise ConnectionError("model server down")


class SlowWriter:
    def write(self, car):
        time.sleep(5)
        return "too late"


class EchoWriter:
    def write(self, car):
        return f"LLM text about the {car.model}"


def test_a_failing_bio_writer_falls_back_to_the_default_text(settings, durable):
    settings.CARSALES_BIO_WRITER = "carsales.catalog.tests.test_car_lifecycle.FailingWriter"

    car = _with_bio(CarFactory(model="Golf"), durable)

    assert "Golf" in car.bio


def test_a_slow_bio_writer_is_abandoned_after_the_timeout(settings, durable):
    settings.CARSALES_BIO_WRITER = "carsales.catalog.tests.test_car_lifecycle.SlowWriter"
    settings.CARSALES_BIO_WRITER_TIMEOUT = 0.2
    car = CarFactory(model="Polo")
    started = time.monotonic()

    car = _with_bio(car, durable)

    assert time.monotonic() - started < 2
    assert "Polo" in car.bio and "too late" not in car.bio


def test_a_configured_bio_writer_is_used(settings, durable):
    settings.CARSALES_BIO_WRITER = "carsales.catalog.tests.test_car_lifecycle.EchoWriter"

    assert _with_bio(CarFactory(model="Civic"), durable).bio == "LLM text about the Civic"


def test_assigning_a_field_in_post_save_does_not_save_it():
    """The seed's claim is false: the row is already written when post_save runs."""

    def rename(sender, instance, **kwargs):
        instance.model = "Renamed in post_save"

    post_save.connect(rename, sender=Car, dispatch_uid="test.rename")
    try:
        car = CarFactory(model="Original")
    finally:
        post_save.disconnect(dispatch_uid="test.rename", sender=Car)

    assert car.model == "Renamed in post_save"  # only the instance in memory changed
    assert Car.objects.get(pk=car.pk).model == "Original"


def test_a_large_photo_gets_a_thumbnail_of_500_pixels_keeping_its_aspect_from_the_worker(run_tasks):
    car = CarFactory(photo=image_upload(1200, 800))
    assert not Car.objects.get(pk=car.pk).thumbnail  # pages show the photo until then

    run_tasks()

    stored = Car.objects.get(pk=car.pk)
    with Image.open(stored.thumbnail.path) as thumb:
        assert thumb.size == (500, 333)


def test_a_photo_smaller_than_500_pixels_is_its_own_thumbnail(run_tasks):
    car = CarFactory(photo=image_upload(400, 300))

    run_tasks()

    assert Car.objects.get(pk=car.pk).thumbnail.name == car.photo.name


def test_saving_the_callers_instance_again_keeps_the_thumbnail(run_tasks):
    car = CarFactory(photo=image_upload(1200, 800))
    run_tasks()
    thumbnail = Car.objects.get(pk=car.pk).thumbnail.name

    car.model = "Edited"
    car.save()

    assert Car.objects.get(pk=car.pk).thumbnail.name == thumbnail
    assert not Delivery.objects.filter(receiver=THUMBNAIL, status="pending").exists()


def test_the_thumbnail_is_made_once_not_on_every_save(run_tasks):
    car = CarFactory(photo=image_upload(1200, 800))
    run_tasks()

    car_update(car=car, value=Decimal("1"))

    assert Delivery.objects.filter(receiver=THUMBNAIL).count() == 1


def test_the_thumbnail_receiver_sent_directly_twice_writes_one_file(run_tasks):
    car = CarFactory(photo=image_upload(1200, 800))
    run_tasks()
    thumbnail = Car.objects.get(pk=car.pk).thumbnail.name

    # The instance still carries its creating save's reading: a photo that changed.
    post_save.send(sender=Car, instance=car, created=False, raw=False, using="default", update_fields=None)
    run_tasks()
    delivery = Delivery.objects.filter(receiver=THUMBNAIL).first()
    Delivery.objects.filter(pk=delivery.pk).state_write(status=Delivery.Status.RETRYING)
    delivery_run(delivery_id=delivery.pk)

    assert Car.objects.get(pk=car.pk).thumbnail.name == thumbnail
    assert sorted(default_storage.listdir("cars/thumbnails")[1]).count(thumbnail.rsplit("/", 1)[-1]) == 1
    assert sorted(
        name
        for name in default_storage.listdir("cars/thumbnails")[1]
        if name.startswith(car.photo.name.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    ) == [thumbnail.rsplit("/", 1)[-1], thumbnail.rsplit("/", 1)[-1].replace(".jpg", ".webp")]  # JPEG and WebP


def test_a_thumbnail_attempt_for_a_photo_replaced_since_does_nothing(run_tasks):
    car = CarFactory(photo=image_upload(1200, 800, name="first.jpg"))
    first = car.photo.name
    car_update(car=car, photo=image_upload(900, 900, name="second.jpg"))

    assert car_thumbnail_make(car_id=car.pk, photo=first) is None
    run_tasks()

    stored = Car.objects.get(pk=car.pk)
    assert stored.photo.name == car.photo.name and stored.thumbnail.name.startswith("cars/thumbnails/second")


def test_replacing_a_photo_deletes_the_old_files(run_tasks):
    car = CarFactory(photo=image_upload(1200, 800, name="old.jpg"))
    run_tasks()
    old_photo, old_thumb = car.photo.name, Car.objects.get(pk=car.pk).thumbnail.name

    car_update(car=car, photo=image_upload(900, 900, name="new.jpg"))
    run_tasks()

    stored = Car.objects.get(pk=car.pk)
    assert not default_storage.exists(old_photo)
    assert not default_storage.exists(old_thumb)
    assert default_storage.exists(stored.photo.name) and default_storage.exists(stored.thumbnail.name)


def test_clearing_the_photo_clears_the_thumbnail_and_deletes_both_files(run_tasks):
    car = CarFactory(photo=image_upload(1200, 800))
    run_tasks()
    old_photo, old_thumb = car.photo.name, Car.objects.get(pk=car.pk).thumbnail.name

    car_update(car=car, photo=False)
    run_tasks()

    stored = Car.objects.get(pk=car.pk)
    assert not stored.photo and not stored.thumbnail
    assert not default_storage.exists(old_photo) and not default_storage.exists(old_thumb)


def test_deleting_a_car_deletes_its_files_from_the_deleted_rows_data(run_tasks):
    car = CarFactory(photo=image_upload(1200, 800))
    run_tasks()
    stored = Car.objects.get(pk=car.pk)
    files = [car.photo.name, stored.thumbnail.name, stored.thumbnail_webp.name]

    car_delete(car=car)  # this instance was read before the worker made the thumbnail
    delivery = Delivery.objects.get(receiver="catalog.discard_deleted_car_files")
    assert delivery.payload["files"] == files
    run_tasks()

    assert not any(default_storage.exists(name) for name in files)


def test_a_delete_that_rolls_back_keeps_the_files(run_tasks):
    car = CarFactory(photo=image_upload(1200, 800))
    run_tasks()
    thumbnail = Car.objects.get(pk=car.pk).thumbnail.name

    with pytest.raises(RuntimeError), transaction.atomic():
        car.delete()
        raise RuntimeError("abort")
    run_tasks()

    assert default_storage.exists(car.photo.name) and default_storage.exists(thumbnail)


def test_files_a_car_points_at_again_are_kept(run_tasks):
    car = CarFactory(photo=image_upload(400, 300))
    other = CarFactory()
    name = car.photo.name
    QuerySet.update(Car.objects.filter(pk=other.pk), photo=name)  # past the guard: as a restore may leave it

    car_delete(car=car)
    run_tasks()

    assert default_storage.exists(name)


def test_bulk_updating_car_values_keeps_the_inventory_exact():
    CarFactory(value=500)

    Car.objects.update(value=None)

    assert inventory_current().cars_value == 0  # cars_repriced moved it (test_bulk_prices.py)


def test_bulk_creating_cars_is_refused():
    with pytest.raises(TypeError, match="car_create"):
        Car.objects.bulk_create([Car(brand=BrandFactory(), model="X", factory_year=2020, model_year=2020, plate="B1")])


def test_car_create_normalises_the_plate():
    car = car_create(brand=BrandFactory(), model="Onix", factory_year=2020, model_year=2020, plate=" abc1d23 ")

    assert car.plate == "ABC1D23"


def test_a_rolled_back_upload_leaves_no_file_once_the_sweep_runs():
    with pytest.raises(RuntimeError), transaction.atomic():
        car = CarFactory(photo=image_upload())
        photo = car.photo.name
        raise RuntimeError("the request failed after the car was saved")
    assert default_storage.exists(photo)  # Django stored it before the commit that never came

    assert uncommitted_uploads_sweep(older_than=0) >= 1  # earlier tests' rolled-back uploads too

    assert not default_storage.exists(photo)
    assert not default_storage.listdir(UNCOMMITTED_DIR)[1]


def test_a_committed_upload_loses_its_marker_and_survives_the_sweep(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        car = CarFactory(photo=image_upload())

    uncommitted_uploads_sweep(older_than=0)
    assert default_storage.exists(car.photo.name)
    assert not default_storage.listdir(UNCOMMITTED_DIR)[1]


def test_a_young_marker_is_left_for_a_save_that_may_still_commit():
    with pytest.raises(RuntimeError), transaction.atomic():
        car = CarFactory(photo=image_upload())
        raise RuntimeError

    assert uncommitted_uploads_sweep() == 0
    assert default_storage.exists(car.photo.name)


def test_two_photos_never_share_a_thumbnail_file():
    first = CarFactory(photo=image_upload(name="a.png"))
    second = CarFactory(photo=image_upload(name="a-png.jpg"))

    names = {car_thumbnail_make(car_id=car.pk, photo=car.photo.name) for car in (first, second)}

    assert len(names) == 2


def test_the_migration_drops_the_old_stated_price_from_generated_texts_only():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("carsales.catalog.migrations.0005_generated_bios_without_price")
    generated = CarFactory(bio="A nearly new 2025 Fiat Toro. Yours for $45,999.99. Ask us for a test drive.")
    by_hand = CarFactory(bio="Yours for $1, a steal! Yours for the asking.")

    migration.drop_stated_prices(apps, None)

    assert Car.objects.get(pk=generated.pk).bio == "A nearly new 2025 Fiat Toro. Ask us for a test drive."
    assert Car.objects.get(pk=by_hand.pk).bio == by_hand.bio


@pytest.mark.parametrize(
    "change",
    [{"photo": "cars/other.jpg"}, {"vin": "WVWZZZ1JZXW000001"}, {"stock_code": ""}],
    ids=lambda c: next(iter(c)),
)
def test_a_queryset_update_of_what_a_save_follows_up_is_refused_naming_car_update(change):
    car = CarFactory(photo=image_upload(400, 300), vin="")
    stored = Car.objects.filter(pk=car.pk).values("photo", "thumbnail", "vin", "stock_code").get()

    for write in (
        lambda: Car.objects.filter(pk=car.pk).update(**change),
        lambda: Car.objects.bulk_update([Car(pk=car.pk, **change)], list(change)),
    ):
        with pytest.raises(TypeError, match=r"follow catalog\.services\.car_update; a stock code never changes"):
            write()

    assert Car.objects.filter(pk=car.pk).values("photo", "thumbnail", "vin", "stock_code").get() == stored


def test_a_brands_folded_name_follows_its_name_on_every_path_and_moves_the_version():
    bmw = BrandFactory(name="BMW")
    chevrolet = BrandFactory(name="Chevrolet")

    def version() -> int:
        return CatalogueVersion.objects.get().number

    before = version()
    Brand.objects.filter(pk=chevrolet.pk).update(name="Škoda")
    assert Brand.objects.get(pk=chevrolet.pk).folded_name == "skoda" and version() > before
    with pytest.raises(IntegrityError), transaction.atomic():
        Brand.objects.filter(pk=chevrolet.pk).update(name="bmw")  # "BMW" to a buyer's eye
    with pytest.raises(IntegrityError), transaction.atomic():
        Brand.objects.bulk_create([Brand(name="Bmw", slug="bmw-x")])

    before = version()
    (opel,) = Brand.objects.bulk_create([Brand(name="Opel", slug="opel")])
    assert Brand.objects.get(pk=opel.pk).folded_name == "opel" and version() > before
    opel.name = "Öpel"
    before = version()
    Brand.objects.bulk_update([opel], ["name"])
    assert Brand.objects.get(pk=opel.pk).folded_name == "opel" and version() > before
    upsert = {"update_conflicts": True, "unique_fields": ["slug"]}
    Brand.objects.bulk_create([Brand(name="Opel Motors", slug="opel")], update_fields=["name"], **upsert)
    assert Brand.objects.get(pk=opel.pk).folded_name == "opel motors"
    with pytest.raises(IntegrityError), transaction.atomic():
        Brand.objects.bulk_create([Brand(name="bmw", slug="opel")], update_fields=["name"], **upsert)
    for refused in (
        lambda: Brand.objects.filter(pk=bmw.pk).update(folded_name="x"),
        lambda: Brand.objects.filter(pk=bmw.pk).update(name=Upper("name")),
        lambda: Brand.objects.bulk_create([Brand(name="X", slug="opel")], update_fields=["folded_name"], **upsert),
    ):
        with pytest.raises(TypeError, match="folded"):
            refused()


@pytest.mark.parametrize(
    "lookalike",
    [
        *("B\u200bMW", "BMW\u200d", "\ufeffBMW", "B\u00adMW", "B\x07MW", " bmw  "),
        *("BMW\ufe0f", "BMW\u034f", "BMW\u115f", "BMW\u3164", "BMW\u2800"),  # none of them shows
    ],
)
def test_a_brand_name_looking_like_a_stored_one_is_refused_on_every_path(lookalike):
    BrandFactory(name="BMW")

    for write in (
        lambda: Brand.objects.create(name=lookalike, slug="lookalike"),
        lambda: Brand.objects.bulk_create([Brand(name=lookalike, slug="lookalike")]),
        lambda: Brand.objects.filter(pk=BrandFactory(name="Opel").pk).update(name=lookalike),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            write()


@pytest.mark.parametrize("unseen", ["\u200b", "\ufe0f", "\u3164", "\u2800", "\u034f", "\x07"])
def test_a_brand_name_with_a_character_that_does_not_show_is_refused_saying_so(unseen):
    with pytest.raises(ValidationError, match="does not show"):
        Brand(name=f"Vol{unseen}vo", slug="volvo").full_clean()
    assert folded("Land  Rover") == folded("Land Rover") == "land rover"


def test_an_indic_vowel_sign_is_spelling_not_an_accent():
    maruti, marti = "\u092e\u093e\u0930\u0941\u0924\u093f", "\u092e\u093e\u0930\u0924\u093f"  # Maruti, without its u

    assert folded(maruti) != folded(marti)


def test_a_name_spelled_with_a_joiner_is_taken_and_compared_without_it():
    iran_khodro = (
        "\u0627\u06cc\u0631\u0627\u0646\u200c\u062e\u0648\u062f\u0631\u0648"  # Persian: a ZWNJ parts two words
    )

    Brand(name=iran_khodro, slug="iran-khodro").full_clean()
    assert folded(iran_khodro) == folded(iran_khodro.replace("\u200c", ""))


def test_the_migration_folds_stored_names_again_unless_another_brand_holds_the_new_fold(capsys):
    from django.apps import apps

    fold_again = importlib.import_module(
        "carsales.catalog.migrations.0022_brand_names_folded_without_unseen_characters"
    )
    bmw, lookalike, spaced = BrandFactory(name="BMW"), BrandFactory(name="Other"), BrandFactory(name="Another")
    # The first moving to the fold the second leaves, stored stale: "kia\u200b" to "kia", "kia" to "kia motors".
    swapped_first, swapped_second = BrandFactory(name="One"), BrandFactory(name="Two")
    # As the older folding stored them, keeping what does not show and every space.
    for brand, name, old in (
        (lookalike, "B\u200bMW", "b\u200bmw"),
        (spaced, "Land  Rover", "land  rover"),
        (swapped_first, "Kia\u200b", "kia\u200b"),
        (swapped_second, "Kia  Motors", "kia"),
    ):
        QuerySet.update(Brand.objects.filter(pk=brand.pk), name=name, folded_name=old)

    fold_again.fold_again(apps, None)

    folded_names = dict(Brand.objects.values_list("pk", "folded_name"))
    assert folded_names == {
        bmw.pk: "bmw", lookalike.pk: "b\u200bmw", spaced.pk: "land rover",
        swapped_first.pk: "kia", swapped_second.pk: "kia motors",
    }  # fmt: skip
    assert f"Brand 'B\\u200bMW' (#{lookalike.pk}) looks like 'BMW': rename one of them." in capsys.readouterr().out


def test_a_brand_loaded_from_a_fixture_gets_its_folded_name_from_its_name(tmp_path):
    BrandFactory(name="BMW")
    fixture = tmp_path / "brand.json"
    row = {"model": "catalog.brand", "pk": 9001, "fields": {"name": "Bmw", "slug": "bmw-2", "folded_name": "other"}}
    fixture.write_text(json.dumps([row]))

    with pytest.raises(IntegrityError):
        call_command("loaddata", str(fixture), verbosity=0)

    assert not Brand.objects.filter(pk=9001).exists()
