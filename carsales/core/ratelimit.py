"""Limits on form submissions (sign-up, password reset), per address or per target.

Fixed windows: at most `count` attempts per key in each `seconds`-long window. The counts live
in the database (core.AttemptCount), one atomic UPDATE per attempt, so a limit holds across
every process and machine of the site out of the box.
"""

import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from .models import AttemptCount
from .security import client_counted

View = Callable[..., HttpResponseBase]


def attempt_allowed(*, scope: str, key: str, count: int, seconds: int) -> bool:
    """Count one attempt by `key` at `scope`; return whether it is within `count` per window."""
    window = int(time.time() // seconds)
    name = f"{scope}:{key}:{window}"
    with transaction.atomic():
        rows = AttemptCount.objects.filter(key=name)
        if not rows.update(count=F("count") + 1):
            try:
                with transaction.atomic():
                    AttemptCount.objects.create(
                        key=name, count=1, expires_at=datetime.fromtimestamp((window + 1) * seconds, UTC)
                    )
            except IntegrityError:  # another process created it meanwhile
                rows.update(count=F("count") + 1)
        attempts = rows.values_list("count", flat=True).get()
    AttemptCount.objects.filter(expires_at__lt=timezone.now()).delete()  # windows gone by
    return attempts <= count


@dataclass(frozen=True)
class LimitReached:
    name: str  # the count's own key, which lifting it names
    what: str
    key: str
    attempts: int
    until: datetime


def limits_reached(*, limits: Mapping[str, tuple[str, int]], shown: int = 100) -> list[LimitReached]:
    """The counts refusing someone now, the latest window first, at most `shown`; `limits` names
    each scope the caller counts (what it counts, as staff read it; how many it allows)."""
    fewest = min(count for _what, count in limits.values())
    counts = AttemptCount.objects.filter(expires_at__gt=timezone.now(), count__gt=fewest).order_by("-expires_at")
    reached = []
    for row in counts.iterator():
        scope, rest = row.key.split(":", 1)
        key = rest.rsplit(":", 1)[0]  # an IPv6 address holds colons too
        if scope in limits and row.count > limits[scope][1]:
            reached.append(LimitReached(row.key, limits[scope][0], key, row.count, row.expires_at))
            if len(reached) == shown:
                break
    return reached


def limit_lift(*, name: str, scopes: Collection[str]) -> bool:
    """Let the key of count `name` (from limits_reached) try again now, if it is one of `scopes`';
    whether there was such a count."""
    if name.split(":", 1)[0] not in scopes:
        return False
    return AttemptCount.objects.filter(key=name).delete()[0] > 0


def _wait_text(seconds: int) -> str:
    # Rounded up: told to come back in 2 hours, no one finds 59 minutes left.
    minutes = max(1, math.ceil(seconds / 60))
    return f"{math.ceil(minutes / 60)} hours" if minutes >= 120 else f"{minutes} minute{'s' if minutes > 1 else ''}"


@dataclass(frozen=True)
class Refusal:
    wait: str  # how long until the next window, in words
    seconds: int  # the same in seconds, for Retry-After


def attempt_refused(request: HttpRequest, scope: str, *, key: str | None = None) -> Refusal | None:
    """Count one attempt by `key` (by default the request's address) at `scope`; past
    settings.CARSALES_RATE_LIMITS[scope] = (count, seconds), how long to wait, else None.

    The address is REMOTE_ADDR (which carsales.core.security sets to the client's own behind a
    trusted proxy), an IPv6 one counted by its /64 (client_counted)."""
    count, seconds = settings.CARSALES_RATE_LIMITS[scope]
    if attempt_allowed(scope=scope, key=key or client_counted(request), count=count, seconds=seconds):
        return None
    left = seconds - int(time.time() % seconds)  # until this window ends, not a whole window
    return Refusal(_wait_text(left), left)


def over_limit(request: HttpRequest, scope: str, *, key: str | None = None) -> HttpResponse | None:
    """attempt_refused, answered by the 429 page (None: allowed)."""
    refusal = attempt_refused(request, scope, key=key)
    if refusal is None:
        return None
    context = {"wait": refusal.wait, "per_account": key is not None}
    return refused_with(render(request, "rate_limited.html", context, status=429), refusal)


def refused_with(response: HttpResponse, refusal: Refusal) -> HttpResponse:
    """`response` (a 429) saying when to come back."""
    response["Retry-After"] = str(refusal.seconds)
    return response


def post_rate_limited(scope: str) -> Callable[[View], View]:
    """Answer 429 to POSTs from an address past its limit at `scope` (over_limit). GETs are never
    counted: showing the form costs nothing."""

    def decorator(view: View) -> View:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            refused = over_limit(request, scope) if request.method == "POST" else None
            return refused if refused is not None else view(request, *args, **kwargs)

        return limited

    return decorator
