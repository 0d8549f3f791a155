"""Lifecycle hooks on `Car`, connected as model signals so that every save path — services,
admin, shell; fixture loads skip the ones that write — gets them, not only the catalogue's own views.

The stock code is filled in pre_save, in the save's own write. The files and the sales text are
outside effects (storage, a language model over HTTP), so durable receivers handle them after
commit, in a worker: the thumbnail on the "images" queue, file deletions on "files", the text
on "default", none delaying the emails; so is the decoding of a new VIN, which fills in the
facts staff left blank. What a save changed comes from `Car.stored`.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from carsales.core.actor import current_actor
from carsales.core.gone import deleted_meanwhile
from carsales.events.durable import Event, durable_receiver

from .images import photo_published
from .models import Brand, Car, CarPhoto, CatalogueVersion, PriceChange, brand_writes_wait, folded, plate_as_stored
from .selectors import gallery_refusal
from .services import (
    brand_leaving,
    car_bio_fill,
    car_photo_renditions_make,
    car_thumbnail_make,
    car_vin_decode,
    price_change_record,
    price_changes_record,
    stock_code_generate,
    stored_files_delete,
    upload_mark_uncommitted,
    upload_name_foreseen,
)
from .signals import PriceMove, car_stock_moved, cars_added, cars_removed, cars_repriced
from .vocabulary import search_vocabulary_forget

_CAR_FILES = ("photo", "thumbnail", "thumbnail_webp")  # a car's stored files: its photo and renditions
_UPLOAD_MARKED = "catalog.upload_marked"  # the name a new upload was marked under, for post_save


def car_fill_defaults(sender: type[Car], instance: Car, raw: bool, **kwargs: Any) -> None:
    """Give a car without a stock code a generated one; its plate is stored in capitals without
    spaces around; a blank sales text is stored empty, for write_missing_bio to fill after commit.

    Done in pre_save, not post_save: assigning a field after the row is written does not save
    it (the seed's claim that it does is false), while assigning it here is saved by this save.
    """
    if raw:
        return
    if isinstance(instance.__dict__.get("plate"), str):  # loaded: a deferred plate is not written
        instance.plate = plate_as_stored(instance.plate)  # as a form stores it, a shell's create's too
    if not instance.stock_code:
        instance.stock_code = stock_code_generate()
    if not instance.bio.strip():
        instance.bio = ""


def car_note_photo_change(
    sender: type[Car], instance: Car, raw: bool, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    """Mark a new upload before storage writes it, and keep the row's thumbnail true to its photo.

    A changed photo drops its thumbnail in this same write: the row never pairs a photo with
    another photo's thumbnail, and pages show the photo until the new thumbnail is made. An
    unchanged photo keeps the thumbnail as stored: a worker may have written it since this
    instance was read.
    """
    if raw or (update_fields is not None and "photo" not in update_fields):
        return
    stored = Car.stored.before(instance)
    new_upload = bool(instance.photo) and not instance.photo._committed
    if new_upload:
        # Published without its metadata (a GPS position above all), upright; on every path.
        instance.photo = photo_published(instance.photo, name=instance.photo.name)  # type: ignore[assignment]
        # Django stores the upload during this save, before the commit; mark it first, so
        # neither a rollback nor a crash between storing and writing the row orphans it.
        Car.stored.note(instance, _UPLOAD_MARKED, upload_mark_uncommitted(name=upload_name_foreseen(instance)))
    if not new_upload and (stored or {}).get("photo", "") == (instance.photo.name or ""):
        if stored is not None:
            instance.thumbnail, instance.thumbnail_webp = stored["thumbnail"], stored["thumbnail_webp"]
        return
    instance.thumbnail = instance.thumbnail_webp = ""  # type: ignore[assignment]


def car_mark_renamed_upload(sender: type[Car], instance: Car, raw: bool, **kwargs: Any) -> None:
    """The upload was stored under another name than foreseen (a name taken meanwhile): mark
    that name too, so a rollback orphans nothing."""
    intended = Car.stored.noted(instance, _UPLOAD_MARKED, "")
    if not raw and intended and instance.photo.name != intended:
        upload_mark_uncommitted(name=instance.photo.name)


_PRICE_RECORDED = "catalog.price_recorded"  # noted once a save's price change is recorded


def car_record_price_change(sender: type[Car], instance: Car, raw: bool, **kwargs: Any) -> None:
    """Record a new or changed asking price, from the row as stored before the save: a stale
    instance, the admin and the API record the true old price. A fixture brings its own history
    (loaddata refuses one whose cars' prices are not where their histories end)."""
    if raw or Car.stored.noted(instance, _PRICE_RECORDED):
        return
    before, after = Car.stored.before(instance), Car.stored.after(instance)
    old = before["value"] if before is not None else None
    if (before is None and after["value"] is None) or old == after["value"]:
        return
    Car.stored.note(instance, _PRICE_RECORDED, True)
    price_change_record(car=instance, old=old, new=after["value"], actor=current_actor())


def cars_record_price_changes(sender: type[Car], changes: list[PriceMove], **kwargs: Any) -> None:
    """Record the prices a bulk write changed, as stored before and after it."""
    price_changes_record(moves=changes, actor=current_actor())


def car_forget_search_words(sender: type[Car], instance: Car, raw: bool, **kwargs: Any) -> None:
    """A new car or a renamed model may bring a word searches correct typos against."""
    if Car.stored.changed(instance, "model"):
        search_vocabulary_forget()


def brand_forget_search_words(sender: type[Brand], **kwargs: Any) -> None:
    search_vocabulary_forget()


def _photo_changed(kwargs: dict[str, Any]) -> bool:
    return not kwargs.get("raw") and Car.stored.changed(kwargs["instance"], "photo")


def _released_files(kwargs: dict[str, Any]) -> list[str]:
    """The stored files a save let go of: the previous photo and its thumbnail, once replaced."""
    instance = kwargs["instance"]
    before = Car.stored.before(instance)
    if before is None or not _photo_changed(kwargs):
        return []
    released = {before[field] for field in _CAR_FILES}
    return sorted(released - {"", Car.stored.after(instance)["photo"]})


@durable_receiver(
    post_save,
    sender=Car,
    dispatch_uid="catalog.make_thumbnail",
    queue="images",
    when=lambda kwargs: _photo_changed(kwargs) and bool(kwargs["instance"].photo),
    carries={"instance"},
    fields={"photo"},
)
def make_thumbnail(event: Event) -> None:
    """Thumbnail the photo the event saw; a photo replaced since is left to its own event."""
    car_thumbnail_make(car_id=event.instance_pk, photo=event.instance_data["photo"])


@durable_receiver(
    post_save,
    sender=Car,
    dispatch_uid="catalog.discard_replaced_files",
    queue="files",
    ordered=False,
    when=lambda kwargs: bool(_released_files(kwargs)),
    carries=(),
    adds=lambda kwargs: {"released": _released_files(kwargs)},
)
def discard_replaced_files(event: Event) -> None:
    """Delete the previous photo and thumbnail, unless a car points at them again."""
    stored_files_delete(names=event.released)


def _deleted_files(kwargs: dict[str, Any]) -> list[str]:
    """A deleted car's files, as its row stored them (a worker may have made the thumbnail since
    the instance was read); none when another writer deleted it first."""
    before = Car.stored.before(kwargs["instance"]) or {}
    return [name for name in (before.get(field) for field in _CAR_FILES) if name]


@durable_receiver(
    post_delete,
    sender=Car,
    dispatch_uid="catalog.discard_deleted_car_files",
    queue="files",
    ordered=False,
    when=lambda kwargs: bool(_deleted_files(kwargs)),
    carries=(),
    adds=lambda kwargs: {"files": _deleted_files(kwargs)},
)
def discard_deleted_car_files(event: Event) -> None:
    """Delete the deleted car's photo and thumbnail, as stored when it was deleted, unless in use."""
    stored_files_delete(names=event.files)


def _removed_files(kwargs: dict[str, Any]) -> list[str]:
    """The files of the cars a queryset delete removed, as their rows stored them."""
    return sorted(
        {name for car in kwargs["cars"] for name in (getattr(car, field).name for field in _CAR_FILES) if name}
    )


@durable_receiver(
    cars_removed,
    sender=Car,
    dispatch_uid="catalog.discard_removed_cars_files",
    queue="files",
    ordered=False,
    when=lambda kwargs: bool(_removed_files(kwargs)),
    carries=(),
    adds=lambda kwargs: {"files": _removed_files(kwargs)},
)
def discard_removed_cars_files(event: Event) -> None:
    """Delete the photos and thumbnails of cars deleted many at once, unless in use: one run for all."""
    stored_files_delete(names=event.files)


@durable_receiver(
    post_save,
    sender=Car,
    dispatch_uid="catalog.write_missing_bio",
    queue="default",
    ordered=False,
    when=lambda kwargs: not kwargs.get("raw") and not kwargs["instance"].bio,
    carries={"instance"},
)
def write_missing_bio(event: Event) -> None:
    """Write the sales text of a car saved without one, after commit: the writer may call a
    language model over HTTP, which must hold no transaction nor row lock while it waits."""
    car_bio_fill(car_id=event.instance_pk)


def _vin_changed(kwargs: dict[str, Any]) -> bool:
    """A VIN given, changed or cleared (a new car without one has nothing to decode)."""
    instance = kwargs["instance"]
    if kwargs.get("raw") or not Car.stored.changed(instance, "vin"):
        return False
    return Car.stored.before(instance) is not None or bool(Car.stored.after(instance)["vin"])


@durable_receiver(
    post_save,
    sender=Car,
    dispatch_uid="catalog.decode_new_vin",
    queue="default",
    when=lambda kwargs: _vin_changed(kwargs),
    carries={"instance"},
    fields={"vin"},
)
def decode_new_vin(event: Event) -> None:
    """Decode a VIN given or changed on any path, after commit: fill the blanks, report to staff."""
    car_vin_decode(car_id=event.instance_pk, vin=event.instance_data["vin"])


_GALLERY_UPLOAD_MARKED = "catalog.gallery_upload_marked"


def gallery_photo_keep_in_its_gallery(sender: type[CarPhoto], instance: CarPhoto, raw: bool, **kwargs: Any) -> None:
    """On every path (the site, the admin, a shell, a fixture) a photo stays with the car it was
    added to, and a gallery holds at most CARSALES_GALLERY_MAX_PHOTOS: judged by the rows as
    stored, the car's row locked so that two uploads to one car count one after the other."""
    before = CarPhoto.stored.before(instance)
    if before is not None:
        if before["car_id"] != instance.car_id:
            raise ValidationError({"car": "A photo stays in its car's gallery: add it to the other car instead."})
        return
    if raw:  # a fixture may list a photo before its car: the load checks the keys at its end
        Car.objects.select_for_update().filter(pk=instance.car_id).exists()
    elif instance.pk is not None and not instance._state.adding:
        raise deleted_meanwhile(CarPhoto)  # read from its row, gone since with its car: not saved anew
    elif not Car.objects.select_for_update().filter(pk=instance.car_id).exists():
        raise deleted_meanwhile(Car)
    refusal = gallery_refusal(car_id=instance.car_id, adding=1)
    if refusal:
        raise ValidationError({"image": refusal})


def gallery_photo_note_upload(sender: type[CarPhoto], instance: CarPhoto, raw: bool, **kwargs: Any) -> None:
    """A new gallery upload, on any path, is published upright without its metadata, and marked
    before storage writes it (during the save, before the commit), as a car's photo is."""
    if raw or not instance.image or instance.image._committed:
        return
    instance.image = photo_published(instance.image, name=instance.image.name)  # type: ignore[assignment]
    CarPhoto.stored.note(
        instance, _GALLERY_UPLOAD_MARKED, upload_mark_uncommitted(name=upload_name_foreseen(instance, "image"))
    )


def gallery_photo_mark_renamed_upload(sender: type[CarPhoto], instance: CarPhoto, raw: bool, **kwargs: Any) -> None:
    intended = CarPhoto.stored.noted(instance, _GALLERY_UPLOAD_MARKED, "")
    if not raw and intended and instance.image.name != intended:
        upload_mark_uncommitted(name=instance.image.name)


def gallery_photo_drop_stale_renditions(
    sender: type[CarPhoto], instance: CarPhoto, raw: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """A photo given another image drops its renditions in the same write (they showed the old
    one); an unchanged image keeps them as stored, which a worker may have written since."""
    if raw or (update_fields is not None and "image" not in update_fields):
        return
    before = CarPhoto.stored.before(instance)
    if before is None:
        return
    if before["image"] == (instance.image.name or ""):
        instance.large, instance.small = before["large"], before["small"]
    else:
        instance.large = instance.small = ""  # type: ignore[assignment]


def _gallery_image_changed(kwargs: dict[str, Any]) -> bool:
    return not kwargs.get("raw") and CarPhoto.stored.changed(kwargs["instance"], "image")


def _gallery_released_files(kwargs: dict[str, Any]) -> list[str]:
    before = CarPhoto.stored.before(kwargs["instance"])
    if before is None or not _gallery_image_changed(kwargs):
        return []
    return sorted({before["image"], before["large"], before["small"]} - {""})


@durable_receiver(
    post_save,
    sender=CarPhoto,
    dispatch_uid="catalog.make_gallery_renditions",
    queue="images",
    when=lambda kwargs: _gallery_image_changed(kwargs) and bool(kwargs["instance"].image),
    carries={"instance"},
    fields={"image"},
)
def make_gallery_renditions(event: Event) -> None:
    """The WebP renditions of the image the event saw; an image replaced since has its own event."""
    car_photo_renditions_make(photo_id=event.instance_pk, image=event.instance_data["image"])


@durable_receiver(
    post_save,
    sender=CarPhoto,
    dispatch_uid="catalog.discard_replaced_gallery_files",
    queue="files",
    ordered=False,
    when=lambda kwargs: bool(_gallery_released_files(kwargs)),
    carries=(),
    adds=lambda kwargs: {"released": _gallery_released_files(kwargs)},
)
def discard_replaced_gallery_files(event: Event) -> None:
    """Delete a replaced gallery image and its renditions, unless a car or photo uses them again."""
    stored_files_delete(names=event.released)


def _gallery_deleted_files(kwargs: dict[str, Any]) -> list[str]:
    before = CarPhoto.stored.before(kwargs["instance"]) or {}
    return sorted({before.get("image", ""), before.get("large", ""), before.get("small", "")} - {""})


@durable_receiver(
    post_delete,
    sender=CarPhoto,
    dispatch_uid="catalog.discard_deleted_gallery_files",
    queue="files",
    ordered=False,
    when=lambda kwargs: bool(_gallery_deleted_files(kwargs)),
    carries=(),
    adds=lambda kwargs: {"files": _gallery_deleted_files(kwargs)},
)
def discard_deleted_gallery_files(event: Event) -> None:
    """Delete a deleted gallery photo's files, as stored when it was deleted, unless in use."""
    stored_files_delete(names=event.files)


@durable_receiver(
    cars_added,
    sender=Car,
    dispatch_uid="catalog.finish_added_cars",
    queue="default",
    ordered=False,
    when=lambda kwargs: bool(kwargs["car_ids"]),
    carries={"car_ids"},
)
def finish_added_cars(event: Event) -> None:
    """Decode the VINs of a batch of added cars and write the sales texts left empty."""
    for car_id, vin in Car.objects.filter(pk__in=event.car_ids).exclude(vin="").values_list("pk", "vin"):
        car_vin_decode(car_id=car_id, vin=vin)
    for car_id in Car.objects.filter(pk__in=event.car_ids, bio="").values_list("pk", flat=True):
        car_bio_fill(car_id=car_id)


def brand_fold_loaded_name(sender: type[Brand], instance: Brand, raw: bool, **kwargs: Any) -> None:
    """A fixture's brand gets its folded name from its name, as save() gives it: never the
    fixture's own, which could let "BMW" and "bmw" both in."""
    if raw:
        instance.folded_name = folded(instance.name)


def version_moves_on_when_loaded(
    sender: type[CatalogueVersion], instance: CatalogueVersion, raw: bool, **kwargs: Any
) -> None:
    """A fixture's version is a past number, under which pages may still be cached: the row as
    loaded moves past both it and the number stored, so no page of either is read again."""
    if raw:
        stored = CatalogueVersion.objects.filter(pk=instance.pk).values_list("number", flat=True).first()
        instance.number = max(instance.number, stored or 0) + 1


def brand_before_save(sender: type[Brand], instance: Brand, **kwargs: Any) -> None:
    """A brand saved by any path waits for the car writes under way before its row is written
    (brand_writes_wait), which moves the catalogue's version on for it."""
    brand_writes_wait()


def brand_before_delete(sender: type[Brand], instance: Brand, **kwargs: Any) -> None:
    """A brand deleted by any path is judged by its cars as stored once the car writes under way
    have ended, not as Django's deletion saw them a moment before (brand_leaving)."""
    brand_leaving(brand_id=instance.pk)


def catalogue_changed(sender: Any, **kwargs: Any) -> None:
    """Whatever changed what the catalogue shows, in the write's transaction: cached pages of the
    previous version are not read again (catalog.pages)."""
    CatalogueVersion.bump()


for signal, model, name in [
    (post_save, Car, "car_saved"),
    (post_delete, Car, "car_deleted"),
    (car_stock_moved, Car, "cars_moved"),
    (cars_added, Car, "cars_added"),
    (post_save, CarPhoto, "photo_saved"),
    (post_delete, CarPhoto, "photo_deleted"),
    # A price change's save: a fixture's (a car's own save writes its change sending none).
    (post_save, PriceChange, "price_change_saved"),
]:
    signal.connect(catalogue_changed, sender=model, dispatch_uid=f"catalog.catalogue_changed.{name}")

# A brand's writes move the catalogue's version on before they write its row (brand_writes_wait).
pre_save.connect(brand_before_save, sender=Brand, dispatch_uid="catalog.brand_before_save")
pre_delete.connect(brand_before_delete, sender=Brand, dispatch_uid="catalog.brand_before_delete")
pre_save.connect(
    gallery_photo_keep_in_its_gallery, sender=CarPhoto, dispatch_uid="catalog.gallery_photo_keep_in_its_gallery"
)
pre_save.connect(gallery_photo_note_upload, sender=CarPhoto, dispatch_uid="catalog.gallery_photo_note_upload")
pre_save.connect(
    gallery_photo_drop_stale_renditions, sender=CarPhoto, dispatch_uid="catalog.gallery_photo_drop_stale_renditions"
)
post_save.connect(
    gallery_photo_mark_renamed_upload, sender=CarPhoto, dispatch_uid="catalog.gallery_photo_mark_renamed_upload"
)
pre_save.connect(car_fill_defaults, sender=Car, dispatch_uid="catalog.car_fill_defaults")
pre_save.connect(brand_fold_loaded_name, sender=Brand, dispatch_uid="catalog.brand_fold_loaded_name")
pre_save.connect(
    version_moves_on_when_loaded, sender=CatalogueVersion, dispatch_uid="catalog.version_moves_on_when_loaded"
)
pre_save.connect(car_note_photo_change, sender=Car, dispatch_uid="catalog.car_note_photo_change")
post_save.connect(car_mark_renamed_upload, sender=Car, dispatch_uid="catalog.car_mark_renamed_upload")
post_save.connect(car_record_price_change, sender=Car, dispatch_uid="catalog.car_record_price_change")
cars_repriced.connect(cars_record_price_changes, sender=Car, dispatch_uid="catalog.cars_record_price_changes")
post_save.connect(car_forget_search_words, sender=Car, dispatch_uid="catalog.car_forget_search_words")
post_save.connect(brand_forget_search_words, sender=Brand, dispatch_uid="catalog.brand_forget_search_words")
