"""Writes to the catalogue. Each service is one transaction and validates before saving."""

import secrets
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.text import slugify

from .images import thumbnail_of
from .models import Brand, BrandSlugHistory, Car, CarStatus
from .signals import car_stock_moved
from .tasks import stored_files_delete

STOCK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
STOCK_CODE_LENGTH = 10


class BrandInUse(Exception):
    """The brand still has cars, so deleting it would orphan them."""


class CarInUse(Exception):
    """The car is on an order, which must keep it; the message says which, for staff."""


class StockError(Exception):
    """A car is not in the state a stock transition needs; the message names it, for the buyer."""


def stock_code_generate() -> str:
    """Return a 10-character stock code no car has yet.

    32**10 codes make a clash vanishingly rare; the unique column rejects the one that slips by.
    """
    while True:
        code = "".join(secrets.choice(STOCK_CODE_ALPHABET) for _ in range(STOCK_CODE_LENGTH))
        if not Car.objects.filter(stock_code=code).exists():
            return code


def brand_slug_available(*, name: str, brand: Brand | None = None) -> str:
    """Return a slug for `name` that no other brand has, nor had: "mercedes-benz", else "mercedes-benz-2"...

    `brand`, when renaming, may keep its own slug or take back one of its old ones.

    Raises ValidationError on `name` when it has no letter or digit to make a slug of. A made-up
    fallback ("brand-7") was the alternative; it would put a meaningless word in every link and
    filter of the brand, for a name that is almost always a slip of the keyboard.
    """
    max_length = Brand._meta.get_field("slug").max_length or 80
    base = slugify(name, allow_unicode=True)[:max_length]
    if not base:
        raise ValidationError({"name": "Give the brand a name with at least one letter or digit."})
    others = Brand.objects.exclude(pk=brand.pk) if brand else Brand.objects.all()
    old_slugs = BrandSlugHistory.objects.exclude(brand=brand) if brand else BrandSlugHistory.objects.all()
    slug, number = base, 1
    while others.filter(slug=slug).exists() or old_slugs.filter(slug=slug).exists():
        number += 1
        suffix = f"-{number}"
        slug = base[: max_length - len(suffix)] + suffix
    return slug


@transaction.atomic
def brand_create(*, name: str) -> Brand:
    """Create a brand with a slug of its own.

    Raises ValidationError, per field, when a brand of the same name in any case exists or the
    name cannot make a slug; nothing is saved then.
    """
    brand = Brand(name=name.strip())
    # The name is checked first: its errors are the ones a person can act on. The slug is made
    # to fit its field, so it needs no second check.
    brand.full_clean(exclude=["slug"])
    brand.slug = brand_slug_available(name=brand.name)
    try:
        with transaction.atomic():
            brand.save()
    except IntegrityError:
        # Only a brand added concurrently, with the same name or slug, gets here.
        raise ValidationError({"name": "A brand with this name was added at the same moment; try again."})
    return brand


@transaction.atomic
def brand_rename(*, brand: Brand, name: str) -> Brand:
    """Rename a brand; its slug follows the name and the old slug is kept, so old links still work.

    Raises ValidationError on `name` as brand_create does; nothing is saved then.
    """
    brand = Brand.objects.select_for_update().get(pk=brand.pk)
    brand.name = name.strip()
    brand.full_clean(exclude=["slug"])
    slug = brand_slug_available(name=brand.name, brand=brand)
    if slug != brand.slug:
        BrandSlugHistory.objects.filter(brand=brand, slug=slug).delete()  # taking an old slug back
        BrandSlugHistory.objects.create(brand=brand, slug=brand.slug)
        brand.slug = slug
    try:
        with transaction.atomic():
            brand.save()
    except IntegrityError:
        raise ValidationError({"name": "A brand with this name was added at the same moment; try again."})
    return brand


@transaction.atomic
def brand_delete(*, brand: Brand) -> None:
    """Delete a brand with no cars. Raises BrandInUse, with a message, if it still has some."""
    try:
        brand.delete()
    except ProtectedError as error:
        count = len(error.protected_objects)
        raise BrandInUse(
            f"{brand.name} still has {count} car{'s' if count != 1 else ''}; delete or move them first."
        ) from error


@transaction.atomic
def car_create(
    *,
    brand: Brand,
    model: str,
    factory_year: int,
    model_year: int,
    plate: str,
    value: Decimal | None = None,
    photo: File | None = None,
    bio: str = "",
) -> Car:
    """Create a car. Raises ValidationError (per field) for bad values; nothing is saved then."""
    car = Car(
        brand=brand,
        model=model,
        factory_year=factory_year,
        model_year=model_year,
        plate=plate.strip().upper(),
        value=value,
        bio=bio,
    )
    if photo:
        car.photo = photo  # type: ignore[assignment]
    car.full_clean()
    car.save()
    return car


@transaction.atomic
def car_update(*, car: Car, **changes: Any) -> Car:
    """Apply `changes` (field name → value) to `car` and save it.

    A `photo` of None keeps the current photo; False clears it. Raises ValidationError for bad
    values, leaving the stored row as it was, and Car.DoesNotExist when the car was deleted
    meanwhile: the row is locked first and only ever updated, so an edit never brings back a
    car someone else deleted.
    """
    unknown = set(changes) - {f.name for f in Car._meta.get_fields() if getattr(f, "editable", False)}
    if unknown:
        raise ValidationError(f"Unknown or read-only car fields: {', '.join(sorted(unknown))}.")
    Car.objects.select_for_update().only("pk").get(pk=car.pk)  # raises DoesNotExist when deleted
    for field, value in changes.items():
        if field == "photo":
            if value is None:
                continue
            value = value or ""
        if field == "plate":
            value = value.strip().upper()
        setattr(car, field, value)
    car.full_clean()
    car.save()
    return car


@transaction.atomic
def car_delete(*, car: Car) -> None:
    """Delete a car. Raises CarInUse, with a message, when an order holds it or once held it."""
    try:
        car.delete()
    except ProtectedError as error:
        orders = sorted({f"#{getattr(line, 'order_id', '?')}" for line in error.protected_objects})
        raise CarInUse(
            f"{car} is on order {', '.join(orders)}, which keeps it on record; it cannot be deleted."
        ) from error


def _cars_locked(car_ids: Collection[int]) -> list[Car]:
    """The cars with these ids, locked in id order so concurrent transitions queue, never deadlock."""
    return list(Car.objects.select_for_update().select_related("brand").filter(pk__in=car_ids).order_by("pk"))


def _cars_move(cars: list[Car], *, old: CarStatus, new: CarStatus) -> None:
    """Move these locked cars, all `old`, to `new` in one UPDATE and announce it."""
    if not cars:
        return
    car_ids = [car.pk for car in cars]
    Car.objects.filter(pk__in=car_ids).stock_move(to=new)
    for car in cars:
        car.status = car._loaded_status = new
    car_stock_moved.send(sender=Car, car_ids=car_ids, old_status=old, new_status=new)


@transaction.atomic
def cars_reserve(*, car_ids: Collection[int]) -> list[Car]:
    """Reserve available, priced cars for an order; returns them, locked, in id order.

    Raises StockError naming every car that is gone, no longer available or not priced; then
    nothing is reserved.
    """
    cars = _cars_locked(car_ids)
    problems = [f"{car} is no longer available" for car in cars if not car.is_available]
    problems += [f"{car} has no price yet (price on request)" for car in cars if car.is_available and car.value is None]
    missing = len(set(car_ids)) - len(cars)
    if missing:
        problems.append(f"{missing} car{'s' if missing > 1 else ''} left the catalogue")
    if problems:
        raise StockError("; ".join(problems) + ".")
    _cars_move(cars, old=CarStatus.AVAILABLE, new=CarStatus.RESERVED)
    return cars


@transaction.atomic
def cars_sell(*, car_ids: Collection[int]) -> list[Car]:
    """Mark reserved cars sold. Raises StockError, selling none, if any is not reserved."""
    cars = _cars_locked(car_ids)
    wrong = [f"{car} is {car.get_status_display().lower()}" for car in cars if car.status != CarStatus.RESERVED]
    if wrong or len(cars) != len(set(car_ids)):
        raise StockError(f"Only reserved cars can be sold: {'; '.join(wrong) or 'a car is missing'}.")
    _cars_move(cars, old=CarStatus.RESERVED, new=CarStatus.SOLD)
    return cars


@transaction.atomic
def cars_release(*, car_ids: Collection[int], held_as: CarStatus) -> list[Car]:
    """Put back on sale those of these cars that are `held_as` (reserved or sold); returns them.

    A car in any other state is left alone: a cancelled reservation never puts a sold car
    back on sale.
    """
    cars = [car for car in _cars_locked(car_ids) if car.status == held_as]
    _cars_move(cars, old=held_as, new=CarStatus.AVAILABLE)
    return cars


def car_thumbnail_refresh(*, car: Car) -> None:
    """Make the thumbnail for the car's current photo and store it without re-saving the car.

    Stored with a queryset update() so no save signal fires again (no recursion), then set on
    `car` too, so the caller's instance matches the row and a later save() keeps it.
    """
    if not car.photo:
        name = ""
    else:
        thumbnail = thumbnail_of(car.photo, max_side=settings.CARSALES_THUMBNAIL_SIZE)
        if thumbnail is None:
            name = car.photo.name
        else:
            stem = car.photo.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            name = car.thumbnail.storage.save(f"cars/thumbnails/{stem}.jpg", thumbnail)
    Car.objects.filter(pk=car.pk).update(thumbnail=name)
    car.thumbnail.name = name


def car_files_discard(*, names: set[str]) -> None:
    """Delete these stored files once the current transaction commits, in the background."""
    names = {name for name in names if name}
    if names:
        stored_files_delete.enqueue(names=sorted(names))
