from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from carsales.core.admin_mixins import (
    CheckedAgainOnRefusal,
    FiniteDecimalField,
    LenientAutocompleteAdmin,
    RecordedOnlyAdmin,
)

from .facts import days_in_stock, sees_stock_details
from .models import Brand, BrandSlugHistory, Car, CarPhoto, CarStatus, CarVinReport, CatalogueVersion, PriceChange
from .selectors import cars_in_stock_for, gallery_refusal
from .services import (
    StockError,
    brand_create,
    brand_old_slug_forget,
    brand_rename,
    brand_slug_available,
    car_insert,
    car_update,
    cars_relist,
    cars_withdraw,
)


@admin.register(CatalogueVersion)
class CatalogueVersionAdmin(RecordedOnlyAdmin, admin.ModelAdmin):
    """Moved by every write to what the catalogue shows; cached pages are keyed by it."""

    list_display = readonly_fields = ("number",)


@admin.register(BrandSlugHistory)
class BrandSlugHistoryAdmin(admin.ModelAdmin):
    """Old slugs, kept by brand_rename so old links lead on; deleting one breaks those links."""

    list_display = ["slug", "brand", "created_at"]
    search_fields = ["slug", "brand__name"]
    readonly_fields = ["slug", "brand", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: BrandSlugHistory) -> None:
        brand_old_slug_forget(old_slugs=BrandSlugHistory.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BrandSlugHistory]) -> None:
        brand_old_slug_forget(old_slugs=queryset)

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: int) -> HttpResponse:
        response = super().response_delete(request, obj_display, obj_id)
        if isinstance(response, HttpResponseRedirect):  # back to the list, not the admin's index (no change perm)
            return HttpResponseRedirect(reverse("admin:catalog_brandslughistory_changelist"))
        return response


class BrandAdminForm(forms.ModelForm):
    class Meta:
        model = Brand
        fields = ["name"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        # Checked here so that a name no slug can be made of is a form error, not a failed save.
        try:
            brand_slug_available(name=name, brand=self.instance if self.instance.pk else None)
        except ValidationError as error:
            raise ValidationError(error.message_dict["name"])
        return name


@admin.register(Brand)
class BrandAdmin(CheckedAgainOnRefusal):
    form = BrandAdminForm
    list_display = ["name", "slug", "car_count"]
    search_fields = ["name"]
    # Said outright: the car count's GROUP BY drops the model's default ordering, so the list and
    # the brand picker's pages (autocomplete) came in no set order.
    ordering = list(Brand._meta.ordering or ())
    # The slug is never typed in by hand: brand_create gives a new brand one no brand has nor
    # had (an old slug keeps leading to its brand), and brand_rename moves it with the name.
    readonly_fields = ["slug"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Brand]:
        return super().get_queryset(request).annotate(car_count=Count("cars"))

    def save_model(self, request: HttpRequest, obj: Brand, form: Any, change: bool) -> None:
        if not change:
            created = brand_create(name=obj.name)
            obj.pk, obj.slug = created.pk, created.slug
        elif "name" in form.changed_data:
            brand_rename(brand=obj, name=obj.name)

    @admin.display(ordering="car_count", description="Cars")
    def car_count(self, brand: Brand) -> int:
        return brand.car_count  # type: ignore[attr-defined]


@admin.register(PriceChange)
class PriceChangeAdmin(admin.ModelAdmin):
    """Kept by the car's saves: shown, never written here (a price is changed on the car)."""

    list_display = ["car", "old_value", "new_value", "changed_by_name", "changed_at"]
    list_select_related = ["car__brand"]
    search_fields = ["car__stock_code", "car__model"]
    date_hierarchy = "changed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CarVinReport)
class CarVinReportAdmin(admin.ModelAdmin):
    """Written by the VIN decoding after a car's save; a new VIN writes it again, a cleared one
    deletes it, and it goes with its car."""

    list_display = ["car", "vin", "manufacturer", "country", "problem", "decoded_at"]
    list_select_related = ["car__brand"]
    search_fields = ["vin", "car__stock_code"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CarPhotoForm(forms.ModelForm):
    """A photo added here fits in its car's gallery, or the form says how many more fit."""

    class Meta:
        model = CarPhoto
        fields = ["car", "image", "position"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        car = data.get("car")
        refusal = gallery_refusal(car_id=car.pk, adding=1) if car is not None and self.instance._state.adding else None
        if refusal:
            self.add_error("car", refusal)
        return data


@admin.register(CarPhoto)
class CarPhotoAdmin(CheckedAgainOnRefusal):
    form = CarPhotoForm
    list_display = ["car", "position", "image", "uploaded_at"]
    list_select_related = ["car__brand"]
    readonly_fields = ["large", "small"]
    search_fields = ["car__stock_code", "car__model"]

    def get_readonly_fields(self, request: HttpRequest, obj: CarPhoto | None = None) -> list[str]:
        return [*self.readonly_fields, "car"] if obj is not None else list(self.readonly_fields)  # stays with its car


class GalleryFormSet(forms.BaseInlineFormSet):
    """The photos added, less those deleted, fit in the gallery; else none is saved."""

    def clean(self) -> None:
        super().clean()
        added = deleted = 0
        for form in self.forms:
            dropped = bool(getattr(form, "cleaned_data", {}).get("DELETE"))
            if form.instance.pk is None:
                added += form.has_changed() and not dropped
            else:
                deleted += dropped
        if refusal := gallery_refusal(car_id=self.instance.pk, adding=added - deleted):
            raise ValidationError(refusal)


class CarPhotoInline(admin.TabularInline):
    """The gallery after the cover; uploads are published and their renditions made as on the site."""

    model = CarPhoto
    formset = GalleryFormSet
    fields = ["image", "position", "large", "small"]
    readonly_fields = ["large", "small"]
    extra = 0


IN_STOCK_FOR_DAYS = (30, 60, 90, 180)


class InStockForFilter(admin.SimpleListFilter):
    title = "in stock for"
    parameter_name = "in_stock_days_min"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(days), f"{days} days or more") for days in IN_STOCK_FOR_DAYS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Car]) -> QuerySet[Car]:
        value = self.value()
        days = {str(days): days for days in IN_STOCK_FOR_DAYS}.get(value or "")
        return cars_in_stock_for(queryset, days=days) if days is not None else queryset


@admin.register(Car)
class CarAdmin(CheckedAgainOnRefusal, LenientAutocompleteAdmin):
    # Its change form posts the values it showed (hidden initials, below), read as numbers.
    formfield_overrides = {models.DecimalField: {"form_class": FiniteDecimalField}}
    list_display = [
        "thumb", "stock_code", "brand", "model", "model_year", "plate", "value", "status", "days_in_stock", "created_at"
    ]  # fmt: skip
    list_display_links = ["thumb", "stock_code"]
    list_filter = ["status", InStockForFilter, "brand", "fuel", "transmission", "body", "model_year"]
    search_fields = ["model", "brand__name", "plate", "stock_code", "vin"]
    list_select_related = ["brand"]
    autocomplete_fields = ["brand"]
    # status is shown, never edited: it moves with the order flow.
    readonly_fields = ["stock_code", "status", "thumbnail", "thumbnail_webp", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [CarPhotoInline]

    class Media:
        css = {"all": ["css/admin.css"]}

    actions = ["withdraw", "relist"]

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        """What deleting these cars takes: a car's price history and VIN report go with it, though
        no one may delete either by itself (Django asked for those permissions too, refusing every car)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        going_with_the_car = {str(model._meta.verbose_name) for model in (PriceChange, CarVinReport)}
        return deleted, counts, perms_needed - going_with_the_car, protected

    # Staff who may only look (a Salesperson) see no withdrawn car, as on the site and the API
    # (catalog.facts.sees_stock_details); plates and VINs whole, as any staff who may see cars.
    def get_queryset(self, request: HttpRequest) -> QuerySet[Car]:
        cars = super().get_queryset(request)
        return cars if sees_stock_details(request.user) else cars.exclude(status=CarStatus.WITHDRAWN)

    @admin.action(description="Withdraw the selected cars from sale", permissions=["change"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Car]) -> None:
        self._switch(request, queryset, cars_withdraw, "withdrawn from sale")

    @admin.action(description="Put the selected withdrawn cars back on sale", permissions=["change"])
    def relist(self, request: HttpRequest, queryset: QuerySet[Car]) -> None:
        self._switch(request, queryset, cars_relist, "back on sale")

    def _switch(self, request: HttpRequest, queryset: QuerySet[Car], transition: Any, done: str) -> None:
        try:
            cars = transition(car_ids=list(queryset.values_list("pk", flat=True)))
        except StockError as refusal:
            self.message_user(request, str(refusal), messages.WARNING)
        else:
            self.message_user(request, f"{len(cars)} car(s) {done}.", messages.SUCCESS)

    def get_form(self, request: HttpRequest, obj: Car | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if change:
            # Each field posts the value it showed, and the form's changes are judged against it
            # (not against the row as read when saving): another person's change meanwhile to a
            # field this form left alone is not written back.
            for name, field in form.base_fields.items():
                field.show_hidden_initial = name != "photo"
        return form

    def save_model(self, request: HttpRequest, obj: Car, form: Any, change: bool) -> None:
        # Through the service, like the car form: an edit of a car deleted meanwhile fails
        # instead of bringing it back.
        if change:  # what the form changed (it has set them on obj): others' changes meanwhile stand
            car_update(car=obj, **{name: getattr(obj, name) for name in form.changed_data if name in form.cleaned_data})
        else:
            car_insert(obj)

    @admin.display(description="Days in stock", ordering="-created_at")
    def days_in_stock(self, car: Car) -> int | str:
        days = days_in_stock(car)
        return "—" if days is None else days

    @admin.display(description="")
    def thumb(self, car: Car) -> str:
        if not car.thumbnail:
            return "—"
        return format_html('<img src="{}" alt="{}" class="admin-thumb">', car.thumbnail.url, car)
