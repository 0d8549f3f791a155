from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from carsales.core.admin_mixins import confirmed_or_asked
from carsales.core.gone import DeletedMeanwhile
from carsales.core.money import format_money

from .forms import SaleVoidForm
from .models import Sale
from .services import sale_void


def _described(sale: Sale) -> str:
    return f"Sale #{sale.pk}: order #{sale.order_id} of {sale.order.buyer}, {format_money(sale.amount)}"


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "amount", "created_at"]
    search_fields = ["order__id", "order__buyer__user__username"]
    list_select_related = ["order"]
    readonly_fields = ["order", "amount", "created_at"]
    date_hierarchy = "created_at"
    actions = ["void"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sales come from paid orders

    def has_delete_permission(self, request: HttpRequest, obj: Sale | None = None) -> bool:
        # Voiding asks why (the void action); Django's delete page and "Delete selected" would not.
        return obj is None and super().has_delete_permission(request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        description="Void selected sales (their orders are deactivated, cars back on sale)", permissions=["delete"]
    )
    def void(self, request: HttpRequest, queryset: QuerySet[Sale]) -> TemplateResponse | None:
        return confirmed_or_asked(
            self, request, queryset.select_related("order__buyer__user"), action="void", title="Void these sales?",
            consequence="The cars go back on sale and each buyer is told by email why; a buyer whose payment went "
            "through is owed a refund. Nothing undoes it.", describe=_described, asks=SaleVoidForm,
            then=lambda reason, note: self._void(request, queryset, reason=reason, note=note),
        )  # fmt: skip

    def _void(self, request: HttpRequest, queryset: QuerySet[Sale], *, reason: str, note: str) -> None:
        voided = gone = 0
        for sale in queryset:
            try:
                sale_void(sale=sale, actor=request.user, reason=reason, note=note)
                voided += 1
            except DeletedMeanwhile:  # voided by someone else while this list was read
                gone += 1
        if voided:
            self.message_user(request, "Sale(s) voided.", messages.SUCCESS)
        if gone:
            self.message_user(request, f"{gone} voided by someone else meanwhile: nothing changed.", messages.INFO)
