from django.contrib import admin

from .models import Buyer


@admin.register(Buyer)
class BuyerAdmin(admin.ModelAdmin):
    list_display = ["user", "user__email", "phone", "created_at"]
    search_fields = ["user__username", "user__email", "phone"]
    list_select_related = ["user"]
    readonly_fields = ["created_at"]
