"""The statement reading each request's user, and what other apps read in it."""

import pytest
from django.db.models import Value

from carsales.accounts.backends import _READ_WITH_USER, _ReadWithUser
from carsales.conftest import UserFactory

pytestmark = pytest.mark.django_db


def test_what_other_apps_read_with_the_user_is_refused_once_the_read_is_built_or_when_it_names_a_users_field():
    """The user's read is built once per connection: a registration after it would be missing from
    it for good, and one naming a field of the user would break every signed-in request."""
    reads = _ReadWithUser()
    reads.add("holds", lambda: Value(1))

    with pytest.raises(ValueError, match="'email' names something a user has already"):
        reads.add("email", lambda: Value(1))
    with pytest.raises(ValueError, match="'holds' names something"):
        reads.add("holds", lambda: Value(2))
    user = UserFactory()
    assert reads.users(user.pk).get().holds == 1
    with pytest.raises(RuntimeError, match="'late' comes too late"):
        reads.add("late", lambda: Value(1))
    assert {"cart_car_ids_read", "catalogue_version_read"} <= set(_READ_WITH_USER.expressions)
