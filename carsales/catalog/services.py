"""Writes to the catalogue. Each service is one transaction; it validates what the database does
not enforce before saving, and says per field what the database refused (_refusal_explained)."""

import hashlib
import secrets
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connections, router, transaction
from django.db.models import FileField, Max, Model, ProtectedError, Q, QuerySet
from django.db.models.deletion import Collector
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.text import get_text_list, slugify

from carsales.core.db import IDS_PER_STATEMENT, insert_select, insert_soon, one_round_trip, pks_in, values_stored
from carsales.core.gone import stored_or_gone

from .bio import write_bio
from .images import thumbnail_of, webp_of
from .models import (
    VEHICLE_FACTS,
    Brand,
    BrandSlugHistory,
    Car,
    CarPhoto,
    CarStatus,
    CarVinReport,
    CatalogueVersion,
    PriceChange,
    brand_writes_wait,
    bulk_counted,
    car_field_choice_label,
    car_field_label,
    folded,
    plate_as_stored,
    price_history_written,
)
from .selectors import gallery_refusal
from .signals import PriceMove, car_stock_moved, cars_added
from .validators import validate_image_upload
from .vin import body_from_vin, doors_from_vin, transmission_from_vin, vin_decode
from .vocabulary import search_vocabulary_forget

STOCK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
STOCK_CODE_LENGTH = 10
# A random byte's low five bits pick one of the 32 symbols, each as likely (256 = 8 x 32): a whole
# batch of codes is one draw of the OS's randomness (as secrets draws it) and one translate.
_BYTE_TO_SYMBOL = bytes.maketrans(bytes(range(256)), (STOCK_CODE_ALPHABET * 8).encode())


class BrandInUse(Exception):
    """The brand still has cars, so deleting it would orphan them."""


class CarInUse(Exception):
    """The car is on an order, which must keep it; the message says which, for staff."""


class StockError(Exception):
    """A car is not in the state a stock transition needs; the message names it, for the buyer.
    `refused`: how many of the cars asked for the transition refuses."""

    def __init__(self, message: str, *, refused: int = 1) -> None:
        super().__init__(message)
        self.refused = refused


def _random_stock_codes(count: int) -> set[str]:
    symbols = secrets.token_bytes(count * STOCK_CODE_LENGTH).translate(_BYTE_TO_SYMBOL).decode()
    return {symbols[start : start + STOCK_CODE_LENGTH] for start in range(0, len(symbols), STOCK_CODE_LENGTH)}


def stock_code_generate() -> str:
    """Return a random 10-character stock code, checked by no query.

    32**10 codes make a clash vanishingly rare (one in ten billion per car at 100,000 cars): the
    unique column rejects it, failing that one save, rather than every save paying a lookup.
    """
    return _random_stock_codes(1).pop()


def stock_codes_generate(count: int) -> list[str]:
    """`count` distinct stock codes no car has yet, checked a thousand at a time."""
    codes: set[str] = set()
    while len(codes) < count:
        fresh = _random_stock_codes(min(count - len(codes), 1000)) - codes
        codes |= fresh - values_stored(Car, "stock_code", fresh)
    return sorted(codes)


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
    return _brand_store(brand)


def _brand_store(brand: Brand) -> Brand:
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
    brand_writes_wait()  # before the brand's row is locked, as every brand write
    brand = stored_or_gone(Brand.objects.select_for_update(), pk=brand.pk)
    brand.name = name.strip()
    brand.full_clean(exclude=["slug"])
    slug = brand_slug_available(name=brand.name, brand=brand)
    if slug != brand.slug:
        with BrandSlugHistory.own_writes.opened():
            BrandSlugHistory.objects.filter(brand=brand, slug=slug).delete()  # taking an old slug back
            BrandSlugHistory.objects.create(brand=brand, slug=brand.slug)
        brand.slug = slug
    return _brand_store(brand)


def brand_old_slug_forget(*, old_slugs: QuerySet[BrandSlugHistory]) -> int:
    """Forget these old slugs: links made with them lead nowhere, and a new brand may take one.
    Returns how many were forgotten."""
    with BrandSlugHistory.own_writes.opened():
        return old_slugs.delete()[0]


def brand_leaving(*, brand_id: int) -> None:
    """What a brand's deletion (by any path) must find as stored: Django looked for the brand's
    cars before it deletes, unlocked, so a car added to it (or moved to it) meanwhile was unseen,
    a foreign-key error at commit. Here, once the car writes under way have ended
    (brand_writes_wait), a car of the brand found now refuses the deletion (ProtectedError, as
    Django's own check would have)."""
    brand_writes_wait()
    cars = list(Car.objects.filter(brand_id=brand_id).select_related("brand"))  # those added meanwhile: few
    if cars:
        raise ProtectedError(_brand_in_use(cars[0].brand, cars), set(cars))


@transaction.atomic
def brand_delete(*, brand: Brand) -> None:
    """Delete a brand with no cars. Raises BrandInUse, with a message, if it still has some."""
    try:
        brand.delete()
    except ProtectedError as error:
        raise BrandInUse(_brand_in_use(brand, error.protected_objects)) from error


def brand_delete_refusal(*, brand: Brand) -> str | None:
    """Why brand_delete would refuse this brand now (its cars), or None: asked before staff confirm."""
    return _deletion_refused(brand, lambda keeping: _brand_in_use(brand, keeping))


def _brand_in_use(brand: Brand, cars: Collection[Any]) -> str:
    return f"{brand.name} still has {len(cars)} car{'s' if len(cars) != 1 else ''}; delete or move them first."


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
    **facts: Any,
) -> Car:
    """Create a car; `facts` are its vehicle data (VEHICLE_FACTS: mileage, fuel, vin...).

    Raises ValidationError (per field) for bad values; nothing is saved then.
    """
    unknown = set(facts) - set(VEHICLE_FACTS)
    if unknown:
        raise ValidationError(f"Unknown car fields: {', '.join(sorted(unknown))}.")
    car = Car(
        brand=brand,
        model=model,
        factory_year=factory_year,
        model_year=model_year,
        plate=plate,  # as stored once cleaned (Car.clean_fields)
        value=value,
        bio=bio,
        **facts,
    )
    if photo:
        car.photo = photo  # type: ignore[assignment]
    return car_insert(car)


def car_insert(car: Car) -> Car:
    """Save a new `car` built by a form, the admin's included; ValidationError (per field) as car_create."""
    with _refusal_explained(car):
        car.save()
    return car


@contextmanager
def _refusal_explained(
    car: Car, *, locked: Callable[[], AbstractContextManager[Any]] = nullcontext, brand_as_stored: bool = False
) -> Iterator[None]:
    """Check `car` as full_clean() would, but for what the database enforces anyway (the brand
    exists, the plate and VIN are unique): checked before the write, each costs a query on every
    save, and still races a concurrent one. When the database refuses, Django's own checks say
    why, per field, after the refused write is rolled back (its transaction, or its savepoint
    inside a caller's). `locked()` is entered first, inside the same transaction: the check sees
    what it set on `car` (the row as stored, locked); `brand_as_stored`: the brand among it."""
    # A brand instance was fetched by whoever passed it; one gone meanwhile fails the foreign key,
    # which Django declares deferred: refused at COMMIT. Inside a caller's transaction that COMMIT
    # is the caller's, so there the brand is still checked first.
    # A brand read with the car's locked row needs no check either: a brand keeping a car cannot be deleted.
    in_callers_transaction = transaction.get_connection().in_atomic_block
    adding = car._state.adding
    try:
        with transaction.atomic(), locked():
            trusted_brand = car.brand_id is not None and (brand_as_stored or not in_callers_transaction)
            car.full_clean(
                exclude=["brand"] if trusted_brand else None, validate_unique=False, validate_constraints=False
            )
            yield
    except IntegrityError:
        if adding:  # a refusal at COMMIT comes after the INSERT gave the instance its id
            car.pk, car._state.adding = None, True
        car.full_clean()  # the refusal, said per field
        raise  # a refusal no check explains: not the car's values (a bug, never a form error)


def car_update(*, car: Car, **changes: Any) -> Car:
    """Apply `changes` (field name → value) to `car` and save them: only them, so what another
    request changed meanwhile in the other fields stands (`car` may have been read before it).

    A `photo` of None keeps the current photo; False clears it. Raises ValidationError for bad
    values, leaving the stored row as it was, and Car.DoesNotExist when the car was deleted
    meanwhile: the row is locked first and only ever updated, so an edit never brings back a
    car someone else deleted.
    """
    unknown = set(changes) - {f.name for f in Car._meta.get_fields() if getattr(f, "editable", False)}
    if unknown:
        raise ValidationError(f"Unknown or read-only car fields: {', '.join(sorted(unknown))}.")
    written = {"updated_at"}
    for field, value in changes.items():
        if field == "photo":
            if value is None:
                continue
            value = value or ""
            written |= PHOTO_DERIVED  # made anew for a new photo (the receivers of its save)
        setattr(car, field, value)
        written.add(field)
    # The fields not written, as the locked row holds them (read with it): checked with the changes,
    # the row is what the save leaves, whatever the copy held (a later model year, meanwhile). Its
    # state stays the copy's: a save never writes it, and the state guard watches the instance's.
    kept = [
        f.attname
        for f in Car._meta.concrete_fields
        if f.name not in written and not f.primary_key and f.name not in Car.STATE_FIELDS
    ]
    # DoesNotExist when deleted; the receivers read the row this lock read.
    locked = partial(Car.stored.locked, car, refresh=kept)
    with _refusal_explained(car, locked=locked, brand_as_stored="brand" not in written):
        car.save(update_fields=written)
    return car


# The fields a car's save derives from its photo.
PHOTO_DERIVED = frozenset({"thumbnail", "thumbnail_webp"})


@transaction.atomic
def car_delete(*, car: Car) -> None:
    """Delete a car. Raises CarInUse, with a message, when an order holds it or once held it
    (a checkout's line committed while the delete waited for the car's row: Car.delete locks it
    before the order lines are looked for)."""
    try:
        car.delete()
    except ProtectedError as error:
        raise CarInUse(_in_use(car, error.protected_objects)) from error


def car_delete_refusal(*, car: Car) -> str | None:
    """Why car_delete would refuse this car now (the orders keeping it), or None: asked before
    staff confirm a deletion."""
    return _deletion_refused(car, lambda keeping: _in_use(car, keeping))


def _deletion_refused(row: Model, explain: Callable[[Collection[Any]], str]) -> str | None:
    """`explain(the rows protecting it)` when deleting `row` would be refused now, else None. Found
    as the deletion finds them (Django's collector, which reads and deletes nothing), so the
    catalogue names no app that keeps its rows."""
    collector = Collector(using=router.db_for_write(type(row)))
    try:
        collector.collect([row])
    except ProtectedError as error:
        return explain(error.protected_objects)
    return None


def _in_use(car: Car, keeping: Iterable[Any]) -> str:
    orders = [f"#{number}" for number in sorted({getattr(line, "order_id", 0) for line in keeping})]
    if len(orders) == 1:
        return f"{car} is on order {orders[0]}, which keeps it on record; it cannot be deleted."
    return f"{car} is on orders {get_text_list(orders, 'and')}, which keep it on record; it cannot be deleted."


def _cars_locked(car_ids: Collection[int]) -> list[Car]:
    """The cars with these ids, locked in id order so concurrent transitions queue, never deadlock."""
    # of=("self",): the brand is read for messages, not locked (a car added to it must not wait).
    return list(
        Car.objects.select_for_update(of=("self",)).select_related("brand").filter(pk__in=car_ids).order_by("pk")
    )


def _cars_move(cars: list[Car], *, old: CarStatus, new: CarStatus) -> None:
    """Move these locked cars, all `old`, to `new` in one UPDATE and announce it."""
    if not cars:
        return
    car_ids = [car.pk for car in cars]
    Car.objects.filter(pk__in=car_ids).state_write(status=new, updated_at=timezone.now())
    for car in cars:
        car.status = new
        car._remember_state()
    value = sum((car.value or Decimal(0) for car in cars), Decimal(0))  # the locked rows' own values
    # What its receivers derive (the catalogue's version, the totals and their snapshot) goes in one
    # round trip, as a save's does (PostgreSQL).
    with one_round_trip(router.db_for_write(Car)):
        car_stock_moved.send(sender=Car, car_ids=car_ids, old_status=old, new_status=new, value=value)


# The transitions below join the caller's transaction without a savepoint, which an order's
# transition would pay for on every checkout: a refusal is raised after the block, having
# written nothing, so it leaves the caller's transaction usable.


# Said to a buyer whose checkout meets a car off sale: a reservation may end, so not "gone".
OFF_SALE = {
    CarStatus.RESERVED: "is reserved by another buyer for now",
    CarStatus.SOLD: "has been sold",
    CarStatus.WITHDRAWN: "has been taken off sale",
}


def cars_reserve(*, car_ids: Collection[int]) -> list[Car]:
    """Reserve available, priced cars for an order; returns them, locked, in id order.

    Raises StockError naming every car that is gone, not available (saying why: OFF_SALE) or not
    priced, in the order of `car_ids` (a cart's); then nothing is reserved.
    """
    with transaction.atomic(savepoint=False):
        cars = _cars_locked(car_ids)
        asked = {car_id: place for place, car_id in enumerate(car_ids)}
        refused = sorted((car for car in cars if not car.is_available or car.value is None), key=lambda c: asked[c.pk])
        problems = [
            f"{car} {OFF_SALE[CarStatus(car.status)]}"
            if not car.is_available
            else f"{car} has no price yet (price on request)"
            for car in refused
        ]
        missing = len(set(car_ids)) - len(cars)
        if missing:
            problems.append(f"{missing} car{'s' if missing > 1 else ''} left the catalogue")
        if not problems:
            _cars_move(cars, old=CarStatus.AVAILABLE, new=CarStatus.RESERVED)
    if problems:
        raise StockError("; ".join(problems) + ".", refused=len(refused) + missing)
    return cars


def cars_sell(*, car_ids: Collection[int]) -> list[Car]:
    """Mark reserved cars sold. Raises StockError, selling none, if any is not reserved."""
    with transaction.atomic(savepoint=False):
        cars = _cars_locked(car_ids)
        wrong = [f"{car} is {car.get_status_display().lower()}" for car in cars if car.status != CarStatus.RESERVED]
        refused = bool(wrong) or len(cars) != len(set(car_ids))
        if not refused:
            _cars_move(cars, old=CarStatus.RESERVED, new=CarStatus.SOLD)
    if refused:
        raise StockError(f"Only reserved cars can be sold: {'; '.join(wrong) or 'a car is missing'}.")
    return cars


@transaction.atomic(savepoint=False)
def cars_release(*, car_ids: Collection[int], held_as: CarStatus) -> list[Car]:
    """Put back on sale those of these cars that are `held_as` (reserved or sold); returns them.

    A car in any other state is left alone: a cancelled reservation never puts a sold car
    back on sale.
    """
    cars = [car for car in _cars_locked(car_ids) if car.status == held_as]
    _cars_move(cars, old=held_as, new=CarStatus.AVAILABLE)
    return cars


def car_bio_fill(*, car_id: int) -> str | None:
    """Write the sales text of a car that has none; returns it, or None when there is nothing
    to do (the car is gone, or has a text by now: staff typed one, or an earlier run wrote it).

    Runs outside any transaction (in a worker): the writer may wait seconds for a language
    model. Stored with an UPDATE that only fills an empty text, so what staff typed meanwhile is
    never overwritten and a second run writes nothing. Django's plain update: the system's text
    for a car that had none is no edit anyone made, for the audit log (cars_edited) to list.
    """
    car = Car.objects.with_brand().filter(pk=car_id, bio="").first()
    if car is None:
        return None
    text = write_bio(car)
    with transaction.atomic():
        filled = QuerySet.update(Car.objects.filter(pk=car_id, bio=""), bio=text)
        if filled:
            CatalogueVersion.bump()  # after the write, as CarQuerySet.update bumps it
    return text if filled else None


def price_change_record(*, car: Car, old: Decimal | None, new: Decimal | None, actor: Any) -> None:
    """Record that `car`'s price went from `old` to `new`, by `actor` (None: a shell or a job);
    with the rest of a save's derived data in one round trip (core.db.write_soon)."""
    name = actor.get_username() if actor else ""
    insert_soon(PriceChange(car=car, old_value=old, new_value=new, changed_by=actor, changed_by_name=name))


def price_changes_record(*, moves: list[PriceMove], actor: Any) -> int:
    """Record the price moves of a bulk write, by `actor`, in one INSERT per thousand; returns how many."""
    name = actor.get_username() if actor else ""
    rows = [
        PriceChange(car=move.car, old_value=move.old, new_value=move.new, changed_by=actor, changed_by_name=name)
        for move in moves
    ]
    with price_history_written():
        return len(PriceChange.objects.bulk_create(rows, batch_size=1000))


def _same_maker(manufacturer: str, brand: str) -> bool:
    """ "Fiat Automobiles" is Fiat, "Mercedes-Benz" is Mercedes; "Kia" is not Honda."""
    manufacturer, brand = folded(manufacturer), folded(brand)
    return brand in manufacturer or manufacturer.split()[0] in brand


@transaction.atomic
def car_vin_decode(*, car_id: int, vin: str) -> CarVinReport | None:
    """Decode the VIN car `car_id` was saved with, offline: fill in the facts staff left blank,
    never one they typed, and report what the VIN says against the car, for staff.

    Does nothing when the car is gone or its VIN changed since (the change has its own run); a
    cleared VIN drops the report. Run again for the same VIN, it fills nothing more and keeps
    the report (what was filled stays listed): at least once is once.
    """
    car = Car.objects.select_for_update(of=("self",)).select_related("brand").filter(pk=car_id).first()
    if car is None or car.vin != vin:
        return None
    if not vin:
        with CarVinReport.own_writes.opened():
            CarVinReport.objects.filter(car=car).delete()
        return None
    earlier = CarVinReport.objects.filter(car=car, vin=vin).first()
    try:
        facts = vin_decode(vin)
    except ValueError as unknown:
        with CarVinReport.own_writes.opened():
            report, _ = CarVinReport.objects.update_or_create(
                car=car,
                defaults={"vin": vin, "manufacturer": "", "country": "", "model_years": [], "details": {},
                          "filled": [], "disagreements": [], "problem": str(unknown)},
            )  # fmt: skip
        return report
    body_text = facts.details.get("Body", "")
    from_vin: dict[str, Any] = {
        "body": body_from_vin(body_text),
        "doors": doors_from_vin(body_text),
        "transmission": transmission_from_vin(facts.details.get("Transmission", "")),
    }
    fill, disagreements = {}, []
    for name, value in from_vin.items():
        stated = getattr(car, name)
        if not value or stated == value:
            continue
        if stated in ("", None):
            fill[name] = value
        else:
            disagreements.append(
                f"{car_field_label(name).capitalize()}: the VIN says {car_field_choice_label(name, value)}, "
                f"the car says {car_field_choice_label(name, stated)}."
            )
    if not _same_maker(facts.manufacturer, car.brand.name):
        disagreements.append(f"Maker: the VIN is of a {facts.manufacturer}, the brand chosen is {car.brand.name}.")
    if facts.model_years and car.model_year not in facts.model_years:
        years = " or ".join(map(str, sorted(facts.model_years)))
        disagreements.append(f"Model year: the VIN says {years}, the car says {car.model_year}.")
    if fill:
        for name, value in fill.items():
            setattr(car, name, value)
        car.save(update_fields=[*fill, "updated_at"])
    with CarVinReport.own_writes.opened():
        report, _ = CarVinReport.objects.update_or_create(
            car=car,
            defaults={
                "vin": vin,
                "manufacturer": facts.manufacturer,
                "country": facts.country,
                "model_years": list(facts.model_years),
                "details": facts.details,
                "filled": sorted({*fill, *(earlier.filled if earlier else [])}),
                "disagreements": disagreements,
                "problem": "",
            },
        )
    return report


@transaction.atomic
def cars_withdraw(*, car_ids: Collection[int]) -> list[Car]:
    """Take available cars off sale (staff); returns them. Raises StockError, withdrawing none,
    naming every car that is not available (reserved or sold: an order holds it)."""
    return _cars_switch(car_ids, old=CarStatus.AVAILABLE, new=CarStatus.WITHDRAWN, verb="withdrawn")


@transaction.atomic
def cars_relist(*, car_ids: Collection[int]) -> list[Car]:
    """Put withdrawn cars back on sale; returns them. Raises StockError, relisting none, naming
    every car that is not withdrawn."""
    return _cars_switch(car_ids, old=CarStatus.WITHDRAWN, new=CarStatus.AVAILABLE, verb="relisted")


def _cars_switch(car_ids: Collection[int], *, old: CarStatus, new: CarStatus, verb: str) -> list[Car]:
    cars = _cars_locked(car_ids)
    wrong = [f"{car} is {car.get_status_display().lower()}" for car in cars if car.status != old]
    if wrong or len(cars) != len(set(car_ids)):
        missing = ["a car left the catalogue"] if len(cars) != len(set(car_ids)) else []
        raise StockError(f"Only {old.label.lower()} cars can be {verb}: {'; '.join(wrong + missing)}.")
    _cars_move(cars, old=old, new=new)
    return cars


def _thumbnail_name(photo: str, suffix: str = ".jpg") -> str:
    """The thumbnail's name for `photo`: derived from it, so a retry writes no second file.

    A digest of the full photo name (plus the stored photo's size, should the name be reused
    for a new upload while the old thumbnail still awaits deletion) keeps two photos from ever
    sharing one thumbnail file.
    """
    size = default_storage.size(photo) if default_storage.exists(photo) else 0
    digest = hashlib.sha256(f"{photo}:{size}".encode()).hexdigest()[:12]
    return _derived_name("cars/thumbnails/", photo, f"{digest}{suffix}", Car._meta.get_field("thumbnail"))


def _derived_name(folder: str, source: str, tag: str, field: Any) -> str:
    """`folder` + the stem of `source` + "-" + `tag` (a digest keeping it unique), the stem cut so
    that the name fits `field`'s column: a photo's long name must not fail its renditions."""
    room = field.max_length - len(folder) - len(tag) - 1
    return f"{folder}{Path(source).stem[: max(room, 0)]}-{tag}"


def car_thumbnail_make(*, car_id: int, photo: str) -> str | None:
    """Make the thumbnail of the car's photo `photo` and store it without re-saving the car.

    Args:
        car_id: the car.
        photo: the photo's name when its change was saved; nothing is done when the car's photo
            is another by now (the newer photo's own event makes its thumbnail).
    Makes its WebP twin (`thumbnail_webp`) in the same go.
    Returns the thumbnail's name (the photo itself when it is already small), or None when the
    car is gone or its photo changed. Stored with a queryset update(), so no save signal fires
    (no recursion), and only while the row still has this photo and no thumbnail; a thumbnail
    made for a photo replaced meanwhile is discarded. Idempotent: a second call finds the
    thumbnail set, or its file written. Raises the storage's or Pillow's errors (retried).
    """
    car = Car.objects.filter(pk=car_id).only("pk", "photo", "thumbnail").first()
    if car is None or not photo or car.photo.name != photo:
        return None
    if car.thumbnail.name:
        return car.thumbnail.name
    thumbnail = thumbnail_of(car.photo, max_side=settings.CARSALES_THUMBNAIL_SIZE)
    column = Car._meta.get_field("thumbnail")
    name = photo
    if thumbnail is not None:
        name = _stored_once(_thumbnail_name(photo), thumbnail, column)
    webp = _stored_once(
        _thumbnail_name(photo, suffix=".webp"), webp_of(car.photo, max_side=settings.CARSALES_THUMBNAIL_SIZE), column
    )
    if Car.objects.filter(pk=car_id, photo=photo, thumbnail="").update(thumbnail=name, thumbnail_webp=webp):
        _check_still_stored(Car.objects.filter(pk=car_id), {"thumbnail": name, "thumbnail_webp": webp})
        return name
    stored_files_delete(names=[webp, *([name] if name != photo else [])])
    return None


def _stored_once(name: str, content: ContentFile, field: Any) -> str:
    """Store `content` under `name`, unless an attempt that failed after writing it did already;
    a name the storage must change to store it is kept within `field`'s column."""
    return name if default_storage.exists(name) else default_storage.save(name, content, max_length=field.max_length)


def stored_files_delete(*, names: Collection[str]) -> int:
    """Delete the stored files among `names` that no car nor gallery photo refers to; returns how
    many were deleted.

    A row may point at a file again by now (a photo re-used, a racing edit): those are kept.
    Idempotent: a file already gone is skipped. Raises the storage's errors.
    """
    names = sorted({name for name in names if name})
    in_use: set[str] = set()
    step = IDS_PER_STATEMENT // 6  # each name is bound six times below (SQLite's limit on parameters)
    for chunk in (names[start : start + step] for start in range(0, len(names), step)):
        cars = Car.objects.filter(Q(photo__in=chunk) | Q(thumbnail__in=chunk) | Q(thumbnail_webp__in=chunk))
        photos = CarPhoto.objects.filter(Q(image__in=chunk) | Q(large__in=chunk) | Q(small__in=chunk))
        rows = [
            *cars.values_list("photo", "thumbnail", "thumbnail_webp"),
            *photos.values_list("image", "large", "small"),
        ]
        in_use.update(name for row in rows for name in row)
    deleted = 0
    for name in names:
        if name not in in_use and default_storage.exists(name):
            default_storage.delete(name)
            deleted += 1
    return deleted


UNCOMMITTED_DIR = "cars/uncommitted"


def upload_name_foreseen(instance: Car | CarPhoto, field_name: str = "photo") -> str:
    """The name under which storage will keep the instance's new, not yet stored, upload."""
    field = cast(FileField, type(instance)._meta.get_field(field_name))
    name = field.generate_filename(instance, getattr(instance, field_name).name)
    return default_storage.get_available_name(name, max_length=field.max_length)


def upload_mark_uncommitted(*, name: str) -> str:
    """Note that the stored file `name` belongs to a save not yet committed.

    Django writes an upload to storage during the save, before the transaction commits, and
    has no hook for a rollback. So a marker file is written beside it (storage, unlike the
    database, keeps it through a rollback) and removed once the transaction commits; a marker
    still there after CARSALES_UNCOMMITTED_UPLOAD_GRACE seconds names an orphan, which
    uncommitted_uploads_sweep deletes. Returns `name`.
    """
    marker = default_storage.save(f"{UNCOMMITTED_DIR}/{secrets.token_hex(8)}.txt", ContentFile(name.encode()))
    transaction.on_commit(lambda: default_storage.delete(marker))
    return name


def uncommitted_uploads_sweep(*, older_than: float | None = None) -> int:
    """Delete uploads whose save never committed; returns how many files were deleted.

    Args:
        older_than: seconds a marker must have existed (default CARSALES_UNCOMMITTED_UPLOAD_GRACE,
            longer than any transaction, so a save still in progress is never touched).
    A file some car points at is kept (its save did commit, and only the marker's removal was
    lost, e.g. to a crash). Run by every events worker after its sweep (EVENTS["HOUSEKEEPING"]).
    """
    grace = settings.CARSALES_UNCOMMITTED_UPLOAD_GRACE if older_than is None else older_than
    if not default_storage.exists(UNCOMMITTED_DIR):
        return 0
    cutoff = timezone.now() - timedelta(seconds=grace)
    deleted = 0
    for marker_name in default_storage.listdir(UNCOMMITTED_DIR)[1]:
        marker = f"{UNCOMMITTED_DIR}/{marker_name}"
        if default_storage.get_modified_time(marker) > cutoff:
            continue
        with default_storage.open(marker, "rb") as handle:
            upload = handle.read().decode()
        deleted += stored_files_delete(names=[upload])
        default_storage.delete(marker)
    return deleted


def _car_locked(car: Car) -> Car:
    """The car's row, locked: gallery changes of one car queue. Raises Car.DoesNotExist, marked
    as deleted meanwhile (core.gone: a 404), when another request deleted it."""
    return stored_or_gone(Car.objects.select_for_update(of=("self",)), pk=car.pk)


@transaction.atomic
def car_photos_add(*, car: Car, files: Sequence[File]) -> list[CarPhoto]:
    """Add photos to the end of the car's gallery, in the order given; returns them.

    Raises ValidationError on "photos", naming each file refused (type, size, pixels) or the
    gallery's limit (CARSALES_GALLERY_MAX_PHOTOS); then none is added. Raises Car.DoesNotExist
    when the car was deleted meanwhile.
    """
    _car_locked(car)
    held = CarPhoto.objects.filter(car_id=car.pk)
    full = gallery_refusal(car_id=car.pk, adding=len(files))
    problems = [full] if full else []
    if len(files) > settings.CARSALES_GALLERY_UPLOAD_BATCH:
        problems.append(f"Upload at most {settings.CARSALES_GALLERY_UPLOAD_BATCH} photos at once.")
    for file in files:
        try:
            validate_image_upload(file)
        except ValidationError as refusal:
            problems.append(f"{file.name}: {' '.join(refusal.messages)}")
    if problems:
        raise ValidationError({"photos": problems})
    position = (held.aggregate(last=Max("position"))["last"] or 0) + 1 if held.exists() else 0
    added = []
    for offset, file in enumerate(files):
        photo = CarPhoto(car_id=car.pk, position=position + offset)
        photo.image = file  # type: ignore[assignment]
        photo.save()  # published and marked as uncommitted by the receivers, on every path
        added.append(photo)
    return added


@transaction.atomic
def car_photo_delete(*, photo: CarPhoto) -> None:
    """Take a photo out of its car's gallery; its files are deleted after commit."""
    _car_locked(photo.car)
    CarPhoto.objects.filter(pk=photo.pk).delete()


@transaction.atomic
def car_photos_reorder(*, car: Car, photo_ids: Sequence[int]) -> list[CarPhoto]:
    """Put the car's gallery in the order of `photo_ids`, which must name each of its photos once.

    Raises ValidationError otherwise (a photo added or deleted meanwhile: reload and retry).
    """
    _car_locked(car)
    photos = {photo.pk: photo for photo in CarPhoto.objects.filter(car_id=car.pk)}
    if sorted(photo_ids) != sorted(photos):
        raise ValidationError({"photos": "Name each photo of this car's gallery once, in the order wanted."})
    for position, photo_id in enumerate(photo_ids):
        photos[photo_id].position = position
    CarPhoto.objects.bulk_update(photos.values(), ["position"])
    return [photos[photo_id] for photo_id in photo_ids]


def car_photo_move(*, photo: CarPhoto, by: int) -> list[CarPhoto]:
    """Move a photo `by` places in its gallery (-1: one earlier), within its ends."""
    order = list(CarPhoto.objects.filter(car_id=photo.car_id).values_list("pk", flat=True))
    if photo.pk not in order:
        raise ValidationError({"photos": "This photo was deleted meanwhile."})
    index = order.index(photo.pk)
    order.insert(max(0, min(len(order) - 1, index + by)), order.pop(index))
    return car_photos_reorder(car=photo.car, photo_ids=order)


@transaction.atomic
def car_photo_make_cover(*, photo: CarPhoto) -> Car:
    """Make a gallery photo the car's cover; the cover it replaces takes the photo's place.

    The files move, none is copied: the car's save makes the new cover's thumbnail, the photo's
    save the old cover's renditions, and each file no row refers to any more is deleted.
    """
    car = _car_locked(photo.car)
    stored = CarPhoto.objects.select_for_update().filter(pk=photo.pk, car_id=car.pk).first()
    if stored is None:
        raise ValidationError({"photos": "This photo was deleted meanwhile."})
    old_cover = car.photo.name
    car.photo = stored.image.name  # type: ignore[assignment]
    car.save()
    if old_cover:
        stored.image = old_cover  # type: ignore[assignment]
        stored.save()
    else:
        stored.delete()
    return car


def car_photo_renditions_make(*, photo_id: int, image: str) -> bool:
    """Make the gallery renditions (WebP) of photo `photo_id`'s image `image`; store them without
    re-saving the photo. Returns whether they were stored: not when the photo is gone or shows
    another image by now (that image's own event makes its renditions). Idempotent.
    """
    photo = CarPhoto.objects.filter(pk=photo_id, image=image).first()
    if photo is None or (photo.large and photo.small):
        return False
    # Named after this photo and this image (a retry rewrites no second file; no other photo,
    # nor another file of the same stem, ever shares it).
    digest = hashlib.sha256(f"{photo_id}:{image}".encode()).hexdigest()[:12]
    names = {}
    for kind, size in (("large", settings.CARSALES_GALLERY_SIZE), ("small", settings.CARSALES_GALLERY_STRIP_SIZE)):
        column = CarPhoto._meta.get_field(kind)
        name = _derived_name("cars/gallery/", image, f"{digest}-{kind}.webp", column)
        names[kind] = _stored_once(name, webp_of(photo.image, max_side=size), column)
    if not CarPhoto.objects.filter(pk=photo_id, image=image, large="", small="").update(**names):
        stored_files_delete(names=list(names.values()))
        return False
    _check_still_stored(CarPhoto.objects.filter(pk=photo_id), names)
    return True


def _check_still_stored(rows: Any, names: dict[str, str]) -> None:
    """A file reused from an earlier attempt may have been deleted meanwhile, by the discarding
    of a replaced image that carried the same name: then unset it and fail, to be retried."""
    missing = {field: name for field, name in names.items() if not default_storage.exists(name)}
    if missing:
        rows.filter(**missing).update(**dict.fromkeys(names, ""))
        raise FileNotFoundError(f"{', '.join(missing.values())} was deleted while being reused; retried.")


def _listed_prices_record(*, car_ids: list[int], actor: Any, using: str) -> None:
    """The first price of each new car with one, in the history: made by the database from the
    cars' rows (INSERT ... SELECT), IDS_PER_STATEMENT cars a statement."""
    quote = connections[using].ops.quote_name
    for start in range(0, len(car_ids), IDS_PER_STATEMENT):
        chunk_in, chunk_params = pks_in(Car, quote("id"), car_ids[start : start + IDS_PER_STATEMENT], using)
        insert_select(
            PriceChange,
            values={
                "car": RawSQL(quote("id"), []),
                "old_value": None,
                "new_value": RawSQL(quote("value"), []),
                "changed_by": actor.pk if actor else None,
                "changed_by_name": actor.get_username() if actor else "",
                "changed_at": timezone.now(),
            },
            source=quote(Car._meta.db_table),
            where=f"{chunk_in} AND {quote('value')} IS NOT NULL",
            params=chunk_params,
            using=using,
        )


@transaction.atomic
def cars_add_many(*, cars: Sequence[Car], actor: Any = None) -> list[Car]:
    """Add new, validated cars in one INSERT per 1,000 and return them with their ids.

    What car_create's save signals would do for each is done once for all: their stock codes
    (given ones kept), their plates as stored, their listed prices, and one `cars_added`, whose receivers keep the
    inventory with one aggregate and queue the VIN decoding and sales texts by batch.
    """
    new_codes = iter(stock_codes_generate(sum(1 for car in cars if not car.stock_code)))
    for car in cars:
        car.stock_code = car.stock_code or next(new_codes)
        car.plate = plate_as_stored(car.plate)
        car.bio = car.bio.strip()
    with bulk_counted():
        added = Car.objects.bulk_create(cars, batch_size=1000)
    _listed_prices_record(car_ids=[car.pk for car in added], actor=actor, using=Car.objects.db)
    search_vocabulary_forget()
    cars_added.send(sender=Car, car_ids=[car.pk for car in added])
    return added
