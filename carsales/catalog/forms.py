from typing import Any

from django import forms

from .facts import mileage_unit
from .models import VEHICLE_FACTS, Brand, Car
from .validators import NOT_A_PHOTO


class CarForm(forms.ModelForm):
    PHOTO_NOT_KEPT = "Choose the photo again: a file is not kept when the form has to be corrected."

    class Meta:
        model = Car
        fields = ["brand", "model", "factory_year", "model_year", "plate", "value", *VEHICLE_FACTS, "photo", "bio"]
        widgets = {
            "bio": forms.Textarea(attrs={"rows": 4}),
            "vin": forms.TextInput(attrs={"autocapitalize": "characters"}),
        }
        # Django's own check refuses some files first; it then says what is accepted too.
        error_messages = {"photo": {"invalid_image": NOT_A_PHOTO}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mileage"].label = f"Mileage ({mileage_unit()})"

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
