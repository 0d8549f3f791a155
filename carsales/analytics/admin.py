from django.contrib import admin

from carsales.core.admin_mixins import RecordedOnlyAdmin

from .models import DailySales, OrderEvent


@admin.register(OrderEvent)
class OrderEventAdmin(RecordedOnlyAdmin, admin.ModelAdmin):
    list_display = ["created_at", "order_id", "kind", "amount", "cars"]
    list_filter = ["kind"]
    search_fields = ["order_id"]
    readonly_fields = ["order_id", "kind", "amount", "cars", "created_at"]


@admin.register(DailySales)
class DailySalesAdmin(RecordedOnlyAdmin, admin.ModelAdmin):
    list_display = ["day", "orders_placed", "sales_count", "revenue", "events_pruned"]
    date_hierarchy = "day"
    readonly_fields = ["day", "orders_placed", "sales_count", "revenue", "events_pruned"]
