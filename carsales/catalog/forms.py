from django import forms

from .models import Brand, Car
from .selectors import CAR_ORDERINGS, CarFilters


class CarFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Brand and model, e.g. Honda Civic"}),
    )
    brand = forms.ModelChoiceField(
        queryset=Brand.objects.all(), required=False, to_field_name="slug", empty_label="All brands"
    )
    price_min = forms.DecimalField(required=False, min_value=0, label="Min price")
    price_max = forms.DecimalField(required=False, min_value=0, label="Max price")
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

    def to_filters(self, *, include_unavailable: bool) -> CarFilters:
        data = self.cleaned_data if self.is_valid() else {}
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
    class Meta:
        model = Car
        fields = ["brand", "model", "factory_year", "model_year", "plate", "value", "status", "photo", "bio"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4})}

    def clean_plate(self) -> str:
        return self.cleaned_data["plate"].strip().upper()


class BrandForm(forms.ModelForm):
    class Meta:
        model = Brand
        fields = ["name"]
