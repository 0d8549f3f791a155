"""Catalogue pages cached by the catalogue's version (CatalogueVersion).

A request reads the version (one primary-key read) and looks its page up under a key made of
the version and everything the page depends on (its query, what the visitor may see); only a
miss renders. Every write to what the catalogue shows moves the version in its own transaction,
so the next request after a commit, on any process, renders anew: a price change or a
reservation is never served stale. Copies of older versions are never read again and expire
after CARSALES_PAGE_CACHE_SECONDS, which also bounds what a write outside Django (raw SQL) leaves
stale. Only the parts that are the same for every visitor of a kind are cached: never a CSRF
token, a message or a name.
"""

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from .models import CatalogueVersion

T = TypeVar("T")


def catalogue_version() -> int:
    """The catalogue's version as committed; 0 before its first write.

    Read on every catalogue request, cached or not: one primary-key read, written by hand since
    building it with the ORM cost more than the read itself (a third of a cached page on SQLite).
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('number')} FROM {quote(CatalogueVersion._meta.db_table)} WHERE {quote('singleton')}"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def catalogue_cached(*parts: Any, render: Callable[[], T | None], version: int | None = None) -> T | None:
    """What `render()` makes of `parts` (a page, an API page's data) at the current version (or
    `version`, read once by a request caching several parts): from the cache, else rendered and
    stored unless it is None (no page: a redirect, an error)."""
    # The day too: cards say how long a car has been in stock, and price drops are recent ones.
    made_of = (catalogue_version() if version is None else version, timezone.localdate(), *parts)
    key = "catalogue:" + hashlib.sha256(repr(made_of).encode()).hexdigest()
    page = cache.get(key)
    if page is None:
        page = render()
        if page is not None:
            cache.set(key, page, settings.CARSALES_PAGE_CACHE_SECONDS)
    return page
