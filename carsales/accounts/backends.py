"""Authentication by username, matched the way sign-up compares them (ignoring case), or by email.

Before it, LockoutBackend refuses every log-in of a locked-out user or address (django-axes).
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from carsales.core.prepared import PreparedQuery
from carsales.core.text import upper_per_letter

UserModel = get_user_model()


def account_for_login(identifier: str) -> User | None:
    """The account a log-in names by `identifier`: an address (it holds an @) names the account
    with that email, in any case; else a username, in its exact spelling, else in any case.
    None when it names no account, or several.

    An address belongs to the active account whose email it is, even beside an older account named
    like it: else a name chosen to look like someone's address would take their log-in by email; an
    unfinished sign-up's address comes after every name, so no stranger's sign-up takes one. Sign-up
    makes no second account of a name differing only in case from a taken one, of a name holding an
    @, nor of an address an account has, and an email change waits for its link (until then the
    address is not the account's), but older pairs and accounts staff made may share one: a name
    or an address several accounts share signs in none, for the password typed must not pick
    among them.
    """
    # NFKC, as Django's log-in form and sign-up store names: the API's log-in reads a full-width "kate" alike.
    identifier = UserModel.normalize_username(identifier)
    users = UserModel._default_manager
    owners = list(users.filter(email__iexact=identifier)[:3]) if "@" in identifier else []
    active = [owner for owner in owners if owner.is_active]
    if active:
        return active[0] if len(active) == 1 else None
    field = UserModel.USERNAME_FIELD
    for lookup in ({field: identifier}, {f"{field}__iexact": identifier}):
        named = list(users.filter(**lookup)[:2])
        if named:
            return named[0] if len(named) == 1 else None
    # An unfinished sign-up's address, last: a stranger signing up with it takes no one's log-in.
    return owners[0] if len(owners) == 1 else None


def account_named(request: Any, identifier: str) -> User | None:
    """account_for_login, once per request and identifier: axes asks for the name it counts a
    log-in's failures against several times a log-in, and each lookup may read the whole user
    table (a case-insensitive match uses no index on SQLite)."""
    if request is None:
        return account_for_login(identifier)
    named: dict[str, User | None] = getattr(request, "_request", request).__dict__.setdefault(_ACCOUNTS_NAMED, {})
    if identifier not in named:
        named[identifier] = account_for_login(identifier)
    return named[identifier]


_ACCOUNTS_NAMED = "carsales_accounts_named"


class _ReadWithUser:
    """What other apps read with the user on each signed-in request (read_with_each_request_user):
    closed once the statement reading the user is built, which it is once per connection."""

    def __init__(self) -> None:
        self.expressions: dict[str, Callable[[], Any]] = {}
        self.closed = False

    def add(self, name: str, expression: Callable[[], Any]) -> None:
        if self.closed:
            raise RuntimeError(f"{name!r} comes too late: the user's read is built already (register in ready()).")
        if name in self.expressions or hasattr(UserModel, name):
            raise ValueError(f"{name!r} names something a user has already.")
        self.expressions[name] = expression

    def users(self, pk: int) -> QuerySet[User]:
        self.closed = True
        return UserModel._default_manager.filter(pk=pk).annotate(
            **{name: expression() for name, expression in self.expressions.items()}
        )


_READ_WITH_USER = _ReadWithUser()


def read_with_each_request_user(name: str, expression: Callable[[], Any]) -> None:
    """Have `expression()` (a query expression over the user's row: OuterRef("pk")) read in the
    statement that reads the user for each signed-in request, and set on that user as `name`.
    Called from an app's ready(), before the first request: for what an app reads on nearly every
    signed-in page (the cart for the header's count), a statement of its own costs a round trip."""
    _READ_WITH_USER.add(name, expression)


_USER_BY_PK = PreparedQuery(_READ_WITH_USER.users, pk=int)

NOT_READ = object()


def read_with_request_user(request: Any, name: str) -> Any:
    """What `name` (read_with_each_request_user) read with the user of `request`, for a GET: it
    changes nothing, so that is what the database still holds (a HEAD is a GET by then). NOT_READ
    for another method (it may change it before showing it), a request no user is set on yet (a
    middleware before authentication), or a user read otherwise (an API token's)."""
    if request is None or request.method != "GET":
        return NOT_READ
    return getattr(getattr(request, "user", None), name, NOT_READ)


class CaseInsensitiveModelBackend(ModelBackend):
    """Log `BUYER` in as `buyer`, and `Buyer@Example.com` as the account with that email (see
    account_for_login); stored usernames and emails keep the spelling they were given."""

    def get_user(self, user_id: Any) -> User | None:
        # As ModelBackend's, by a query built once (core.prepared): every signed-in request reads it.
        user = _USER_BY_PK.first(pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None:
            username = kwargs.get(UserModel.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = account_named(request, username)
        if user is None:
            # Hash anyway, as ModelBackend does, so the answer takes as long as for a known name.
            UserModel().set_password(password)
            return None
        if user.check_password(password):
            if self.user_can_authenticate(user):
                return user
            if request is not None:
                # The right password for an account not active (an unfinished sign-up, maybe): the
                # log-in form tells its owner so from this, without hashing the password again, which
                # would make a wrong guess at such an account take twice as long as at any other.
                setattr(getattr(request, "_request", request), INACTIVE_ACCOUNT_MATCHED, user)
        return None

    async def aauthenticate(  # type: ignore[override]
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        # ModelBackend has an async lookup of its own, which matches the exact case only.
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The name axes counts failures against (AXES_USERNAME_CALLABLE): the name as typed, in any
    case (`ana`, `Ana` and `ANA` are one name), whether or not an account has it. Cut to what
    axes' column holds: a longer name is no account's, and its tries still count.

    Never the account a name leads to: a lock shown for an address because its account's
    username was locked told a stranger which address goes with which name. An account's
    spellings (its username, its email) are counted together apart (LockoutBackend), unseen.
    """
    source = credentials or getattr(request, "data", request.POST)
    name = source.get(UserModel.USERNAME_FIELD)
    if not isinstance(name, str):
        return None
    return lockout_spelling(name)


def lockout_spelling(name: str) -> str:
    """A name as lock-outs count it: NFKC, in any case as `iexact` matches names (a dotless i and an
    i are one letter, as are a final sigma and a sigma: upper_per_letter), cut to axes' column.
    Folded otherwise, a spelling the log-in takes for the account would get tries of its own."""
    return upper_per_letter(UserModel.normalize_username(name)).lower()[:LOCKOUT_NAME_LENGTH]


def account_spellings(account: User) -> set[str]:
    """The names a log-in may give for `account`, as lockout_username counts them."""
    return {lockout_spelling(name) for name in (account.get_username(), account.email) if name}


LOCKOUT_NAME_LENGTH = 255  # axes' AccessAttempt.username


def _failures_of(request: Any, account: User) -> int:
    """The wrong passwords given for `account` from this request's address, by any of its spellings:
    alternating them gives no more tries."""
    return sum(AxesProxyHandler.get_failures(request, {"username": name}) for name in account_spellings(account))


# The request attribute naming the inactive account whose password a log-in gave.
INACTIVE_ACCOUNT_MATCHED = "carsales_inactive_account_matched"


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
            super().authenticate(request, username, password, **kwargs)
        except AxesBackendPermissionDenied:
            # axes' middleware answers from this flag on Django's request; an API view passes
            # DRF's Request, a wrapper whose attributes the middleware never sees.
            getattr(request, "_request", request).axes_locked_out = True
            raise
        named = username if username is not None else kwargs.get(UserModel.USERNAME_FIELD)
        account = account_named(request, named) if isinstance(named, str) else None
        if account is not None and _failures_of(request, account) >= settings.AXES_FAILURE_LIMIT:
            # Its other spelling (its username, its email) used up the account's tries here: no
            # password is checked, and the log-in is told what a wrong one is told. The lock itself
            # shows on the spelling that earned it only, which tells no one whose address is whose.
            # Hashed all the same, so the answer takes as long as a wrong password's.
            UserModel().set_password(password)
            raise PermissionDenied
        return None
