"""Reads of the catalogue."""

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db.models import Case, F, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Abs

from .models import Brand, BrandSlugHistory, Car
from .signals import CarNote, car_page_notes

logger = logging.getLogger(__name__)


def car_catalogue(*, include_unavailable: bool) -> QuerySet[Car]:
    """The cars a catalogue lists before its filters (catalog.filters), newest first, brand joined
    in, so a page costs the same queries at any size.

    Buyers see available cars only; `include_unavailable` (staff) shows reserved, sold and
    withdrawn cars too.
    """
    cars = Car.objects.with_brand()
    if not include_unavailable:
        cars = cars.available()
    return cars.order_by("-created_at", "-id")


def brand_list() -> QuerySet[Brand]:
    return Brand.objects.all()


def brand_slug_renamed(*, slug: str) -> str | None:
    """The current slug of the brand that had `slug` before a rename, or None."""
    try:
        validate_unicode_slug(slug)  # anything else (a NUL byte) was never a slug: no query
    except ValidationError:
        return None
    return BrandSlugHistory.objects.filter(slug=slug).values_list("brand__slug", flat=True).first()


def car_similar(*, car: Car, limit: int = 4) -> QuerySet[Car]:
    """Up to `limit` available cars to offer instead of `car`: its brand first, then the
    nearest in price (unpriced cars last), brand joined in."""
    ordering: list[Combinable] = [Case(When(brand_id=car.brand_id, then=Value(0)), default=Value(1))]
    if car.value is not None:
        ordering.append(Abs(F("value") - car.value).asc(nulls_last=True))
    similar = Car.objects.available().with_brand().exclude(pk=car.pk)
    return similar.order_by(*ordering, "-created_at", "-id")[:limit]


def car_notes_for(*, car: Car, user: Any) -> list[CarNote]:
    """What other apps have to say about `car` to this viewer (car_page_notes); a receiver that
    fails costs its note, logged with its traceback, never the page."""
    notes = []
    for receiver, note in car_page_notes.send_robust(sender=Car, car=car, user=user):
        if isinstance(note, Exception):
            logger.error("Car page note from %s failed", receiver, exc_info=note)
        elif isinstance(note, CarNote):
            notes.append(note)
    return notes
