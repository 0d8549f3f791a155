from django.conf import settings
from django.db import models


class Buyer(models.Model):
    """The dealership's view of a person who may buy cars; one per user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buyer")
    phone = models.CharField(max_length=32, blank=True)
    # A sign-up whose emailed link is not followed yet: the only inactive account a link
    # activates. An account staff deactivated is inactive too, and stays so.
    signup_pending = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.user.get_username()
