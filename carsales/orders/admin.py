from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from carsales.core.admin_mixins import confirmed_or_asked
from carsales.core.money import format_money

from .forms import PaymentForm, PaymentsForm
from .models import Cart, CartItem, Order, OrderItem
from .selectors import ORDER_STATES, order_search
from .services import OrderStateError, order_cancel, order_mark_paid


class OrderItemInline(admin.TabularInline):
    """Lines are written by checkout only; here they are shown, never edited."""

    model = OrderItem
    extra = 0
    fields = readonly_fields = ("car", "price", "holds_car")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderItem]:
        return super().get_queryset(request).select_related("car__brand")

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


class StateFilter(admin.SimpleListFilter):
    """The states the site's order list offers (the status alone calls a voided order "Paid")."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return ORDER_STATES

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        state = self.value()
        return order_search(queryset, status=state) if state else queryset


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders change state only through the actions, which call the services."""

    list_display = ["id", "buyer", "state", "car_count", "amount", "placed_at", "paid_at"]
    list_filter = [StateFilter, "payment_method", "placed_at"]
    search_fields = [
        "id",
        "buyer__user__username",
        "buyer__user__email",
        "items__car__stock_code",
        "=items__car__plate",
        "=items__car__vin",
        "=payment_reference",
        "=refund_reference",
    ]
    list_select_related = ["buyer__user"]
    fields = readonly_fields = (
        "buyer",
        "state",
        "status",
        "is_active",
        "total",
        "total_price",
        "placed_at",
        "paid_at",
        "payment_method",
        "payment_reference",
        "cancelled_at",
        "cancellation_reason",
        "voided_at",
        "void_reason",
        "void_note",
        "refunded_at",
        "refund_reference",
    )
    inlines = [OrderItemInline]
    actions = ["mark_paid", "cancel", "delete_finished"]

    @admin.display(description="Cars", ordering="total")
    def car_count(self, order: Order) -> int:
        return order.total

    @admin.display(description="Total price", ordering="total_price")
    def amount(self, order: Order) -> str:
        return format_money(order.total_price)

    @admin.display(description="State", ordering="status")
    def state(self, order: Order) -> str:
        """As the site says it: a paid order whose sale was voided is "Voided", not "Paid"."""
        return order.state_label

    date_hierarchy = "placed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from checkout

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False  # shown, never saved: every change is an action calling a service

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or obj.kept_because is None)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        # The page says why an order is kept (not the permission page "your role cannot...").
        order = self.get_object(request, object_id)
        why = order.kept_because if order is not None else None
        if order is not None and why is not None:
            self.message_user(request, f"Order #{order.pk} is kept: {why}.", messages.WARNING)
            return redirect("admin:orders_order_change", order.pk)
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Django's bulk delete refuses the whole selection when one order is live; ours keeps
        # the live ones with a message and deletes the rest.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Delete selected cancelled or voided orders", permissions=["delete"])
    def delete_finished(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        live = [order for order in queryset if order.kept_because is not None]
        for order in live:
            self.message_user(request, f"Order #{order.pk} was kept: {order.kept_because}.", messages.WARNING)
        deleted, _ = queryset.exclude(pk__in=[order.pk for order in live]).delete()
        if deleted:
            self.message_user(request, "The finished orders were deleted.", messages.SUCCESS)

    def _asked_then_applied(
        self, request: HttpRequest, orders: QuerySet[Order], *, action: str, title: str, consequence: str,
        transition: Callable[..., Any], verb: str, asks: type[forms.Form] | None = None,
    ) -> TemplateResponse | None:  # fmt: skip
        """Asked first, naming each order (with the fields of `asks`); once confirmed, `transition`
        on each order, given what was asked, the refused said."""

        def apply(**given: Any) -> None:
            done = 0
            for order in orders:
                try:
                    transition(order=order, actor=request.user, **given)
                    done += 1
                except OrderStateError as refusal:
                    self.message_user(request, str(refusal), messages.WARNING)
            if done:
                self.message_user(request, f"{done} order(s) {verb}.", messages.SUCCESS)

        return confirmed_or_asked(
            self, request, orders.select_related("buyer__user"), action=action, title=title, consequence=consequence,
            describe=_described, then=apply, asks=asks,
        )  # fmt: skip

    def has_transition_permission(self, request: HttpRequest) -> bool:
        """What the site and the API ask to pay or cancel others' orders: not the change form's,
        which nobody has."""
        return request.user.has_perm("orders.change_order")

    @admin.action(description="Mark selected orders paid", permissions=["transition"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Order]) -> TemplateResponse | None:
        return self._asked_then_applied(
            request, queryset, action="mark_paid", title="Mark these orders paid?", transition=order_mark_paid,
            verb="marked paid", asks=PaymentForm if queryset.count() == 1 else PaymentsForm,
            consequence="Their cars are sold to their buyers and leave the catalogue; each buyer gets a receipt by "
            "email. Only voiding a sale, with a refund, undoes it.",
        )  # fmt: skip

    @admin.action(description="Cancel selected orders", permissions=["transition"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> TemplateResponse | None:
        return self._asked_then_applied(
            request, queryset, action="cancel", title="Cancel these orders?", transition=order_cancel,
            verb="cancelled", consequence="Their reservations end, their cars go back on sale where another buyer "
            "may take them, and each buyer is told by email. Nothing undoes it.",
        )  # fmt: skip


def _described(order: Order) -> str:
    return (
        f"Order #{order.pk} of {order.buyer}, {format_money(order.total_price)}, {order.get_status_display().lower()}"
    )


class CartItemInline(admin.TabularInline):
    """Cars enter a cart through cart_item_add (availability, price, hold limit); shown here only."""

    model = CartItem
    extra = 0
    fields = readonly_fields = ("car", "added_at")

    def has_add_permission(self, request: HttpRequest, obj: Cart | None = None) -> bool:
        return False


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    """Carts are the buyers' own: shown here, never moved to another buyer (who could then hold
    more cars than the limit) nor filled by hand."""

    list_display = ["id", "buyer", "token", "created_at"]
    readonly_fields = ["buyer", "token", "created_at"]
    search_fields = ["buyer__user__username"]
    list_select_related = ["buyer__user"]
    inlines = [CartItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    list_display = ["order", "car", "price", "holds_car"]
    search_fields = ["order__id", "car__stock_code", "car__model"]
    list_select_related = ["order", "car__brand"]
    readonly_fields = ["order", "car", "price", "holds_car"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # lines are written by checkout

    def has_delete_permission(self, request: HttpRequest, obj: OrderItem | None = None) -> bool:
        return False  # a line leaves with its order's cancellation, never alone


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    list_display = ["cart", "car", "added_at"]
    readonly_fields = ["cart", "car", "added_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cars enter a cart through cart_item_add

    search_fields = ["car__stock_code", "cart__buyer__user__username"]
    list_select_related = ["cart__buyer__user", "car__brand"]
