from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import Buyer


@transaction.atomic
def buyer_ensure(*, user: Any) -> Buyer:
    """Return the user's buyer profile, creating it if missing.

    Idempotent: a second call (a repeated signal, a retry) returns the same row. The unique
    one-to-one column is the backstop if two calls race.
    """
    buyer, _ = Buyer.objects.get_or_create(user=user)
    return buyer


@transaction.atomic
def buyer_profile_update(*, user: Any, first_name: str, last_name: str, email: str, phone: str) -> Buyer:
    """Save the contact details a user keeps on their profile; returns their buyer profile.

    The email is stored lowercased, as at sign-up. Raises ValidationError, per field, when
    another account uses the email in any case, or a value does not fit; nothing is saved then.
    """
    email = email.strip().lower()
    if get_user_model().objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": "An account with this email already exists."})
    buyer = buyer_ensure(user=user)
    user.first_name, user.last_name, user.email = first_name.strip(), last_name.strip(), email
    buyer.phone = phone.strip()
    user.full_clean(exclude=["password", "username"])
    buyer.full_clean(exclude=["user"])
    user.save(update_fields=["first_name", "last_name", "email"])
    buyer.save(update_fields=["phone"])
    return buyer


@transaction.atomic
def api_token_rotate(*, user: Any) -> Token:
    """Give `user` a new API token; the old one, if any, stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)
