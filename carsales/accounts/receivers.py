"""Reactions of the accounts app to other apps' signals."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save

from .services import buyer_ensure

User = get_user_model()


def create_buyer_for_new_user(sender: type, instance: Any, created: bool, raw: bool, **kwargs: Any) -> None:
    """Give every new user a buyer profile, whatever created the user.

    Fixtures (`raw`) carry their own Buyer rows, and a re-save of an existing user is not a
    new user, so both are skipped.
    """
    if created and not raw:
        buyer_ensure(user=instance)


post_save.connect(create_buyer_for_new_user, sender=User, dispatch_uid="accounts.create_buyer_for_new_user")
