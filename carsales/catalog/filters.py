"""The catalogue's filters, described once for the page and /api/cars/ (django-filter)."""

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import OrderBy

from .facts import mileage_unit, reader_kind, sees_car_identity, sees_stock_details
from .models import BEFORE_FIRST_CAR_YEAR, FIRST_CAR_YEAR, Body, Brand, Car, CarStatus, Fuel, Transmission, next_year
from .search import SearchOutcome, car_search, identified_by
from .selectors import MAX_DAYS_IN_STOCK, brands_offered, cars_in_stock_for

NEGATIVE_PRICE = "A price cannot be negative."
PRICE_ERRORS = {"min_value": NEGATIVE_PRICE, "max_value": "No car costs that much: enter a smaller price."}
SEARCH_MAX_LENGTH = 100
SEARCH_MAX_WORDS = 8

# Each ordering is one index read forwards or backwards (catalog.models.Car.Meta, migration 0018),
# so a page costs the same at any size: ties go by id in the ordering's direction.
CAR_ORDERINGS: dict[str, tuple[str | OrderBy, ...]] = {
    "newest": ("-created_at", "-id"),
    # A car priced on request is no bargain, nor the dearest: last either way.
    "price": (F("value").asc(nulls_last=True), "id"),
    "-price": (F("value").desc(nulls_last=True), "-id"),
    "year": ("model_year", "id"),
    "-year": ("-model_year", "-id"),
    "mileage": (F("mileage").asc(nulls_last=True), "id"),  # a car of unstated mileage is no bargain
    "oldest": ("created_at", "id"),
}
ORDERING_LABELS = {
    "newest": "Newest listings first",
    "price": "Price: low to high",
    "-price": "Price: high to low",
    "-year": "Year: newest",
    "year": "Year: oldest",
    "mileage": "Mileage: lowest",
    "oldest": "Oldest listings first",
}


class CarFilterForm(forms.Form):
    """The checks across fields; the fields themselves come from CarFilterSet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels set above their fields, as headings: no colon
        super().__init__(*args, **kwargs)

    def clean_q(self) -> str:
        words = self.cleaned_data["q"].split()
        if len(words) > SEARCH_MAX_WORDS:
            raise forms.ValidationError(f"Search with at most {SEARCH_MAX_WORDS} words, e.g. a brand and a model.")
        return " ".join(words)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # A range that can match nothing is a slip the buyer should see, not an empty page.
        ranges = [
            ("price_min", "price_max", "The max price cannot be below the min price."),
            ("year_min", "year_max", "The to year cannot be before the from year."),
        ]
        for low, high, message in ranges:
            if data.get(low) is not None and data.get(high) is not None and data[high] < data[low]:
                self.add_error(high, message)
        latest = next_year()
        if data.get("year_min") is not None and data["year_min"] > latest:
            self.add_error("year_min", f"No car is newer than {latest}: choose {latest} or earlier.")
        return data


class WholeNumberFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class ModelYearFilter(WholeNumberFilter):
    """A bound on the model year: from the first car's year, said in words when below it."""

    def __init__(self, *, lookup_expr: str, label: str) -> None:
        super().__init__(
            field_name="model_year",
            lookup_expr=lookup_expr,
            label=label,
            min_value=FIRST_CAR_YEAR,
            error_messages={"min_value": BEFORE_FIRST_CAR_YEAR},
        )


class CarFilterSet(filters.FilterSet):
    """Invalid values are left out of the query and reported: as form errors on the page, as a
    400 by the API. The query is the same few statements whatever is chosen."""

    # Bounded: each word is a condition of the query, so a thousand words made a query that ran
    # for seconds; no brand and model needs more than a few.
    q = filters.CharFilter(
        method="search",
        label="Search",
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "Brand and model, e.g. Honda Civic"}),
        help_text="Brand and model words, forgiving typos and aliases (vw, chevy) and a year (golf 2022), or a "
        "car's stock code; staff also find a plate or VIN.",
    )
    brand = filters.ModelChoiceFilter(
        queryset=Brand.objects.all(), to_field_name="slug", empty_label="All brands", help_text="Brand slug."
    )
    price_min = filters.NumberFilter(
        field_name="value",
        lookup_expr="gte",
        min_value=0,
        label="Min price",
        error_messages=PRICE_ERRORS,
    )
    price_max = filters.NumberFilter(
        field_name="value",
        lookup_expr="lte",
        min_value=0,
        label="Max price",
        error_messages=PRICE_ERRORS,
    )
    year_min = ModelYearFilter(lookup_expr="gte", label="From year")
    year_max = ModelYearFilter(lookup_expr="lte", label="To year")
    fuel = filters.ChoiceFilter(choices=Fuel.choices, empty_label="Any fuel")
    transmission = filters.ChoiceFilter(choices=Transmission.choices, label="Gearbox", empty_label="Any gearbox")
    body = filters.ChoiceFilter(choices=Body.choices, label="Body", empty_label="Any body")
    mileage_max = WholeNumberFilter(
        field_name="mileage",
        lookup_expr="lte",
        min_value=0,
        label="Max mileage",
        error_messages={"min_value": "A mileage cannot be negative."},
    )
    in_stock_days_min = WholeNumberFilter(
        method="in_stock_for",
        min_value=0,
        max_value=MAX_DAYS_IN_STOCK,
        label="In stock for at least (days)",
        help_text="Cars not sold, taken in at least this many days ago.",
    )
    # Staff list every car (a buyer sees available ones only): this picks out the ones a count means.
    status = filters.ChoiceFilter(
        choices=CarStatus.choices, empty_label="Any status", help_text="Stock staff: the cars in this state."
    )
    ordering = filters.ChoiceFilter(
        method="order",
        choices=list(ORDERING_LABELS.items()),
        empty_label=None,
        label="Sort by",
        widget=forms.Select(attrs={"data-default": "newest"}),  # left out of the address (filters.js)
    )

    queryset: QuerySet[Car]

    class Meta:
        model = Car
        fields: list[str] = []
        form = CarFilterForm

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["mileage_max"].label = f"Max mileage ({mileage_unit()})"
        self.search_outcome = SearchOutcome()
        if _lists_papers(self.request):
            # A salesperson lists the cars on sale, and finds by its plate, VIN or stock code a car
            # reserved or sold (a buyer's papers); a withdrawn car's page is stock staff's only.
            # Word by word, as the search matches ("civic 7ABC123"), and whole ("AB12 CDE").
            typed = str((self.data or {}).get("q") or "")[:SEARCH_MAX_LENGTH]
            listed = Q(status=CarStatus.AVAILABLE)
            for named in {*typed.split(), typed.strip()} - {""}:
                listed |= identified_by(named) & ~Q(status=CarStatus.WITHDRAWN)
            self.queryset = self.queryset.filter(listed)
        if not sees_stock_details(getattr(self.request, "user", None)):
            offered = brands_offered(chosen=self.data.get("brand") if self.data else None)
            self.form.fields["brand"].queryset = offered  # type: ignore[attr-defined]  # a ModelChoiceField

    @classmethod
    def leaves_as_given(cls, request: Any, query: Any) -> bool:
        """Whether the cars it lists for `request` with `query` are the cars it is given: the query
        names none of its filters, and the reader is not a salesperson (whose list __init__ widens
        to the cars their papers find). Its caller may then skip building it."""
        return not any(name in cls.base_filters for name in query) and not _lists_papers(request)

    def filter_queryset(self, queryset: QuerySet[Car]) -> QuerySet[Car]:
        # The search after the other filters (then the ordering): a correction or a suggestion is
        # judged by the cars those leave, so it never leads to a page without any.
        last = ["q", "ordering"]
        for name in sorted(self.form.cleaned_data, key=lambda name: last.index(name) if name in last else -1):
            queryset = self.filters[name].filter(queryset, self.form.cleaned_data[name])
        return queryset

    def search(self, cars: QuerySet[Car], name: str, value: str) -> QuerySet[Car]:
        staff = sees_car_identity(getattr(self.request, "user", None))
        found, self.search_outcome = car_search(cars, value, staff=staff)
        return found

    def in_stock_for(self, cars: QuerySet[Car], name: str, days: int) -> QuerySet[Car]:
        return cars_in_stock_for(cars, days=days)

    def order(self, cars: QuerySet[Car], name: str, value: str) -> QuerySet[Car]:
        return cars.order_by(*CAR_ORDERINGS[value])


def _lists_papers(request: Any) -> bool:
    """A salesperson's list: the cars on sale, and those their plate, VIN or stock code finds."""
    return reader_kind(getattr(request, "user", None)) == "staff"
