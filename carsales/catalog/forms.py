from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core import signing
from django.core.validators import MinValueValidator
from django.http import QueryDict

from carsales.core.money import format_money

from .facts import mileage_unit
from .models import BEFORE_FIRST_CAR_YEAR, FIRST_CAR_YEAR, VEHICLE_FACTS, Body, Brand, Car, Fuel, Transmission
from .validators import NOT_A_PHOTO


class CarForm(forms.ModelForm):
    PHOTO_NOT_KEPT = "Choose the photo again: a file is not kept when the form has to be corrected."
    # The page shows the fields in these groups, in this order (the VIN with the car's papers),
    # so the error summary, the tab order and the eye all go the same way.
    SECTIONS = {
        "The car": ("brand", "model", "factory_year", "model_year", "plate", "vin"),
        "Price and condition": ("value", "mileage"),
        "Specification": ("fuel", "transmission", "body", "colour", "doors", "seats", "engine_cc", "power_kw"),
        "Photo and description": ("photo", "bio"),
    }
    field_order = [name for names in SECTIONS.values() for name in names]

    class Meta:
        model = Car
        fields = ["brand", "model", "factory_year", "model_year", "plate", "value", *VEHICLE_FACTS, "photo", "bio"]
        widgets = {
            "bio": forms.Textarea(attrs={"rows": 4}),
            "vin": forms.TextInput(attrs={"autocapitalize": "characters"}),
        }
        labels = {"value": "Price"}
        # Django's own check refuses some files first; it then says what is accepted too.
        error_messages = {"photo": {"invalid_image": NOT_A_PHOTO}}

    # What an empty choice says, as the catalogue's filters do, rather than Django's dashes.
    CHOOSE = {"fuel": Fuel, "transmission": Transmission, "body": Body}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mileage"].label = f"Mileage in {mileage_unit()}"
        self.fields[
            "value"
        ].help_text = f"Asking price in {settings.CARSALES_CURRENCY}; empty when not yet priced (price on request)."
        self.fields["mileage"].help_text = "The odometer's reading."
        for name in ("factory_year", "model_year"):  # one bound, said once, not 0 here and 1900 after
            year = self.fields[name]
            if isinstance(year, forms.IntegerField):
                year.min_value = FIRST_CAR_YEAR
                year.widget.attrs["min"] = FIRST_CAR_YEAR
                year.validators = [v for v in year.validators if not isinstance(v, MinValueValidator)]
                year.validators.append(MinValueValidator(FIRST_CAR_YEAR, BEFORE_FIRST_CAR_YEAR))
        brand = self.fields["brand"]
        if isinstance(brand, forms.ModelChoiceField):
            brand.empty_label = "Choose a brand"
        for name, choices in self.CHOOSE.items():
            field = self.fields[name]
            if isinstance(field, forms.ChoiceField):
                field.choices = [("", "Not known"), *choices.choices]

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Each section's title and its fields, as the page shows them."""
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS.items()]

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


# Numbers the car's page writes in groups of thousands (facts.mileage_text, engine_text), unlike a year.
_GROUPED_AS_ON_THE_PAGE = {"mileage", "engine_cc"}


class CarEditForm(CarForm):
    """CarForm for a stored car, carrying the values it showed (signed): `mine` are the fields the
    person changed from those, `clashes` those someone else changed meanwhile too. A save writes
    only `mine`, so another person's change to any other field stands; a clash is asked about."""

    SHOWN_SALT = "carsales.catalog.forms.CarEditForm.shown"
    shown = forms.CharField(widget=forms.HiddenInput, required=False)
    changed_meanwhile = False  # ask_about_clashes: the fields marked are someone else's change

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stored = self._texts_of(CarForm(instance=self.instance))  # the row as read for this request
        self.shown_texts = self._posted_shown() if self.is_bound else None
        if self.shown_texts is None:  # a first showing (or a page from before this field)
            self.fields["shown"].initial = signing.dumps(self.stored, salt=self.SHOWN_SALT)
        else:  # compared with what the page showed, not with what is stored now
            for name, text in self.shown_texts.items():
                self.initial[name] = self._typed(name, text)

    @property
    def mine(self) -> list[str]:
        return [name for name in self.changed_data if name != "shown"]

    @property
    def clashes(self) -> list[str]:
        if self.shown_texts is None:
            return []
        meanwhile = {name for name, text in self.shown_texts.items() if self.stored.get(name) != text}
        return [name for name in self.mine if name in meanwhile]

    def ask_about_clashes(self) -> None:
        """Say which fields someone else changed meanwhile (the page's summary and each field's
        mark: their change, not a mistake to correct), and take what is stored as shown."""
        clashes = self.clashes
        theirs = "; ".join(
            f"{str(self.fields[name].label).lower()} is now {self.stored_display(name)}" for name in clashes
        )
        self.add_error(None, f"Someone changed this car since you opened this page: {theirs}. What you typed is "
                             "kept below: save again to replace theirs with it.")  # fmt: skip
        for name in clashes:  # marked where they are, on a long form
            self.add_error(name, f"Changed meanwhile to {self.stored_display(name)}; yours is kept here.")
        self.changed_meanwhile = True
        self.show_as_stored()

    def show_as_stored(self) -> None:
        """Take the stored values as the ones shown: the next save replaces them knowingly. The
        fields this person did not change show what is stored now, so that saving again leaves
        another's change to them standing instead of sending back what this page first showed."""
        mine = set(self.mine)
        data = QueryDict(mutable=True)
        data.update(self.data)
        for name, text in self.stored.items():
            if name not in mine:
                data.setlist(name, [] if text is None else [text])
        data["shown"] = signing.dumps(self.stored, salt=self.SHOWN_SALT)
        self.data = data

    def stored_display(self, name: str) -> str:
        """The value of field `name` as stored, as the page would show it ("$11,111", "Diesel")."""
        text = self.stored.get(name)
        if not text:
            return "empty"
        if name == "value":
            return format_money(Decimal(text))
        choices = getattr(self.fields[name], "choices", None)
        if choices is not None:
            return str({str(value): label for value, label in choices}.get(text, text))
        if name in _GROUPED_AS_ON_THE_PAGE:
            return f"{int(text):,}"
        return text

    def _posted_shown(self) -> dict[str, str | None] | None:
        try:
            return signing.loads(self.data.get("shown", ""), salt=self.SHOWN_SALT)
        except signing.BadSignature:
            return None

    def _typed(self, name: str, text: str | None) -> Any:
        try:
            return self.fields[name].to_python(text)
        except (KeyError, forms.ValidationError):
            return text

    @staticmethod
    def _texts_of(form: forms.BaseForm) -> dict[str, str | None]:
        values = {name: form[name].value() for name in form.fields if name != "photo"}
        return {name: None if value is None else str(value) for name, value in values.items()}


class BrandForm(forms.ModelForm):
    class Meta:
        model = Brand
        fields = ["name"]
