"""Reads of the catalogue."""

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Abs

from .models import Brand, BrandSlugHistory, Car
from .signals import CarNote, car_page_notes

logger = logging.getLogger(__name__)

CAR_ORDERINGS = {
    "newest": ("-created_at", "-id"),
    "price": ("value", "id"),
    "-price": ("-value", "id"),
    "year": ("model_year", "id"),
    "-year": ("-model_year", "id"),
}


@dataclass(frozen=True)
class CarFilters:
    search: str = ""  # words that must each be in the brand name or the model
    brand: str = ""  # brand slug
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    year_min: int | None = None
    year_max: int | None = None
    ordering: str = "newest"
    include_unavailable: bool = False


def car_list(*, filters: CarFilters) -> QuerySet[Car]:
    """Cars matching `filters`, brand joined in, so a page costs the same queries at any size.

    Buyers see available cars only; `include_unavailable` (staff) shows reserved and sold too.
    """
    cars = Car.objects.with_brand()
    if not filters.include_unavailable:
        cars = cars.available()
    # "honda civic" names the brand and the model at once, so each word is matched on its own.
    for word in filters.search.split():
        cars = cars.filter(Q(model__icontains=word) | Q(brand__name__icontains=word))
    if filters.brand:
        cars = cars.filter(brand__slug=filters.brand)
    if filters.price_min is not None:
        cars = cars.filter(value__gte=filters.price_min)
    if filters.price_max is not None:
        cars = cars.filter(value__lte=filters.price_max)
    if filters.year_min is not None:
        cars = cars.filter(model_year__gte=filters.year_min)
    if filters.year_max is not None:
        cars = cars.filter(model_year__lte=filters.year_max)
    return cars.order_by(*CAR_ORDERINGS.get(filters.ordering, CAR_ORDERINGS["newest"]))


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
