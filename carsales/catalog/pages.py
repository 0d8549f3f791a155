"""Catalogue pages cached by the catalogue's version (CatalogueVersion).

A request reads the version (one primary-key read, made by the statement reading the user of a
signed-in GET; on PostgreSQL none, the version being pushed to each process:
catalog.version_listener) and looks its page up under a key made of the version and everything
the page depends on (its query, what the visitor may see, how many cars their cart holds); only
a miss renders.
Every write to what the catalogue shows moves the version in its own transaction, so the next
request after a commit renders anew (on another process, with the version pushed, once the
commit's notification arrives): a price change or a reservation is never served stale. Copies
of older versions are never read again and expire after CARSALES_PAGE_CACHE_SECONDS, which also
bounds what a write outside Django (raw SQL) leaves stale. Only the parts that are the same for
every visitor of a kind are cached: never a CSRF token, a message or a name.

Pages live in their own cache (CACHES["pages"]: each process's memory, bounded), apart from the
counters the rate limits keep in the default one, and only for queries made of the parameters
the page reads: a link with made-up parameters (which the page's own links repeat) is rendered,
never stored, so it cannot fill the cache with copies nobody else asks for.

A response a view marks with shared_with_anyone is, besides, kept whole for the visitors who
bring no cookie and no credentials, and replayed to them before the session and authentication
layers run (SharedResponsesMiddleware, catalog/middleware.py).
"""

import hashlib
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import caches
from django.db import DatabaseError, connection
from django.db.models import Subquery
from django.http import HttpRequest, QueryDict
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.crypto import salted_hmac

from carsales.accounts.backends import NOT_READ, read_with_request_user
from carsales.core.csrf import get_token

from .models import CatalogueVersion
from .version_listener import pushed_version, read_version, version_sql

T = TypeVar("T")
R = TypeVar("R", bound=HttpResponseBase)


def catalogue_version(request: HttpRequest | None = None) -> int:
    """The catalogue's version as committed; 0 before its first write. For a `request`, the
    version SharedResponsesMiddleware read for it when it looked for a copy and found none.

    Read on every catalogue request, cached or not: one primary-key read (version_sql), made by
    the statement that read the user for a signed-in GET (version_of_the_catalogue). On
    PostgreSQL, with CARSALES_CATALOGUE_VERSION_PUSHED, no read at all while this process hears
    the version's notifications (catalog.version_listener says when it cannot and reads).

    On a connection kept from an earlier request it is also the request's health check, in place
    of Django's (a SELECT 1 before it, one round trip more than a cached page needs): a connection
    found broken by it (the database restarted meanwhile) is closed and the read made again on a
    new one, as Django would have done after its own check.
    """
    read_ahead = getattr(request, _VERSION_READ, None)
    if read_ahead is not None:
        return cast(int, read_ahead)
    pushed = pushed_version(connection.alias)  # PostgreSQL's notifications, when listened to
    if pushed is not None:
        return pushed
    read_with_user = read_with_request_user(request, VERSION_READ_WITH_USER)
    if read_with_user is not NOT_READ and read_with_user is not None:  # None: no row yet, read below
        return int(read_with_user)
    kept: Any = connection  # django-stubs lack the health check's attributes (Django 4.1+)
    checks_health = (
        kept.connection is not None
        and kept.health_check_enabled
        and not kept.health_check_done
        and not kept.in_atomic_block
    )
    if checks_health:
        kept.health_check_done = True
    try:
        return _version_read()
    except DatabaseError:
        if not checks_health or connection.is_usable():
            raise  # not a broken connection
    connection.close()
    return _version_read()


_VERSION_READ = "_catalogue_version_read"
VERSION_READ_WITH_USER = "catalogue_version_read"


def version_of_the_catalogue() -> Subquery:
    """The version's number, as a subquery: read with the user on each signed-in request
    (accounts.backends.read_with_each_request_user, CatalogConfig.ready), one statement fewer."""
    return Subquery(CatalogueVersion.objects.filter(singleton=True).values("number")[:1])


def version_read_for(request: HttpRequest, version: int) -> None:
    """Note the version read for `request`, for the views it reaches (catalogue_version(request))."""
    setattr(request, _VERSION_READ, version)


def _version_read() -> int:
    def read() -> int:
        with connection.cursor() as cursor:
            cursor.execute(version_sql(connection.alias))
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    return read_version(connection.alias, read)


def cacheable_query(
    params: QueryDict, *, known: Collection[str], sent: str
) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """The query as a cache key's part, in a canonical order; None when it holds a parameter not
    in `known` (what the page reads), or when it was `sent` (the QUERY_STRING) with raw bytes past
    ASCII, which links rebuilt from it (the API's next page) read otherwise than the same query
    sent encoded: such a page is rendered but not stored."""
    if not params.keys() <= set(known) or not sent.isascii():
        return None
    return tuple(sorted((name, tuple(values)) for name, values in params.lists()))


def catalogue_cached(*parts: Any, render: Callable[[], T | None], version: int | None = None) -> T | None:
    """What `render()` makes of `parts` (a page, an API page's data) at the current version (or
    `version`, read once by a request caching several parts): from the cache, else rendered and
    stored unless it is None (no page: a redirect, an error). A part that is None (a query
    `cacheable_query` refused) renders without the cache.

    A copy lives CARSALES_PAGE_CACHE_SECONDS from when the oldest copy it was made of was made
    (a page laid out around a fragment cached earlier expires with that fragment), so the bound
    on what a write outside Django leaves stale holds however copies are nested."""
    if any(part is None for part in parts):
        return render()
    key = version_key(catalogue_version() if version is None else version, *parts)
    page = copy_kept(key)
    if page is not None:
        return cast(T, page)
    with oldest_part() as oldest:
        page = render()
    if page is not None:
        keep_copy(key, page, made_at=oldest.made_at)
    return page


def copy_kept(key: str) -> Any | None:
    """The copy kept under `key` (keep_copy), or None."""
    stored = caches["pages"].get(key)
    if stored is None:
        return None
    made_at, copy = stored
    _note_made_at(made_at)
    return copy


def keep_copy(key: str, copy: Any, *, made_at: float) -> None:
    """Store `copy`, made from copies the oldest of which was made at `made_at` (a time.time()),
    for what is left of that one's lifetime."""
    _note_made_at(made_at)
    left = int(made_at + settings.CARSALES_PAGE_CACHE_SECONDS - time.time())
    if left > 0:
        caches["pages"].set(key, (made_at, copy), left)


class _OldestPart:
    def __init__(self) -> None:
        self.made_at = time.time()  # nothing older used yet: made now

    def note(self, made_at: float) -> None:
        self.made_at = min(self.made_at, made_at)


_oldest: ContextVar[_OldestPart | None] = ContextVar("catalogue_oldest_part", default=None)


@contextmanager
def oldest_part() -> Iterator[_OldestPart]:
    """When the oldest cached copy used inside the block was made (or the block began)."""
    oldest = _OldestPart()
    token = _oldest.set(oldest)
    try:
        yield oldest
    finally:
        _oldest.reset(token)


def _note_made_at(made_at: float) -> None:
    enclosing = _oldest.get()
    if enclosing is not None:
        enclosing.note(made_at)


def version_key(version: int, *parts: Any) -> str:
    """The pages cache's key for `parts` at `version` of the catalogue, on this day: cards say how
    long a car has been in stock, and price drops are recent ones."""
    made_of = (version, timezone.localdate(), *parts)
    return "catalogue:" + hashlib.sha256(repr(made_of).encode()).hexdigest()


# Where a page rendered for many visitors takes each one's CSRF token. Derived from the secret
# key, so no link (?q=...) can plant it in a page; the same on every process.
CSRF_TOKEN_SLOT = "csrf-token-slot-" + salted_hmac("catalog.csrf-token-slot", "").hexdigest()[:20]
_TOKEN_PUT_IN_LATER = "_catalogue_token_put_in_later"


def with_own_token(page: str, request: HttpRequest) -> str:
    """`page` with the visitor's CSRF token in its slots; left in them for a request whose token
    SharedResponsesMiddleware puts in on the way out (token_put_in_later), so the page can be kept."""
    if CSRF_TOKEN_SLOT not in page or getattr(request, _TOKEN_PUT_IN_LATER, False):
        return page  # minted only for a page with a form: a first visit's sets a cookie
    return page.replace(CSRF_TOKEN_SLOT, get_token(request, renew_cookie=False))


def token_put_in_later(request: HttpRequest) -> None:
    """The response to `request` gets its CSRF token put in its slots on the way out."""
    setattr(request, _TOKEN_PUT_IN_LATER, True)


_SHARED_AT = "_catalogue_shared_at"


def shared_with_anyone(response: R, version: int, *, names_site: bool = False) -> R:
    """Mark `response`, made from the catalogue at `version`, as the one every request for its
    path and query (parsed), and with the same values of the headers it varies on, gets when it
    brings no cookie and no credentials: SharedResponsesMiddleware may replay it to them (unless
    it sets a cookie). `names_site`: its body names the site as asked (absolute links), so the
    copy is kept per scheme and host too."""
    setattr(response, _SHARED_AT, (version, names_site))
    return response


def shared_as(response: HttpResponseBase) -> tuple[int, bool] | None:
    """(version, names_site) a response was marked shared with (shared_with_anyone), or None."""
    return getattr(response, _SHARED_AT, None)
