"""Authentication that matches usernames the way sign-up compares them: ignoring case.

Before it, LockoutBackend refuses every log-in of a locked-out user or address (django-axes).
"""

from typing import Any

from asgiref.sync import sync_to_async
from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest

UserModel = get_user_model()


class CaseInsensitiveModelBackend(ModelBackend):
    """Log `BUYER` in as `buyer`; stored usernames keep the spelling their owners chose.

    Sign-up refuses a name differing only in case from a taken one, but older pairs may exist:
    the exact spelling wins then, and a case variant matching several accounts logs in none.
    """

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None:
            username = kwargs.get(UserModel.USERNAME_FIELD)
        if username is None or password is None:
            return None
        field = UserModel.USERNAME_FIELD
        users = UserModel._default_manager
        try:
            user = users.get(**{field: username})
        except UserModel.DoesNotExist:
            try:
                user = users.get(**{f"{field}__iexact": username})
            except (UserModel.DoesNotExist, UserModel.MultipleObjectsReturned):
                # Hash anyway, as ModelBackend does, so the answer takes as long as for a known name.
                UserModel().set_password(password)
                return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    async def aauthenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        # ModelBackend has an async lookup of its own, which matches the exact case only.
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The name axes counts failures against (AXES_USERNAME_CALLABLE): as log-in matches it, in any case.

    Otherwise `ana`, `Ana` and `ANA` would each get their own five tries at the same account.
    Cut to what axes' column holds: a longer name is no account's, and its tries still count.
    """
    source = credentials or getattr(request, "data", request.POST)
    name = source.get(UserModel.USERNAME_FIELD)
    return name.lower()[:LOCKOUT_NAME_LENGTH] if isinstance(name, str) else None


LOCKOUT_NAME_LENGTH = 255  # axes' AccessAttempt.username


class LockoutBackend(AxesStandaloneBackend):
    """axes' lockout check, first in AUTHENTICATION_BACKENDS: it covers every `authenticate()`
    made for a request, whichever view makes it (site log-in, admin, API token).
    """

    def authenticate(  # type: ignore[override]
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            # No client to lock out: a shell, a management command, the test client's login().
            return None
        try:
            return super().authenticate(request, username, password, **kwargs)
        except AxesBackendPermissionDenied:
            # axes' middleware answers from this flag on Django's request; an API view passes
            # DRF's Request, a wrapper whose attributes the middleware never sees.
            getattr(request, "_request", request).axes_locked_out = True
            raise
