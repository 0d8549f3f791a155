from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Cart, CartItem, Order, OrderItem
from .services import OrderStateError, order_cancel, order_mark_paid, order_totals_refresh


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    autocomplete_fields = ["car"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "buyer", "status", "is_active", "total", "total_price", "placed_at", "paid_at"]
    list_filter = ["status", "is_active", "placed_at"]
    search_fields = ["id", "buyer__user__username", "buyer__user__email", "items__car__stock_code"]
    list_select_related = ["buyer__user"]
    readonly_fields = ["total", "total_price", "placed_at", "paid_at", "cancelled_at"]
    inlines = [OrderItemInline]
    actions = ["mark_paid", "cancel"]
    date_hierarchy = "placed_at"

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:  # type: ignore[no-untyped-def]
        # Inline rows are saved one by one, which sends no m2m_changed: refresh the totals here.
        super().save_related(request, form, formsets, change)
        order_totals_refresh(order_ids=[form.instance.pk])

    def _apply(self, request: HttpRequest, orders: QuerySet[Order], action, verb: str) -> None:  # type: ignore[no-untyped-def]
        done = 0
        for order in orders:
            try:
                action(order=order, actor=request.user)
                done += 1
            except OrderStateError as refusal:
                self.message_user(request, str(refusal), messages.WARNING)
        if done:
            self.message_user(request, f"{done} order(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Mark selected orders paid")
    def mark_paid(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._apply(request, queryset, order_mark_paid, "marked paid")

    @admin.action(description="Cancel selected orders")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._apply(request, queryset, order_cancel, "cancelled")


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    autocomplete_fields = ["car"]


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "buyer", "token", "created_at"]
    search_fields = ["buyer__user__username"]
    list_select_related = ["buyer__user"]
    inlines = [CartItemInline]


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    list_display = ["order", "car", "price"]
    search_fields = ["order__id", "car__stock_code", "car__model"]
    list_select_related = ["order", "car__brand"]
    readonly_fields = ["order", "car", "price"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # items are added through their order


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    list_display = ["cart", "car", "added_at"]
    search_fields = ["car__stock_code", "cart__buyer__user__username"]
    list_select_related = ["cart__buyer__user", "car__brand"]
