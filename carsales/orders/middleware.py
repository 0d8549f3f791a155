"""What the viewer's cart holds, for every page's header and the car pages, read as they need it."""

from collections.abc import Callable

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.functional import SimpleLazyObject

from carsales.accounts.backends import NOT_READ, read_with_request_user

from .receivers import CART_TOKEN_SESSION_KEY
from .selectors import CART_READ_WITH_USER, cart_car_ids, cart_car_ids_as_read


class CartMiddleware:
    """Sets `request.cart_car_ids`: the ids of the cars in the viewer's cart (a frozenset), a
    signed-in user's or else the visitor's whose token their session keeps.

    Read on first use, at most once a request, by one query (none for a visitor whose session
    holds no cart token; for a signed-in GET, none of its own: read with the user), so a page that
    shows nothing of the cart pays nothing; never kept from one request to the next, so a car added
    or removed shows on the very next page. A cached page that shows it must be kept per what it
    shows (catalog.views: per count, per car in or out).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.cart_car_ids = SimpleLazyObject(lambda: _cart_car_ids(request))  # type: ignore[attr-defined]
        return self.get_response(request)


def _cart_car_ids(request: HttpRequest) -> frozenset[int]:
    if request.user.is_authenticated:
        read_with_user = read_with_request_user(request, CART_READ_WITH_USER)
        if read_with_user is not NOT_READ:
            return cart_car_ids_as_read(read_with_user)
        return cart_car_ids(user_id=request.user.pk, token=None)
    return cart_car_ids(user_id=None, token=request.session.get(CART_TOKEN_SESSION_KEY))
