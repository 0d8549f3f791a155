"""A per-address limit on form submissions (sign-up, password reset), counted in the cache.

Fixed windows: at most `count` POSTs per address in each `seconds`-long window. The counts live in
the default cache, so they are per process with LocMem; see CACHES in settings for deployments.
"""

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

View = Callable[..., HttpResponseBase]


def attempt_allowed(*, scope: str, key: str, count: int, seconds: int) -> bool:
    """Count one attempt by `key` at `scope`; return whether it is within `count` per window."""
    window = int(time.time() // seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    # add() then incr() is atomic in every Django cache that supports incr (LocMem, Redis, memcached).
    cache.add(cache_key, 0, timeout=seconds)
    try:
        attempts = cache.incr(cache_key)
    except ValueError:  # the window's key expired between the two calls
        cache.set(cache_key, 1, timeout=seconds)
        attempts = 1
    return attempts <= count


def post_rate_limited(scope: str) -> Callable[[View], View]:
    """Answer 429 to POSTs from an address past settings.CARSALES_RATE_LIMITS[scope] = (count, seconds).

    GETs are never counted: showing the form costs nothing. The address is REMOTE_ADDR, which
    carsales.core.security sets to the client's own behind a trusted proxy.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "POST":
                count, seconds = settings.CARSALES_RATE_LIMITS[scope]
                address = request.META.get("REMOTE_ADDR", "")
                if not attempt_allowed(scope=scope, key=address, count=count, seconds=seconds):
                    minutes = max(1, round(seconds / 60))
                    response = render(request, "rate_limited.html", {"minutes": minutes}, status=429)
                    response["Retry-After"] = str(seconds)
                    return response
            return view(request, *args, **kwargs)

        return limited

    return decorator
