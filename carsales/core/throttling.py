"""API throttles on writes: reading the catalogue is never throttled, changing things is.

Rates are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["anon_write" / "user_write"], read at each
request (DRF's own classes read them once, at import), so a settings change applies at once.
"""

from typing import TYPE_CHECKING, Any, cast

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from .security import client_counted

if TYPE_CHECKING:  # DRF imports this module while it defines APIView
    from rest_framework.views import APIView


class WritesOnly:
    scope: str

    def get_ident(self, request: Request) -> str:
        """The client as the site's other limits count it: an IPv6 address by its /64."""
        return client_counted(request)

    def get_rate(self) -> str | None:
        return cast("str | None", api_settings.DEFAULT_THROTTLE_RATES[self.scope])

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)  # type: ignore[misc]


class AnonWriteThrottle(WritesOnly, AnonRateThrottle):
    """Writes by visitors, counted per address."""

    scope = "anon_write"


class UserWriteThrottle(WritesOnly, UserRateThrottle):
    """Writes by logged-in users (session or token), counted per user; staff have a scope of
    their own ("staff_write"), so a stock feed of hundreds of cars is not cut short at a buyer's rate."""

    scope = "user_write"

    def allow_request(self, request: Request, view: "APIView") -> bool:
        if request.user and request.user.is_authenticated and request.user.is_staff:
            self.scope = "staff_write"
            self.rate = self.get_rate()
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: "APIView") -> Any:
        if not request.user or not request.user.is_authenticated:
            return None  # AnonWriteThrottle counts these
        return super().get_cache_key(request, view)


class TokenRequestThrottle(WritesOnly, AnonRateThrottle):
    """Requests for an API token, per address: besides the lock-out of a name, a bound on how
    fast one address may try names and passwords at all."""

    scope = "token"
