"""Reactions of the accounts app to other apps' signals."""

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save

from .services import buyer_ensure, credentials_replaced, signup_pending_end

User = get_user_model()


def create_buyer_for_new_user(sender: type, instance: Any, created: bool, raw: bool, **kwargs: Any) -> None:
    """Give every new user a buyer profile, whatever created the user.

    Fixtures (`raw`) carry their own Buyer rows, and a re-save of an existing user is not a
    new user, so both are skipped.
    """
    if created and not raw:
        buyer_ensure(user=instance)


def revoke_credentials_on_new_password(
    sender: type, instance: Any, raw: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """A password set by any path (reset, change, the admin, a shell, a fixture bringing another
    hash) revokes the user's API tokens and lifts their lock-outs; the stored hash is compared,
    not the instance's, so a dump loaded again revokes nothing."""
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        credentials_replaced(user=instance)


pre_save.connect(
    revoke_credentials_on_new_password, sender=User, dispatch_uid="accounts.revoke_credentials_on_new_password"
)


def end_pending_sign_up_of_active_user(
    sender: type, instance: Any, raw: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """A user saved active by any path (the link, the admin, a shell) has finished signing up."""
    if not raw and instance.is_active and (update_fields is None or "is_active" in update_fields):
        signup_pending_end(user=instance)


post_save.connect(create_buyer_for_new_user, sender=User, dispatch_uid="accounts.create_buyer_for_new_user")
post_save.connect(
    end_pending_sign_up_of_active_user, sender=User, dispatch_uid="accounts.end_pending_sign_up_of_active_user"
)
