"""Admin behaviour shared by the apps."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import ForeignKey, ProtectedError, QuerySet, RestrictedError
from django.forms import ModelChoiceField
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


class RecordedOnlyAdmin:
    """For rows that record what happened or are derived from other rows (snapshots, totals,
    daily figures, events, the audit log): shown, never added, changed nor deleted by hand.
    Derived figures are corrected by their recount command (reconcile_inventory,
    recount_analytics), which records the correction."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _LenientAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget, shown again for a form whose posted value is no key at all
    ("abc" for an id) as nothing chosen: Django's own looks the value up and fails (a 500)."""

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        remote = self.field.remote_field
        key = remote.model._meta.get_field(remote.field_name)

        def readable(given: Any) -> bool:
            try:
                key.to_python(given)
            except ValidationError:
                return False
            return True

        return super().optgroups(name, [given for given in value if readable(given)], attr)


class LenientAutocompleteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # for any model
    """A ModelAdmin whose autocomplete_fields show a form refused for a made-up key, not a 500."""

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = _LenientAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FiniteDecimalField(forms.DecimalField):
    """A form's decimal that is a number: "NaN", "sNaN" and "Infinity", which Decimal reads, are
    refused as it reads them (Django refuses them only when it validates). A form comparing a
    posted value with what it showed (an admin form's hidden initial values, which a person can
    edit) compared a signalling NaN, which raised: a 500."""

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # the stubs: IntegerField's
        number = super().to_python(value)
        if number is not None and not number.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number


class CheckedAgainOnRefusal(admin.ModelAdmin):  # type: ignore[type-arg]  # for any model
    """A save the database or a receiver refused (ValidationError) after the form found it valid:
    another request took the plate, or filled the gallery, in between. All of it was rolled back;
    the form is checked again against the rows as they are now and says why, with what was typed
    kept. Uploads are read again from their start. A deletion refused the same way (an order line
    committed after the page looked for the rows protecting the row), on its page or by the
    "delete selected" action, is asked again: the page now names what keeps it. So is a page
    listing what a deletion takes when a row it names was deleted by another request as it was
    listed (a visitor's cart merged away at their log-in)."""

    # Rolled back with the view's transaction, or raised before it wrote anything.
    ASKED_AGAIN = (ProtectedError, RestrictedError, ObjectDoesNotExist)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except self.ASKED_AGAIN:
            return super().delete_view(request, object_id, extra_context)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        try:
            return super().changelist_view(request, extra_context)
        except self.ASKED_AGAIN:
            return super().changelist_view(request, extra_context)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError:
            if request.method != "POST":
                raise
            for _name, uploads in request.FILES.lists():
                for upload in uploads:
                    upload.seek(0)
            return super().changeform_view(request, object_id, form_url, extra_context)


def confirmed_or_asked(
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action: str,
    title: str,
    consequence: str,
    then: Callable[..., None],
    describe: Callable[[Any], str] = str,
    asks: type[forms.Form] | None = None,
) -> TemplateResponse | None:
    """The admin action `action` on `queryset`, done (`then`) once the staff member confirmed it;
    until then the page that asks, naming each row (`describe`) and what the action does (as
    Django's own delete asks), with the fields of `asks`, whose cleaned data `then` is called
    with once valid."""
    confirmed = request.POST.get("post") == "yes"
    form = asks(request.POST if confirmed else None) if asks else None
    if confirmed and (form is None or form.is_valid()):
        then(**(form.cleaned_data if form else {}))
        return None
    context = {
        "form": form,
        **model_admin.admin_site.each_context(request),
        "title": title,
        "consequence": consequence,
        "rows": [(row, describe(row)) for row in queryset],
        "action": action,
        "opts": model_admin.model._meta,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/action_confirmation.html", context)
