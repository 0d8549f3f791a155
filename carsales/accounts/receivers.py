"""Reactions of the accounts app to other apps' signals."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import is_password_usable
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save

from carsales.core.security import client_counted

from .services import buyer_ensure, failures_clear, lockouts_lift, signup_pending_end, signup_unfinished_stored
from .signals import account_email_owed

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
    """A password saved by any path (reset, change, the admin, a shell, a fixture bringing another
    hash) lifts the user's lock-outs; the stored hash is compared, not the instance's, so a dump
    loaded again lifts nothing. (Its API tokens are revoked by the database, on every path, a
    queryset update's too: accounts migration 0008.) Noted for tell_of_new_password,
    but from a fixture, which restores a password rather than sets one, for a first password
    (none stored, or an unusable one), and for an unfinished sign-up's (the owner of the address
    choosing it as they follow the link, account_activate): nothing the owner had was changed."""
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        lockouts_lift(username=instance.get_username())
        if not raw and stored and is_password_usable(stored) and not signup_unfinished_stored(user_id=instance.pk):
            setattr(instance, _PASSWORD_REPLACED, True)


# Set on a user being saved with a new password, from pre_save to post_save.
_PASSWORD_REPLACED = "_carsales_password_replaced"


def tell_of_new_password(sender: type, instance: Any, **kwargs: Any) -> None:
    """The account's address is told its password changed, by whichever path (the change page, a
    reset, the admin, a shell), once the row holds it: someone else may have changed it. Owed in
    the save's transaction (a durable delivery), so a change rolled back tells no one."""
    if instance.__dict__.pop(_PASSWORD_REPLACED, False):
        account_email_owed.send(sender=User, kind="password_changed", user_id=instance.pk, base_url="")


pre_save.connect(
    revoke_credentials_on_new_password, sender=User, dispatch_uid="accounts.revoke_credentials_on_new_password"
)


def end_pending_sign_up_of_active_user(
    sender: type, instance: Any, raw: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """A user saved active by any path (the link, the admin, a shell) has finished signing up."""
    if not raw and instance.is_active and (update_fields is None or "is_active" in update_fields):
        signup_pending_end(user=instance)


def clear_failures_of_every_spelling(sender: type, request: Any, user: Any, **kwargs: Any) -> None:
    """A log-in that gave the right password clears the account's failures at this address by each
    of its spellings, as axes clears the one it was typed with: the owner is not locked out next
    by a slip typed the other way."""
    if request is not None:
        failures_clear(user=user, ip_address=client_counted(request))


post_save.connect(create_buyer_for_new_user, sender=User, dispatch_uid="accounts.create_buyer_for_new_user")
post_save.connect(tell_of_new_password, sender=User, dispatch_uid="accounts.tell_of_new_password")
post_save.connect(
    end_pending_sign_up_of_active_user, sender=User, dispatch_uid="accounts.end_pending_sign_up_of_active_user"
)
user_logged_in.connect(clear_failures_of_every_spelling, dispatch_uid="accounts.clear_failures_of_every_spelling")
