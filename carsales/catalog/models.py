import re
import unicodedata
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, router, transaction
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.db.models.sql import DeleteQuery
from django.urls import reverse
from django.utils import timezone

from carsales.core.db import bump_seeding_row
from carsales.core.own_writes import OwnWrites, OwnWritesModel, OwnWritesQuerySet
from carsales.core.state import StateGuardedModel, StateGuardedQuerySet
from carsales.core.tracking import StoredRow

from .signals import CarEdit, PriceMove, cars_edited, cars_removed, cars_repriced
from .validators import validate_image_upload
from .version_listener import version_moved_here
from .vin import VIN_PATTERN, validate_vin, vin_normalise
from .vocabulary import search_vocabulary_forget

FIRST_CAR_YEAR = 1900
BEFORE_FIRST_CAR_YEAR = f"Enter a year from {FIRST_CAR_YEAR} on."  # said by the car form and the filters alike


def current_year() -> int:
    return date.today().year


def next_year() -> int:
    return date.today().year + 1


def folded(name: str) -> str:
    """A name as a buyer's eye compares it: without case nor accents ("Škoda" is "skoda"), nor what
    does not show (a zero-width character, a variation selector, a filler), with one space
    wherever there are several. An Indic vowel sign is spelling, not an accent: kept."""
    decomposed = unicodedata.normalize("NFKD", name)
    seen = "".join(char for char in decomposed if not unicodedata.combining(char) and not _unseen(char, joiners=True))
    return " ".join(seen.split()).casefold()


# Letters to Unicode, nothing to the eye: the Hangul fillers, the blank Braille cell.
_BLANKS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
# Join or part letters in Persian and Indic spelling: part of a name, though they do not show.
_JOINERS = {"\u200c", "\u200d"}


def _unseen(char: str, *, joiners: bool) -> bool:
    if char in _JOINERS:
        return joiners
    if char in _BLANKS or "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef" or char == "\u034f":
        return True  # the blanks, the variation selectors, the grapheme joiner
    return unicodedata.category(char) in {"Cf", "Cc"} and not char.isspace()


def unseen_characters(text: str) -> bool:
    """Whether `text` holds a character that does not show and spells nothing (a zero-width space,
    a control character, a variation selector, a filler); a name's joiners are spelling."""
    return any(_unseen(char, joiners=False) for char in text)


BRAND_NAME_LENGTH = 80
LOWEST_PRICE = Decimal("0.01")
PRICE_ABOVE_ZERO = "A price is above zero; leave it empty for a car priced on request."


class MovesCatalogueVersion(models.QuerySet[Any]):
    """The writes of a queryset that send no model signal (update, bulk_create) move the
    catalogue's version themselves, once each, when they wrote a row: for models a page shows."""

    def update(self, **kwargs: Any) -> int:
        updated = super().update(**kwargs)
        if updated:
            CatalogueVersion.bump()
        return updated

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            CatalogueVersion.bump()
        return created


def brand_writes_wait() -> None:
    """What every brand write (a save, a deletion, a queryset's, by any path) does, in its
    transaction, before it touches a brand's row: the catalogue's version moves on, its row locked.
    Every car write moves it on too, and only at its commit does PostgreSQL check (locking the
    brand's row) that the car's brand is there: a brand write that locked its row first, then the
    version, deadlocked with a car added to it meanwhile. Locked in one order, a brand write waits
    for the car writes under way."""
    CatalogueVersion.bump()


@contextmanager
def brand_writing(using: str) -> Iterator[None]:
    """A queryset's brand write, in one transaction with brand_writes_wait: the version is never
    seen moved on before the rows are written (a page cached then would keep the old names)."""
    with transaction.atomic(using=using, savepoint=False):
        brand_writes_wait()
        yield


class BrandQuerySet(MovesCatalogueVersion):
    """Every write keeps each brand's folded name its name's, and moves the catalogue's version
    first (brand_writes_wait): brand names are on every card and in the catalogue's filter."""

    def update(self, **kwargs: Any) -> int:
        if "folded_name" in kwargs:
            raise TypeError("A brand's folded name follows its name: update the name.")
        if "name" in kwargs:
            if not isinstance(kwargs["name"], str):
                raise TypeError("A brand's name is folded in Python: give it as text, or rename with save().")
            kwargs["folded_name"] = folded(kwargs["name"])
        with brand_writing(self._db or router.db_for_write(self.model)):  # type: ignore[attr-defined]
            updated = models.QuerySet.update(self, **kwargs)  # the version moved on first, not after
        if updated and "name" in kwargs:
            search_vocabulary_forget()  # after the write: a search in between would cache the old words
        return updated

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list["Brand"]:
        if args:
            raise TypeError("Name bulk_create's options of brands (batch_size=..., update_fields=...).")
        brands = list(objs)
        for brand in brands:
            brand.folded_name = folded(brand.name)
        # An upsert renaming a stored brand writes its folded name too.
        upserted = set(kwargs.get("update_fields") or ())
        if "folded_name" in upserted:
            raise TypeError("A brand's folded name follows its name: update the name.")
        if "name" in upserted:
            kwargs["update_fields"] = sorted(upserted | {"folded_name"})
        with brand_writing(self._db or router.db_for_write(self.model)):  # type: ignore[attr-defined]
            created = models.QuerySet.bulk_create(self, brands, **kwargs)  # the version moved on first
        search_vocabulary_forget()  # new names, or renamed ones, once written
        return created

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        brands, fields = list(objs), set(fields)
        if "folded_name" in fields:
            raise TypeError("A brand's folded name follows its name: update the name.")
        if "name" in fields:
            for brand in brands:
                brand.folded_name = folded(brand.name)
            fields.add("folded_name")
        # Written by a plain queryset, whose update() takes the names as Case expressions.
        using = self._db or router.db_for_write(self.model)  # type: ignore[attr-defined]  # Django's, not in the stubs
        with brand_writing(using):
            updated = models.QuerySet(self.model, using=using).bulk_update(brands, sorted(fields), *args, **kwargs)
        if updated and "name" in fields:
            search_vocabulary_forget()
        return updated


class Brand(models.Model):
    name = models.CharField(max_length=BRAND_NAME_LENGTH)
    slug = models.SlugField(max_length=80, db_index=False, allow_unicode=True)
    # "honda" next to "Honda", or "Skoda" next to "Škoda", would be two brands to a buyer's eye
    # but one to a search: the database keeps one per folded name.
    folded_name = models.CharField(max_length=BRAND_NAME_LENGTH, editable=False)

    objects = BrandQuerySet.as_manager()

    class Meta:
        ordering = ["folded_name"]  # as a buyer reads them: "Škoda" among the S's, not after "Volvo"
        # Constraints, not unique=True, which on PostgreSQL also builds a LIKE-prefix index no query uses.
        constraints = [
            models.UniqueConstraint(fields=["name"], name="brand_name_unique"),
            models.UniqueConstraint(fields=["slug"], name="brand_slug_unique"),
            models.UniqueConstraint(fields=["folded_name"], name="brand_folded_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.folded_name = folded(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "folded_name"}
        # One transaction with its pre_save, which moves the catalogue's version on (brand_writes_wait).
        using = kwargs.get("using") or router.db_for_write(Brand, instance=self)
        with transaction.atomic(using=using, savepoint=False):
            super().save(*args, **kwargs)

    def clean(self) -> None:
        if unseen_characters(self.name):
            raise ValidationError(
                {"name": "This name holds a character that does not show (a zero-width space?); type it again."}
            )
        # Folding can lengthen a name ("ß" is "ss", "ﬃ" is "ffi"): the folded one must fit its column too.
        if len(folded(self.name)) > BRAND_NAME_LENGTH:
            raise ValidationError({"name": "This name is too long once compared as buyers search it; shorten it."})
        same_name = Brand.objects.filter(folded_name=folded(self.name)).exclude(pk=self.pk).first()
        if same_name:
            raise ValidationError({"name": f"A brand named {same_name.name} already exists."})


class BrandSlugHistory(OwnWritesModel):
    """A slug a brand had before it was renamed: links and filters made with it still find it.

    An old slug is never given to another brand (brand_slug_available checks both tables), so
    it leads to one brand only. Written by brand_rename and forgotten by brand_old_slug_forget
    alone (OwnWrites): one moved to another brand by hand would send its links there.
    """

    own_writes = OwnWrites(
        "catalog_brand_slug_history_written",
        refusal="A brand's old slugs are kept by brand_rename, so that links made with them lead to that brand: "
        "one written, moved or deleted by hand could send them to another. Rename the brand instead, or forget "
        "an old slug with brand_old_slug_forget (the admin's delete).",
    )

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="old_slugs")
    slug = models.SlugField(max_length=80, db_index=False, allow_unicode=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OwnWritesQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        verbose_name_plural = "brand slug history"
        constraints = [models.UniqueConstraint(fields=["slug"], name="brand_old_slug_unique")]  # as Brand's

    def __str__(self) -> str:
        return f"{self.slug} → {self.brand.slug}"


class CarStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    RESERVED = "reserved", "Reserved"
    SOLD = "sold", "Sold"
    # Taken off sale by staff (a car to repair, a recall): kept, counted in stock, sold to no one.
    WITHDRAWN = "withdrawn", "Withdrawn from sale"


class Fuel(models.TextChoices):
    PETROL = "petrol", "Petrol"
    DIESEL = "diesel", "Diesel"
    HYBRID = "hybrid", "Hybrid"
    PLUGIN_HYBRID = "plugin_hybrid", "Plug-in hybrid"
    ELECTRIC = "electric", "Electric"
    LPG = "lpg", "LPG"


class Transmission(models.TextChoices):
    MANUAL = "manual", "Manual"
    AUTOMATIC = "automatic", "Automatic"


class Body(models.TextChoices):
    SEDAN = "sedan", "Sedan"
    HATCHBACK = "hatchback", "Hatchback"
    ESTATE = "estate", "Estate"
    SUV = "suv", "SUV"
    COUPE = "coupe", "Coupé"
    CONVERTIBLE = "convertible", "Convertible"
    VAN = "van", "Van"
    PICKUP = "pickup", "Pickup"


# The vehicle data fields of Car, stated by staff (all optional).
VEHICLE_FACTS = ("mileage", "fuel", "transmission", "body", "colour", "doors", "seats", "engine_cc", "power_kw", "vin")


class VINFormField(forms.CharField):
    """Typed as on the papers ("wvw zzz 1kz..."), checked as stored: spaces gone, upper case."""

    def to_python(self, value: Any) -> str:
        return vin_normalise(super().to_python(value) or "")

    def widget_attrs(self, widget: Any) -> dict[str, Any]:
        # Room for the spaces people type between the groups of characters.
        return {
            **super().widget_attrs(widget),
            "maxlength": "24",
            "autocapitalize": "characters",
            "spellcheck": "false",
        }


class VINField(models.CharField):
    """A VIN, stored as people mean it whatever they type: spaces gone, upper case."""

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return vin_normalise(value) if isinstance(value, str) else value

    def formfield(self, form_class: Any = None, choices_form_class: Any = None, **kwargs: Any) -> Any:
        return super().formfield(form_class=form_class or VINFormField, choices_form_class=choices_form_class, **kwargs)


_BULK_COUNTED: ContextVar[bool] = ContextVar("catalog_bulk_counted", default=False)


@contextmanager
def bulk_counted() -> Iterator[None]:
    """Let Car.objects.bulk_create run: for catalog.services.cars_add_many only, which sends
    cars_added for the rows it creates."""
    token = _BULK_COUNTED.set(True)
    try:
        yield
    finally:
        _BULK_COUNTED.reset(token)


_VERSION_MOVES_FORWARD = (
    "The catalogue version only moves forward, by the writes that change what the catalogue shows "
    "(CatalogueVersion.bump): a number set back or deleted by hand would let pages cached under an "
    "earlier number (old prices, a sold car on sale) be served again."
)


class CatalogueVersion(OwnWritesModel):
    """A number every write to what the catalogue shows moves, in the write's own transaction.

    Cached pages are keyed by it (catalog.pages): a committed change is seen by the next request on
    every process, and cached copies of older versions are never read again. Moved by receivers of
    the car, photo and brand signals and by queryset updates of cars and photos (paths that send none),
    and by nothing else: no ORM path sets it (OwnWrites, opened by no code; bump() is one UPDATE).
    """

    own_writes = OwnWrites("catalog_version_written", refusal=_VERSION_MOVES_FORWARD)

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    number = models.BigIntegerField(default=0)

    objects = OwnWritesQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="catalogue_version_singleton")]

    def __str__(self) -> str:
        return f"catalogue version {self.number}"

    @classmethod
    def bump(cls) -> None:
        bump_seeding_row(cls, lookup={"singleton": True}, column="number")
        version_moved_here(router.db_for_write(cls))


# What a queryset update would change without what follows it (a save's receivers): a photo's
# thumbnail and its old files, a VIN's decoding; and the stock code, given once at creation.
NOT_UPDATED_IN_BULK = frozenset({"photo", "vin", "stock_code"})


def _refuse_in_bulk(fields: Any) -> None:
    refused = sorted(set(fields) & NOT_UPDATED_IN_BULK)
    if refused:
        raise TypeError(
            f"Cars cannot be updated in bulk for {', '.join(refused)}: a new photo's thumbnail and the old "
            "files, and a new VIN's decoding, follow catalog.services.car_update; a stock code never changes."
        )


class CarQuerySet(StateGuardedQuerySet):
    def available(self) -> "CarQuerySet":
        return self.filter(status=CarStatus.AVAILABLE)

    def with_brand(self) -> "CarQuerySet":
        return self.select_related("brand")

    def update(self, **kwargs: Any) -> int:
        _refuse_in_bulk(kwargs)
        if isinstance(kwargs.get("plate"), str):  # as a form stores it (an expression: the constraint judges)
            kwargs["plate"] = plate_as_stored(kwargs["plate"])
        if Car.stored.typed_in_among(kwargs):
            updated = self._edit(kwargs)
        else:
            updated = super().update(**kwargs)
            if updated:
                # After the write (in its transaction, if any): a page cached in between holds the
                # new rows under the old version, never the old rows under the new one.
                CatalogueVersion.bump()
        if updated and "model" in kwargs:  # bulk_update's too, which writes through update()
            search_vocabulary_forget()  # after the write, as the version
        return updated

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        _refuse_in_bulk(fields)  # before its transaction: a refusal leaves the caller's usable
        objs = list(objs)
        if "plate" in fields:
            for car in objs:
                car.plate = plate_as_stored(car.plate)
        return super().bulk_update(objs, fields, *args, **kwargs)

    def _edit(self, changes: dict[str, Any]) -> int:
        """The update (bulk_update's too, which writes through update()) of fields people type in,
        with their values before and after it read under lock: the prices it moved announced with
        one cars_repriced (the inventory, price history and audit follow, one write each), the
        other fields it changed with one cars_edited (the audit)."""
        if self.query.is_sliced:
            raise TypeError("Cannot update a query once a slice has been taken.")
        typed = Car.stored.typed_in_among(changes)
        chosen = self.order_by()  # as Django's own update picks its rows: no ordering (DISTINCT ON needs none)
        with transaction.atomic(using=self.db, savepoint=False):
            # The cars locked by id alone: the caller's query may join, group or be distinct,
            # which FOR UPDATE refuses (PostgreSQL), and must not lock the rows it joins.
            locked = Car.objects.using(self.db).filter(pk__in=chosen.values("pk")).select_for_update().order_by("pk")
            before = {row["pk"]: row for row in locked.values("pk", "status", *typed)}
            # The caller's conditions asked again of the rows as the lock found them: one another
            # transaction changed meanwhile so that it matches no more (a bio staff typed, where
            # the query asked for none) is left alone, as Django's update leaves it.
            still = list(chosen.filter(pk__in=list(before)).values_list("pk", flat=True)) if before else []
            if not still:
                return 0
            rows = Car.objects.using(self.db).filter(pk__in=still)
            updated = super(CarQuerySet, rows).update(**changes)
            moved, edits = [], []
            for car in rows.select_related("brand").order_by("pk"):
                was = before[car.pk]
                if "value" in typed and car.value != was["value"]:
                    moved.append(PriceMove(car=car, status=was["status"], old=was["value"], new=car.value))
                edited = sorted(
                    Car._meta.get_field(name).name
                    for name in typed
                    if name != "value" and getattr(car, name) != was[name]
                )
                if edited:
                    edits.append(CarEdit(car=car, fields=edited))
            # The version's row lock before the totals' (cars_repriced), as a single save takes them.
            CatalogueVersion.bump()
            if moved:
                cars_repriced.send(sender=Car, changes=moved)
            if edits:
                cars_edited.send(sender=Car, edits=edits)
        return updated

    def delete(self) -> tuple[int, dict[str, int]]:
        """Delete these cars with one cars_removed instead of a pre_delete and a post_delete
        per car. Raises ProtectedError, deleting nothing, when an order holds one of them."""
        # Django's own guards: no delete of a slice, a values() query, distinct fields or a union.
        if self.query.is_sliced:
            raise TypeError("Cannot use 'limit' or 'offset' with delete().")
        if self.query.distinct_fields:
            raise TypeError("Cannot call delete() after .distinct(*fields).")
        if self._fields is not None:  # type: ignore[attr-defined]
            raise TypeError("Cannot call delete() after .values() or .values_list()")
        self._not_support_combined_queries("delete")  # type: ignore[attr-defined]
        refused: ProtectedError | RestrictedError | None = None
        with transaction.atomic(using=self.db, savepoint=False):
            locked = Car.objects.using(self.db).filter(pk__in=self.values("pk")).select_for_update(of=("self",))
            cars = list(locked.select_related("brand").order_by("pk"))
            if not cars:
                return 0, {}
            owned = Collector(using=self.db, origin=self)
            try:
                owned.collect(cars)  # what goes with them (photos, price history); refuses protected cars
            except (ProtectedError, RestrictedError) as error:
                refused = error  # raised after the block, which wrote nothing: the caller's transaction stays usable
            else:
                owned.data.pop(Car, None)  # the cars themselves: below, without a signal per car
                deleted, counts = owned.delete()
                removed = DeleteQuery(Car).delete_batch([car.pk for car in cars], self.db)  # in chunks
                CatalogueVersion.bump()  # its row lock before the totals', as a single delete takes them
                cars_removed.send(sender=Car, cars=cars)
        if refused is not None:
            raise refused
        self._result_cache = None
        return deleted + removed, {**counts, Car._meta.label: removed}

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]  # no Car.objects.delete(): as Django keeps it off managers

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list["Car"]:
        # bulk_create skips pre_save/post_save: no stock code, no bio, no inventory change,
        # unless the caller is cars_add_many, which sends cars_added for what it created.
        if not _BULK_COUNTED.get():
            raise TypeError(
                "Cars cannot be bulk-created: use car_create for one car, or cars_add_many (cars_import) for many, "
                "which keeps the inventory and the other bookkeeping with one cars_added signal."
            )
        return super().bulk_create(objs, *args, **kwargs)


# A plate as it is stored: letters A to Z and digits, single spaces or hyphens between them.
PLATE_PATTERN = r"\A[A-Z0-9](?:[A-Z0-9 -]*[A-Z0-9])?\Z"  # \Z: see VIN_PATTERN
STOCK_CODE_PATTERN = r"\A[A-Z0-9]*\Z"  # empty until pre_save fills it
PLATE_FORMAT = "A plate is letters A to Z, digits, spaces and hyphens, starting and ending with a letter or digit."


class PlateBare(models.Func):
    """A plate without its spaces and dashes: "AB12 CDE", "AB12-CDE" and "ab12cde" name one car
    (staff's search, catalog.search.identified_by). Its literals are written into the SQL, not
    bound: only the very expression the index car_plate_bare holds is read from it, on SQLite and
    PostgreSQL, where a bound ' ' would make a scan of every plate."""

    template = "REPLACE(REPLACE(%(expressions)s, ' ', ''), '-', '')"
    output_field = models.CharField()


class VinGiven(models.Func):
    """The car has a VIN, as the partial index car_vin_unique_when_given says it, word for word: a
    lookup by VIN that says so reads that index (SQLite proves nothing from a bound ''), so a
    search OR-ing it with other indexed lookups reads only indexes."""

    template = "NOT (%(expressions)s = '')"
    output_field = models.BooleanField()
    conditional = True


def plate_as_stored(plate: str) -> str:
    """As typed on a form or in a file ("ab 1 ", "AB\t1"): runs of spaces, tabs and line breaks
    as one space, in capitals. A plate holding anything but ASCII is left as typed, for the plate's
    format to refuse: capitals would make another plate of it ("straße 1" STRASSE 1, "ﬁ 12" FI 12),
    and str.split() would take a control character for a space."""
    spaced = " ".join(_PLATE_SPACES.split(plate.strip(" \t\r\n")))
    return spaced.upper() if spaced.isascii() else spaced


_PLATE_SPACES = re.compile(r"[ \t\r\n]+")


def plate_bare(plate: str) -> str:
    """The plate without its spaces and dashes, in capitals: what PlateBare reads in the database.
    Text of more than ASCII keeps its case, as plate_as_stored keeps it: "straße" is no STRASSE."""
    bare = "".join(plate.replace("-", " ").split())
    return bare.upper() if bare.isascii() else bare


# The constraints Car.full_clean() asks the database about (Car.validate_constraints), each with
# the field it is about. A plate taken as stored is taken bare too: car_plate_unique is not asked.
ASKED_CONSTRAINTS = {"car_plate_bare": "plate", "car_vin_unique_when_given": "vin"}
PLATE_TAKEN = "Another car, on sale or sold, has this plate."


class Car(StateGuardedModel):
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="cars")
    model = models.CharField(max_length=120)
    factory_year = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(FIRST_CAR_YEAR)],
        help_text="Year the car was built.",
    )
    model_year = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(FIRST_CAR_YEAR)],
        help_text="Model year; never before the factory year.",
    )
    plate = models.CharField(max_length=16)  # unique: Meta.constraints
    value = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(LOWEST_PRICE, message=PRICE_ABOVE_ZERO)],
        help_text="Asking price; empty when not yet priced (price on request).",
    )
    photo = models.ImageField(upload_to="cars/photos/", blank=True, validators=[validate_image_upload])
    thumbnail = models.ImageField(upload_to="cars/thumbnails/", blank=True, editable=False)
    # The same card-sized picture in WebP, for the browsers that take it (most; JPEG for the rest).
    thumbnail_webp = models.ImageField(upload_to="cars/thumbnails/", blank=True, editable=False)
    bio = models.TextField(blank=True, help_text="Sales text; written for you when left empty.")
    # What buyers compare on. Blank (or NULL for numbers) is "not stated", which cars entered
    # before these fields existed are; filters on a fact leave such cars out.
    mileage = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(2_000_000)],
        help_text="Odometer reading, in the site's unit (km or miles).",
    )
    fuel = models.CharField(max_length=16, choices=Fuel.choices, blank=True)
    transmission = models.CharField("gearbox", max_length=16, choices=Transmission.choices, blank=True)
    body = models.CharField("body type", max_length=16, choices=Body.choices, blank=True)
    colour = models.CharField(max_length=40, blank=True)
    doors = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    seats = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(9)]
    )
    engine_cc = models.PositiveIntegerField(
        "engine size",
        null=True,
        blank=True,
        validators=[MinValueValidator(50), MaxValueValidator(10_000)],
        help_text="Displacement in cm³ (1598 for a 1.6-litre engine); empty for an electric car.",
    )
    power_kw = models.PositiveSmallIntegerField(
        "power", null=True, blank=True, validators=[MaxValueValidator(1_500)], help_text="In kW (1 kW ≈ 1.36 hp)."
    )
    vin = VINField(
        "VIN",
        max_length=17,
        blank=True,
        validators=[validate_vin],
        help_text="17 characters, on the windscreen and the registration papers; checked and decoded.",
    )
    stock_code = models.CharField(max_length=10, blank=True, editable=False)  # unique: Meta.constraints
    # Written only by the stock transitions in catalog.services, which the order flow calls:
    # not editable, so no form, serializer or admin field can put a reserved car back on sale.
    status = models.CharField(max_length=16, choices=CarStatus.choices, default=CarStatus.AVAILABLE, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CarQuerySet.as_manager()
    # The row as stored, read once per save or delete for every receiver that keeps derived data,
    # with every field staff type in (the audit log names those a save changed: stored.typed_in).
    stored = StoredRow("status", "thumbnail", "thumbnail_webp", typed_in=True)

    STATE_FIELDS = ("status",)
    # Printed on the car's papers and labels, quoted by buyers: given once (catalog.receivers), kept.
    FIXED_FIELDS = ("stock_code",)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Related managers and deletions use the guarded queryset too.
        base_manager_name = "objects"
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            # The catalogue's orderings (catalog.filters.CAR_ORDERINGS), ties by id; PostgreSQL, which
            # puts NULL last going up, also gets (value NULLS FIRST, id) for "dearest first, priced on
            # request last" (migration 0018).
            models.Index(fields=["created_at", "id"], name="car_by_arrival"),  # staff list every status
            models.Index(fields=["value", "id"], name="car_by_value"),
            models.Index(fields=["model_year", "id"], name="car_by_model_year"),
            models.Index(fields=["mileage", "id"], name="car_by_mileage"),
            # The distinct models a search corrects typos against (search.py); PostgreSQL also
            # gets trigram indexes for the substring match (migration 0012).
            models.Index(fields=["model"]),
        ]
        constraints = [
            # A car is never given away: $0 is a slip for "price on request", which is no price (NULL).
            models.CheckConstraint(condition=models.Q(value__gt=0), name="car_value_above_zero"),
            models.CheckConstraint(
                condition=models.Q(model_year__gte=models.F("factory_year")),
                name="car_model_year_not_before_factory_year",
            ),
            models.CheckConstraint(
                condition=models.Q(factory_year__gte=FIRST_CAR_YEAR), name="car_factory_year_from_1900"
            ),
            # Constraints, not unique=True, which on PostgreSQL also builds a LIKE-prefix index that
            # every car written keeps up and no query uses (core/tests/test_schema_indexes.py).
            models.UniqueConstraint(fields=["plate"], name="car_plate_unique"),
            # One plate however it is spaced: "AB12 CDE" never sits beside "AB12CDE" or "AB12-CDE". Its
            # index also finds a plate as staff type it (catalog.search.identified_by).
            models.UniqueConstraint(PlateBare("plate"), name="car_plate_bare", violation_error_message=PLATE_TAKEN),
            # Stored as plate_as_stored writes it, on every path: "ab1" never sits beside "AB1".
            models.CheckConstraint(condition=models.Q(plate__regex=PLATE_PATTERN), name="car_plate_format"),
            models.UniqueConstraint(fields=["stock_code"], name="car_stock_code_unique"),
            # As searching reads a code typed in any case (catalog.search): capitals and digits only.
            models.CheckConstraint(
                condition=models.Q(stock_code__regex=STOCK_CODE_PATTERN), name="car_stock_code_format"
            ),
            models.UniqueConstraint(
                fields=["vin"],
                condition=~models.Q(vin=""),
                name="car_vin_unique_when_given",
                violation_error_message="Another car in stock has this VIN.",
            ),
            models.CheckConstraint(
                condition=models.Q(vin="") | models.Q(vin__regex=VIN_PATTERN), name="car_vin_format"
            ),
            models.CheckConstraint(condition=models.Q(fuel__in=["", *Fuel.values]), name="car_fuel_known"),
            models.CheckConstraint(
                condition=models.Q(transmission__in=["", *Transmission.values]), name="car_transmission_known"
            ),
            models.CheckConstraint(condition=models.Q(body__in=["", *Body.values]), name="car_body_known"),
        ]

    def __str__(self) -> str:
        return f"{self.brand} {self.model} {self.model_year}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:car_detail", kwargs={"pk": self.pk})

    def unique_error_message(self, model_class: Any, unique_check: Any) -> ValidationError:
        """A taken plate in the dealership's words, not Django's "Car with this Plate" (a sold car
        keeps its plate's row too)."""
        if tuple(unique_check) == ("plate",):
            return ValidationError(PLATE_TAKEN, code="unique")
        return super().unique_error_message(model_class, unique_check)

    def validate_constraints(self, exclude: Any = None) -> None:
        """The constraints no field validator or clean() already checks: the plate's and the
        VIN's uniqueness. Each other constraint costs a query to validate and repeats, query by
        query, what is checked in Python; the stock code is generated, never typed, so its
        constraint is its only check. (A test proves every constraint left out here refuses
        nothing full_clean() lets through but a duplicate stock code.)"""
        for constraint in self._meta.constraints:
            if constraint.name not in ASKED_CONSTRAINTS or (
                constraint.name == "car_vin_unique_when_given" and not self.vin
            ):
                continue  # the VIN's constraint holds given VINs only
            try:
                constraint.validate(type(self), self, exclude=exclude)  # type: ignore[attr-defined]  # stubs lag
            except ValidationError as error:
                raise ValidationError({ASKED_CONSTRAINTS[constraint.name]: error.messages}) from error

    def clean_fields(self, exclude: Any = None) -> None:
        # Before any check reads it (a form's uniqueness check included): "ab1 " is plate AB1.
        if isinstance(self.plate, str):
            self.plate = plate_as_stored(self.plate)
        super().clean_fields(exclude)

    def clean(self) -> None:
        # "Not in the future" moves with the calendar, so it is checked here, not as a constraint.
        errors = {}
        if self.factory_year and self.factory_year > current_year():
            errors["factory_year"] = f"The factory year cannot be after {current_year()}."
        if self.model_year and self.model_year > next_year():
            errors["model_year"] = f"The model year cannot be after {next_year()}."
        elif self.factory_year and self.model_year and self.model_year < self.factory_year:
            errors["model_year"] = "The model year cannot be before the factory year."
        if isinstance(self.plate, str) and self.plate and not re.fullmatch(PLATE_PATTERN, self.plate):
            errors["plate"] = PLATE_FORMAT
        if errors:
            raise ValidationError(errors)

    @property
    def is_available(self) -> bool:
        return self.status == CarStatus.AVAILABLE

    @property
    def is_for_sale(self) -> bool:
        """Available and priced: only such a car can go into a cart or an order."""
        return self.is_available and self.value is not None


def car_field_label(name: str) -> str:
    field = Car._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.verbose_name)


def car_field_choice_label(name: str, value: Any) -> str:
    """How a form shows `value` of the car field `name` ("suv" → "SUV")."""
    field = Car._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(dict(field.choices or ()).get(value, value))


class CarVinReport(OwnWritesModel):
    """What a car's VIN told when decoded, for staff: the facts it filled in and where it disagrees
    with what staff typed. Written by a durable receiver after the car is saved with a new VIN
    (car_vin_decode), and by nothing else (OwnWrites); it goes with its car."""

    own_writes = OwnWrites(
        "catalog_vin_report_written",
        refusal="A VIN report says what the car's VIN told when decoded (car_vin_decode, after a save with a new "
        "VIN): one written, changed or deleted by hand would show staff what the VIN never said. Save the car "
        "with its VIN instead.",
    )

    car = models.OneToOneField(Car, on_delete=models.CASCADE, related_name="vin_report")
    vin = models.CharField("VIN", max_length=17)
    manufacturer = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=80, blank=True)
    model_years = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="Maker-specific facts: body, engine, model...")
    filled = models.JSONField(
        default=list, blank=True, help_text="Car fields left blank by staff, filled from the VIN."
    )
    disagreements = models.JSONField(default=list, blank=True)
    problem = models.CharField(max_length=200, blank=True, help_text="Why the VIN could not be decoded.")
    decoded_at = models.DateTimeField(auto_now=True)

    objects = OwnWritesQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        verbose_name = "VIN report"

    def __str__(self) -> str:
        return f"VIN {self.vin} of car #{self.car_id}"

    @property
    def filled_labels(self) -> list[str]:
        return [car_field_label(name) for name in self.filled]


_PRICE_HISTORY_IS_THE_SAVES = (
    "A car's price history is written by its saves (car_update, a bulk update of its price) and goes with "
    "the car: a change written, rewritten or deleted by hand would show buyers a price the car never had, "
    "or hide one it had. Change the car's price instead."
)


class PriceChangeQuerySet(OwnWritesQuerySet, MovesCatalogueVersion):  # type: ignore[override]  # stubs: two as_manager()s
    """A car's price history, as its saves wrote it: no ORM path changes, adds or deletes a change
    by hand (PriceChange.own_writes; price_history_written lets the catalogue's own code). A car's
    deletion takes its changes with it (the collector's delete), and a fixture restores them
    (loaddata checks that each car's history ends at its price). A change written apart from its
    car's save moves the catalogue's version (receivers.catalogue_changed), as the car page shows
    the history."""

    def update(self, **kwargs: Any) -> int:
        # A deleted account's changes lose the link to it and keep its name (its on_delete, SET_NULL).
        if kwargs == {"changed_by": None}:
            return MovesCatalogueVersion.update(self, **kwargs)
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        deleted = super().delete()
        if deleted[0]:
            CatalogueVersion.bump()
        return deleted

    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]


class PriceChange(OwnWritesModel):
    """A car's asking price as it changed (the first one too, from none), with who and when.

    Kept by a receiver of the car's save, in its transaction, from the row as stored before it
    (`Car.stored`), so every save path records it and a stale instance records the true old price.
    """

    # Looked up through price_change_latest, which leads with the car: no index of its own.
    car = models.ForeignKey(Car, on_delete=models.CASCADE, related_name="price_changes", db_index=False)
    old_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    new_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_by_name = models.CharField(max_length=150, blank=True)  # kept if the account is deleted
    changed_at = models.DateTimeField(default=timezone.now)

    objects = PriceChangeQuerySet.as_manager()
    own_writes = OwnWrites("catalog_price_history_written", refusal=_PRICE_HISTORY_IS_THE_SAVES)
    INSERT_ONLY = True  # a change, once written, stays as it was (price_history_written or not)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["car", "-changed_at", "-id"], name="price_change_latest")]
        # Django's own paths (a related lookup, a refresh, the collector's updates) are guarded too.
        base_manager_name = "objects"

    def __str__(self) -> str:
        return f"car #{self.car_id}: {self.old_value} → {self.new_value}"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        # Sends no post_delete (none is connected: a car's delete cascades to its changes in bulk).
        deleted = super().delete(*args, **kwargs)
        CatalogueVersion.bump()
        return deleted

    @property
    def is_drop(self) -> bool:
        return self.old_value is not None and self.new_value is not None and self.new_value < self.old_value


def price_history_written() -> AbstractContextManager[None]:
    """Let the block write price changes: for the catalogue's own code (a bulk write's changes,
    the demo's cars dated back to their taking in) and tests building a history."""
    return PriceChange.own_writes.opened()


class CarPhotoQuerySet(models.QuerySet["CarPhoto"]):
    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list["CarPhoto"]:
        # bulk_create skips pre_save/post_save: an upload neither published (metadata kept) nor
        # marked uncommitted, and no renditions.
        raise TypeError("Gallery photos cannot be bulk-created: use catalog.services.car_photos_add.")

    def update(self, **kwargs: Any) -> int:
        _refuse_moving_photos(kwargs)
        updated = super().update(**kwargs)
        if updated:  # renditions written by a worker show on cached pages
            CatalogueVersion.bump()
        return updated

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        _refuse_moving_photos(fields)  # before its transaction: a refusal leaves the caller's usable
        return super().bulk_update(objs, fields, *args, **kwargs)


def _refuse_moving_photos(fields: Any) -> None:
    """A bulk write sends no signal: a photo moved to another car, or given another image, would be
    logged by no one, keep the old image's renditions and leave its old file behind."""
    refused = sorted(set(fields) & {"car", "car_id", "image"})
    if refused:
        raise TypeError(
            f"Gallery photos cannot be updated in bulk for {', '.join(refused)}: a photo stays with its car "
            "and its image (add one with catalog.services.car_photos_add, take one out by deleting it)."
        )


class CarPhoto(models.Model):
    """A photo of a car's gallery, after its cover (`Car.photo`), in `position` order.

    Its renditions (WebP at gallery and strip sizes) are made by a durable receiver after commit;
    until then pages show the photo itself. Files are deleted after commit once no car nor
    photo refers to them.
    """

    car = models.ForeignKey(Car, on_delete=models.CASCADE, related_name="photos", db_index=False)  # car_photo_order
    image = models.ImageField(upload_to="cars/photos/", validators=[validate_image_upload])
    large = models.ImageField(upload_to="cars/gallery/", blank=True, editable=False)
    small = models.ImageField(upload_to="cars/gallery/", blank=True, editable=False)
    position = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = CarPhotoQuerySet.as_manager()
    # The files as stored, for the receivers that make and delete them.
    stored = StoredRow("image", "large", "small", "car_id")

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["car", "position", "id"], name="car_photo_order")]

    def __str__(self) -> str:
        return f"photo {self.position + 1} of car #{self.car_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Its receivers lock the car to count the gallery (a shell's save is in no transaction):
        # the lock lasts until the photo is written.
        with transaction.atomic(using=kwargs.get("using") or router.db_for_write(type(self)), savepoint=False):
            super().save(*args, **kwargs)
