from typing import Any

from django import forms

from .models import Brand, Car
from .selectors import CAR_ORDERINGS, CarFilters
from .validators import NOT_A_PHOTO

NEGATIVE_PRICE = "A price cannot be negative."


SEARCH_MAX_LENGTH = 100
SEARCH_MAX_WORDS = 8


class CarFilterForm(forms.Form):
    # Bounded: each word is a condition of the query, so a thousand words made a query that ran
    # for seconds; no brand and model needs more than a few.
    q = forms.CharField(
        required=False,
        label="Search",
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "Brand and model, e.g. Honda Civic"}),
    )
    brand = forms.ModelChoiceField(
        queryset=Brand.objects.all(), required=False, to_field_name="slug", empty_label="All brands"
    )
    price_min = forms.DecimalField(
        required=False, min_value=0, label="Min price", error_messages={"min_value": NEGATIVE_PRICE}
    )
    price_max = forms.DecimalField(
        required=False, min_value=0, label="Max price", error_messages={"min_value": NEGATIVE_PRICE}
    )
    year_min = forms.IntegerField(required=False, min_value=1900, label="From year")
    year_max = forms.IntegerField(required=False, min_value=1900, label="To year")
    ordering = forms.ChoiceField(
        required=False,
        choices=[
            ("newest", "Newest first"),
            ("price", "Price: low to high"),
            ("-price", "Price: high to low"),
            ("-year", "Year: newest"),
            ("year", "Year: oldest"),
        ],
    )

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
        return data

    def to_filters(self, *, include_unavailable: bool) -> CarFilters:
        """The filters that are valid; the others are left out and shown as form errors."""
        data: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()  # validates once; cleaned_data keeps the fields that passed
            data = self.cleaned_data
        brand = data.get("brand")
        ordering = data.get("ordering") or "newest"
        return CarFilters(
            search=(data.get("q") or "").strip(),
            brand=brand.slug if brand else "",
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
            year_min=data.get("year_min"),
            year_max=data.get("year_max"),
            ordering=ordering if ordering in CAR_ORDERINGS else "newest",
            include_unavailable=include_unavailable,
        )


class CarForm(forms.ModelForm):
    PHOTO_NOT_KEPT = "Choose the photo again: a file is not kept when the form has to be corrected."

    class Meta:
        model = Car
        fields = ["brand", "model", "factory_year", "model_year", "plate", "value", "photo", "bio"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}
        # Django's own check refuses some files first; it then says what is accepted too.
        error_messages = {"photo": {"invalid_image": NOT_A_PHOTO}}

    def clean_plate(self) -> str:
        return self.cleaned_data["plate"].strip().upper()

    def full_clean(self) -> None:
        super().full_clean()
        self.ask_for_the_photo_again()

    def ask_for_the_photo_again(self) -> None:
        """Say by the photo field that a chosen photo must be chosen again, if the form has errors.

        A browser never re-sends a file with a re-shown form, so without this the photo would
        vanish unnoticed. Saying so is more robust than parking uploads on the server between
        attempts. Call it again after adding errors from outside the form.
        """
        if self.errors and self.files.get("photo") and "photo" not in self.errors:
            self.add_error("photo", self.PHOTO_NOT_KEPT)


class BrandForm(forms.ModelForm):
    class Meta:
        model = Brand
        fields = ["name"]
