from django.contrib import admin

from .models import EmailNotification


@admin.register(EmailNotification)
class EmailNotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "object_id", "recipient", "attempts", "sent_at"]
    list_filter = ["kind", "sent_at"]
    search_fields = ["recipient", "object_id"]
    readonly_fields = ["kind", "object_id", "recipient", "attempts", "last_error", "sent_at", "created_at"]
