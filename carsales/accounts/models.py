from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

# A number's digits, its country code included: at most 15 in any country's plan (ITU E.164).
PHONE_MIN_DIGITS, PHONE_MAX_DIGITS = 6, 15
# PHONE_MIN_DIGITS to PHONE_MAX_DIGITS digits, among spaces and + ( ) - . only: what
# validate_phone admits, as the database checks it on every path (a queryset update too).
# \A and \Z, not ^ and $: Python's $ (SQLite's REGEXP) also matches before a final newline.
PHONE_PATTERN = rf"\A([ +().-]*[0-9]){{{PHONE_MIN_DIGITS},{PHONE_MAX_DIGITS}}}[ +().-]*\Z"
PHONE_RULE = (
    f"Enter a phone number: {PHONE_MIN_DIGITS} to {PHONE_MAX_DIGITS} digits, with spaces, +, ( ), - or . if you like."
)


def validate_phone(value: str) -> None:
    """A number someone can dial: digits, with spaces, + ( ) - . as people write them."""
    digits = sum(character in "0123456789" for character in value)
    if set(value) - set("0123456789 +().-") or not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS:
        raise ValidationError(PHONE_RULE, code="invalid")


class Buyer(models.Model):
    """The dealership's view of a person who may buy cars; one per user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buyer")
    phone = models.CharField(max_length=32, blank=True, validators=[validate_phone])
    # A sign-up whose emailed link is not followed yet: the only inactive account a link
    # activates. An account staff deactivated is inactive too, and stays so.
    signup_pending = models.BooleanField(default=False, editable=False)
    # An email change asked for on the profile whose link is not followed yet: said to the account
    # in every browser until the link is followed or dies, or the address changes another way.
    email_change_to = models.EmailField(blank=True, editable=False)
    email_change_from = models.EmailField(blank=True, editable=False)
    email_change_asked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(phone="") | models.Q(phone__regex=PHONE_PATTERN),
                name="buyer_phone_dialable",
                violation_error_message=PHONE_RULE,
            )
        ]

    def __str__(self) -> str:
        # The name orders are made out to; an account made without one (by staff, the API, before
        # sign-up asked for it) by its username.
        return self.user.get_full_name() or self.user.get_username()
