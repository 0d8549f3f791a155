from typing import Any

from django.db import transaction

from .models import Buyer


@transaction.atomic
def buyer_ensure(*, user: Any) -> Buyer:
    """Return the user's buyer profile, creating it if missing.

    Idempotent: a second call (a repeated signal, a retry) returns the same row. The unique
    one-to-one column is the backstop if two calls race.
    """
    buyer, _ = Buyer.objects.get_or_create(user=user)
    return buyer
