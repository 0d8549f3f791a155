"""Lifecycle hooks on `Car`, connected as model signals so that every save path — services,
admin, shell, fixtures excepted — gets them, not only the catalogue's own views."""

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save

from .bio import write_bio
from .models import Car
from .services import car_files_discard, car_thumbnail_refresh, stock_code_generate


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


def car_remember_stored_files(
    sender: type[Car], instance: Car, raw: bool, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    """Note which files the stored row points at, to tell after the save what was replaced."""
    if raw or (update_fields is not None and "photo" not in update_fields):
        instance._photo_changed = False  # type: ignore[attr-defined]
        return
    stored = (
        Car.objects.filter(pk=instance.pk).values_list("photo", "thumbnail").first()
        if instance.pk and not instance._state.adding
        else None
    )
    instance._stored_files = set(stored or ())  # type: ignore[attr-defined]
    new_upload = bool(instance.photo) and not instance.photo._committed
    instance._photo_changed = new_upload or (stored or ("",))[0] != (instance.photo.name or "")  # type: ignore[attr-defined]
    if not instance.photo:
        instance.thumbnail = ""  # type: ignore[assignment]


def car_make_thumbnail(sender: type[Car], instance: Car, raw: bool, **kwargs: Any) -> None:
    """Thumbnail a new photo and let go of the files the previous photo left behind."""
    if raw or not getattr(instance, "_photo_changed", False):
        return
    car_thumbnail_refresh(car=instance)
    stored: set[str] = getattr(instance, "_stored_files", set())
    car_files_discard(names=stored - {instance.photo.name, instance.thumbnail.name})
    instance._photo_changed = False  # type: ignore[attr-defined]


def car_discard_files(sender: type[Car], instance: Car, **kwargs: Any) -> None:
    car_files_discard(names={instance.photo.name, instance.thumbnail.name})


pre_save.connect(car_fill_defaults, sender=Car, dispatch_uid="catalog.car_fill_defaults")
pre_save.connect(car_remember_stored_files, sender=Car, dispatch_uid="catalog.car_remember_stored_files")
post_save.connect(car_make_thumbnail, sender=Car, dispatch_uid="catalog.car_make_thumbnail")
post_delete.connect(car_discard_files, sender=Car, dispatch_uid="catalog.car_discard_files")
