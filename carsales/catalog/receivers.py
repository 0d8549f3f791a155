"""Lifecycle hooks on `Car`, connected as model signals so that every save path — services,
admin, shell, fixtures excepted — gets them, not only the catalogue's own views.

Stock code and bio are filled in pre_save, in the save's own write. The files are outside
effects, so durable receivers handle them after commit, in a worker: the thumbnail on the
"images" queue, file deletions on "files", neither delaying the emails.
"""

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from carsales.events.durable import Event, durable_receiver

from .bio import write_bio
from .models import Car
from .services import (
    car_thumbnail_make,
    stock_code_generate,
    stored_files_delete,
    upload_mark_uncommitted,
    upload_name_foreseen,
)


def car_fill_defaults(sender: type[Car], instance: Car, raw: bool, **kwargs: Any) -> None:
    """Give a car without a stock code or bio its generated ones.

    Done in pre_save, not post_save: assigning a field after the row is written does not save
    it (the seed's claim that it does is false), while assigning it here is saved by this save.
    """
    if raw:
        return
    if not instance.stock_code:
        instance.stock_code = stock_code_generate()
    if not instance.bio.strip():
        instance.bio = write_bio(instance)


def car_note_photo_change(
    sender: type[Car], instance: Car, raw: bool, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    """Note whether the photo changes and which stored files the save lets go of.

    A changed photo drops its thumbnail in this same write: the row never pairs a photo with
    another photo's thumbnail, and pages show the photo until the new thumbnail is made.
    """
    instance._photo_changed = False  # type: ignore[attr-defined]
    instance._upload_marked = ""  # type: ignore[attr-defined]
    instance._released_files = []  # type: ignore[attr-defined]
    if raw or (update_fields is not None and "photo" not in update_fields):
        return
    stored = (
        Car.objects.filter(pk=instance.pk).values_list("photo", "thumbnail").first()
        if instance.pk and not instance._state.adding
        else None
    )
    new_upload = bool(instance.photo) and not instance.photo._committed
    if new_upload:
        # Django stores the upload during this save, before the commit; mark it first, so
        # neither a rollback nor a crash between storing and writing the row orphans it.
        instance._upload_marked = upload_mark_uncommitted(name=upload_name_foreseen(instance))  # type: ignore[attr-defined]
    if not new_upload and (stored or ("",))[0] == (instance.photo.name or ""):
        if stored is not None:  # the worker may have written it since this instance was read
            instance.thumbnail = stored[1]  # type: ignore[assignment]
        return
    instance._photo_changed = True  # type: ignore[attr-defined]
    instance._released_files = sorted(set(stored or ()) - {"", instance.photo.name})  # type: ignore[attr-defined]
    instance.thumbnail = ""  # type: ignore[assignment]


def car_mark_renamed_upload(sender: type[Car], instance: Car, raw: bool, **kwargs: Any) -> None:
    """The upload was stored under another name than foreseen (a name taken meanwhile): mark
    that name too, so a rollback orphans nothing."""
    intended = getattr(instance, "_upload_marked", "")
    if not raw and intended and instance.photo.name != intended:
        upload_mark_uncommitted(name=instance.photo.name)
    instance._upload_marked = ""  # type: ignore[attr-defined]


def car_note_thumbnail(sender: type[Car], instance: Car, **kwargs: Any) -> None:
    """Read the thumbnail's name before a delete: a worker may have written it after this
    instance was read, and post_delete carries the instance's values."""
    stored = Car.objects.filter(pk=instance.pk).values_list("thumbnail", flat=True).first()
    if stored is not None:
        instance.thumbnail = stored  # type: ignore[assignment]


def _photo_changed(kwargs: dict[str, Any]) -> bool:
    return not kwargs.get("raw") and getattr(kwargs["instance"], "_photo_changed", False)


@durable_receiver(
    post_save,
    sender=Car,
    dispatch_uid="catalog.make_thumbnail",
    queue="images",
    when=lambda kwargs: _photo_changed(kwargs) and bool(kwargs["instance"].photo),
    carries={"instance"},
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
    when=lambda kwargs: _photo_changed(kwargs) and bool(kwargs["instance"]._released_files),
    carries=(),
    adds=lambda kwargs: {"released": kwargs["instance"]._released_files},
)
def discard_replaced_files(event: Event) -> None:
    """Delete the previous photo and thumbnail, unless a car points at them again."""
    stored_files_delete(names=event.released)


@durable_receiver(
    post_delete,
    sender=Car,
    dispatch_uid="catalog.discard_deleted_car_files",
    queue="files",
    ordered=False,
    carries={"instance"},
)
def discard_deleted_car_files(event: Event) -> None:
    """Delete the deleted car's photo and thumbnail (the row's values as sent), unless in use."""
    stored_files_delete(names=[event.instance_data["photo"], event.instance_data["thumbnail"]])


pre_save.connect(car_fill_defaults, sender=Car, dispatch_uid="catalog.car_fill_defaults")
pre_save.connect(car_note_photo_change, sender=Car, dispatch_uid="catalog.car_note_photo_change")
post_save.connect(car_mark_renamed_upload, sender=Car, dispatch_uid="catalog.car_mark_renamed_upload")
pre_delete.connect(car_note_thumbnail, sender=Car, dispatch_uid="catalog.car_note_thumbnail")
