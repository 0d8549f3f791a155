"""Reads of the catalogue."""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Abs
from django.utils import timezone

from carsales.core.prepared import PreparedQuery

from .facts import sees_car_identity, sees_stock_details
from .models import Brand, BrandSlugHistory, Car, CarPhoto, CarStatus, CarVinReport, PriceChange
from .signals import CarNote, car_page_notes

logger = logging.getLogger(__name__)


def with_price_drop(cars: QuerySet[Car], *, cutoff: datetime | None = None) -> QuerySet[Car]:
    """Annotate `price_dropped_from`: the price before the car's last change when that change
    was a drop since `cutoff` (CARSALES_PRICE_DROP_DAYS ago), else None. One subquery, on an
    index. Only an available car shows it (a sold car advertises nothing)."""
    since = price_drop_cutoff() if cutoff is None else cutoff
    was = Case(
        When(Q(new_value__lt=F("old_value")) & Q(changed_at__gte=since), then=F("old_value")),
        default=None,
    )
    last_change = PriceChange.objects.filter(car=OuterRef("pk")).order_by("-changed_at", "-id")
    return cars.annotate(price_dropped_from=Subquery(last_change.annotate(was=was).values("was")[:1]))


def price_dropped_from(history: Sequence[PriceChange]) -> Decimal | None:
    """What with_price_drop annotates, for one car from its price history (car_price_history:
    latest first): a page showing the history needs no subquery for it."""
    last = history[0] if history else None
    if last is None or last.old_value is None or last.new_value is None:
        return None  # a listing, or a price taken off: no drop (NULL compares as false in SQL too)
    return last.old_value if last.new_value < last.old_value and last.changed_at >= price_drop_cutoff() else None


def price_drop_cutoff() -> datetime:
    return timezone.now() - timedelta(days=settings.CARSALES_PRICE_DROP_DAYS)


MAX_DAYS_IN_STOCK = 36_500  # a century: further back than any date the calendar arithmetic takes


def cars_in_stock_for(cars: QuerySet[Car], *, days: int) -> QuerySet[Car]:
    """Those of `cars` not sold and taken in at least `days` days ago."""
    return cars.exclude(status=CarStatus.SOLD).filter(created_at__lte=timezone.now() - timedelta(days=days))


def cars_longest_in_stock(*, days: int, limit: int) -> tuple[list[Car], int]:
    """Up to `limit` cars in stock for at least `days` days, longest first, and how many there are."""
    cars = cars_in_stock_for(Car.objects.with_brand(), days=days)
    return list(cars.order_by("created_at", "id")[:limit]), cars.count()


@dataclass(frozen=True)
class Slide:
    """One photo of a car's gallery as pages show it: the photo, and its WebP renditions once made."""

    src: str
    webp: str = ""
    strip: str = ""
    photo: CarPhoto | None = None  # None for the cover


def car_gallery(*, car: Car) -> list[Slide]:
    """The car's photos in order, cover first; one query."""
    slides = (
        [Slide(src=car.photo.url, strip=car.thumbnail.url if car.thumbnail else car.photo.url)] if car.photo else []
    )
    for photo in _GALLERY_PHOTOS.rows(car_id=car.pk):
        slides.append(
            Slide(
                src=photo.image.url,
                webp=photo.large.url if photo.large else "",
                strip=photo.small.url if photo.small else photo.image.url,
                photo=photo,
            )
        )
    return slides


def with_gallery_leads(cars: Iterable[Car]) -> list[Car]:
    """`cars`, each without a cover given its gallery's first photo as `gallery_lead` (None when
    its gallery is empty too), which a card shows in the cover's place: a car whose photos were
    all uploaded to the gallery, or whose cover was cleared, is not shown as having none. One
    query, and only when a car lacks a cover."""
    cars = list(cars)
    coverless = {car.pk: car for car in cars if not car.photo}
    for car in coverless.values():
        car.gallery_lead = None  # type: ignore[attr-defined]
    if coverless:
        # Each car's first photo only, found by the gallery-order index: not every photo of the page's cars.
        first = CarPhoto.objects.filter(car_id=OuterRef("car_id")).order_by("position", "id").values("pk")[:1]
        for photo in CarPhoto.objects.filter(car_id__in=coverless, pk=Subquery(first)):
            coverless[photo.car_id].gallery_lead = photo  # type: ignore[attr-defined]
    return cars


def gallery_refusal(*, car_id: int | None, adding: int) -> str | None:
    """Why `adding` more photos (fewer, when negative) do not fit in the car's gallery (None: a
    car being added, whose gallery is empty), or None."""
    limit = settings.CARSALES_GALLERY_MAX_PHOTOS
    held = CarPhoto.objects.filter(car_id=car_id).count() if car_id is not None else 0
    if adding > 0 and held + adding > limit:
        return f"A gallery holds {limit} photos; {max(limit - held, 0)} more fit."
    return None


def price_history_contradictions() -> list[str]:
    """Cars whose price is not where their price history ends, as sentences: every path that
    changes a price records it; a fixture writes rows as given, so `loaddata` asks this."""
    latest = PriceChange.objects.filter(car=OuterRef("pk")).order_by("-changed_at", "-pk")
    cars = Car.objects.annotate(recorded=Exists(latest), last=Subquery(latest.values("new_value")[:1]))
    differ = (
        Q(value__isnull=True, last__isnull=False)
        | Q(value__isnull=False, last__isnull=True)
        | (Q(value__isnull=False, last__isnull=False) & ~Q(value=F("last")))
    )
    return [
        f"car #{pk} is priced {value or 'on request'} but its price history ends at {last or 'on request'}"
        for pk, value, last in cars.filter(differ, recorded=True).values_list("pk", "value", "last")
    ]


def car_price_history(*, car: Car) -> list[PriceChange]:
    """The car's price changes, latest first (who made each is in its changed_by_name)."""
    return _PRICE_CHANGES.rows(car_id=car.pk)


def cars_visible_to(user: Any) -> QuerySet[Car]:
    """The cars whose page `user` may open (car_opens_for), as a queryset. Any other car is, to them, no car."""
    cars = Car.objects.all()
    return cars if sees_stock_details(user) else cars.exclude(status=CarStatus.WITHDRAWN)


def car_opens_for(car: Car, user: Any) -> bool:
    """Whether `user` may open `car`'s page: every car for stock staff; for anyone else every car
    but one withdrawn from sale (a sold car keeps its page)."""
    return car.status != CarStatus.WITHDRAWN or sees_stock_details(user)


def car_shown(*, pk: int) -> Car | None:
    """The car a car page shows, its brand joined in; None when there is none."""
    return _CAR_WITH_BRAND.first(pk=pk)


# The car page's reads, built once (core.prepared): an uncached car page runs them on every request.
_CAR_WITH_BRAND = PreparedQuery(lambda pk: Car.objects.with_brand().filter(pk=pk).order_by("pk")[:1], pk=int)
_PRICE_CHANGES = PreparedQuery(lambda car_id: PriceChange.objects.filter(car_id=car_id), car_id=int)
_GALLERY_PHOTOS = PreparedQuery(lambda car_id: CarPhoto.objects.filter(car_id=car_id), car_id=int)


def car_catalogue(*, include_unavailable: bool, price_drop_since: datetime | None = None) -> QuerySet[Car]:
    """The cars a catalogue lists before its filters (catalog.filters), newest first, brand joined
    in, so a page costs the same queries at any size.

    Buyers see available cars only; `include_unavailable` (staff) shows reserved, sold and
    withdrawn cars too.
    """
    cars = Car.objects.with_brand()
    if not include_unavailable:
        cars = cars.available()
    return with_price_drop(cars, cutoff=price_drop_since).order_by("-created_at", "-id")


def brand_list() -> QuerySet[Brand]:
    return Brand.objects.all()


def brands_with_car_count() -> QuerySet[Brand]:
    """Every brand with `car_count`, its cars of any state (each keeps its brand from deletion)."""
    return Brand.objects.annotate(car_count=Count("cars"))


def brands_offered(*, chosen: str | None) -> QuerySet[Brand]:
    """The brands a buyer may pick: those with a car on sale, and the one a link chose (a bookmark
    to a brand sold out finds no car, not an error). Staff pick among every brand (brand_list)."""
    on_sale = Q(pk__in=Car.objects.available().values("brand_id"))  # by the (status, created_at) index
    return Brand.objects.filter(on_sale | Q(slug=chosen) if chosen and _is_slug(chosen) else on_sale)


def brand_slug_renamed(*, slug: str) -> str | None:
    """The current slug of the brand that had `slug` before a rename, or None."""
    if not _is_slug(slug):
        return None
    return BrandSlugHistory.objects.filter(slug=slug).values_list("brand__slug", flat=True).first()


def _is_slug(text: str) -> bool:
    try:
        validate_unicode_slug(text)  # anything else (a NUL byte) was never a slug: no query with it
    except ValidationError:
        return False
    return True


SIMILAR_PRICE = Decimal("0.3")  # within 30% of its price: a car its buyer could afford instead


def car_similar(*, car: Car, limit: int = 4) -> QuerySet[Car]:
    """Up to `limit` available cars to offer instead of `car`, as its buyer would rank them: the
    same model; then those at a similar price (SIMILAR_PRICE), the same kind of car (body) and
    the same brand first; then the nearest in price (unpriced cars last). Brand joined in."""

    def first(condition: Q) -> Case:
        return Case(When(condition, then=Value(0)), default=Value(1))

    ordering: list[Combinable] = [first(Q(brand_id=car.brand_id, model=car.model))]
    if car.value is not None:
        spread = car.value * SIMILAR_PRICE
        ordering.append(first(Q(value__gte=car.value - spread, value__lte=car.value + spread)))
    if car.body:
        ordering.append(first(Q(body=car.body)))
    ordering.append(first(Q(brand_id=car.brand_id)))
    if car.value is not None:
        ordering.append(Abs(F("value") - car.value).asc(nulls_last=True))
    similar = with_price_drop(Car.objects.available().with_brand().exclude(pk=car.pk))
    return similar.order_by(*ordering, "-created_at", "-id")[:limit]


def car_vin_report_for(*, car: Car, user: Any) -> CarVinReport | None:
    """The decoding of the car's current VIN, for staff; None for others, or before it is decoded."""
    if not sees_car_identity(user):
        return None
    return CarVinReport.objects.filter(car=car, vin=car.vin).exclude(vin="").first()


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
