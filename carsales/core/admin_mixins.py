"""Admin behaviour shared by the apps."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models import ForeignKey
from django.forms import ModelChoiceField
from django.http import HttpRequest


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
