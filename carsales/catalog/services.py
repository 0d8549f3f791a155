"""Writes to the catalogue. Each service is one transaction and validates before saving."""

import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.text import slugify

from .images import thumbnail_of
from .models import Brand, Car, CarStatus
from .tasks import stored_files_delete

STOCK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
STOCK_CODE_LENGTH = 10


class BrandInUse(Exception):
    """The brand still has cars, so deleting it would orphan them."""


def stock_code_generate() -> str:
    """Return a 10-character stock code no car has yet.

    32**10 codes make a clash vanishingly rare; the unique column rejects the one that slips by.
    """
    while True:
        code = "".join(secrets.choice(STOCK_CODE_ALPHABET) for _ in range(STOCK_CODE_LENGTH))
        if not Car.objects.filter(stock_code=code).exists():
            return code


def brand_slug_available(*, name: str) -> str:
    """Return a slug for `name` that no brand has yet: "mercedes-benz", else "mercedes-benz-2"...

    Raises ValidationError on `name` when it has no letter or digit to make a slug of. A made-up
    fallback ("brand-7") was the alternative; it would put a meaningless word in every link and
    filter of the brand, for a name that is almost always a slip of the keyboard.
    """
    max_length = Brand._meta.get_field("slug").max_length or 80
    base = slugify(name, allow_unicode=True)[:max_length]
    if not base:
        raise ValidationError({"name": "Give the brand a name with at least one letter or digit."})
    slug, number = base, 1
    while Brand.objects.filter(slug=slug).exists():
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
    status: str = CarStatus.AVAILABLE,
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
        status=status,
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
    values, leaving the stored row as it was.
    """
    unknown = set(changes) - {f.name for f in Car._meta.get_fields() if getattr(f, "editable", False)}
    if unknown:
        raise ValidationError(f"Unknown or read-only car fields: {', '.join(sorted(unknown))}.")
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
    car.delete()


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
