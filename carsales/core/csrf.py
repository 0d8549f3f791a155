"""Django's CSRF protection at a cached page's cost.

The tokens are Django's own, checked by Django's middleware: a secret of CSRF_SECRET_LENGTH
characters in the cookie, and in each form the secret masked afresh (against BREACH: the mask,
then the secret shifted by it). Two things cost a cached page more than the rest of it, and are
done otherwise:
- the mask is drawn from one read of the system's randomness, where Django reads it once per
  character (30 µs a page, a tenth of a signed-in buyer's cached car page): on every page;
- a cached page (catalog.pages.with_own_token) does not send the cookie back to a browser that
  holds its secret already (another 40 µs). Django sends it with every page showing a form, to
  renew its expiry and its attributes: every page Django renders still does, so a browser's
  cookie is renewed by the first such page it opens (the cart, a log-in, an order).
"""

import secrets
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.middleware import csrf
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH
from django.utils.functional import SimpleLazyObject

_ALPHABET = CSRF_ALLOWED_CHARS
# A random byte at or past this would favour the alphabet's first characters.
_UNBIASED_BELOW = 256 - 256 % len(_ALPHABET)


def _random_places(count: int) -> list[int]:
    """`count` positions in the alphabet, each uniformly random, from as few reads as may be."""
    size = len(_ALPHABET)
    places: list[int] = []
    while len(places) < count:
        places += [byte % size for byte in secrets.token_bytes(2 * count) if byte < _UNBIASED_BELOW]
    return places[:count]


def _masked(secret: list[int], mask: list[int]) -> str:
    size = len(_ALPHABET)
    shifted = [(place + shift) % size for place, shift in zip(secret, mask, strict=True)]
    return "".join([_ALPHABET[place] for place in mask + shifted])


def masked_token(secret: str) -> str:
    """A form token for `secret`, as Django's get_token masks one: a new mask each call."""
    return _masked([_ALPHABET.index(char) for char in secret], _random_places(CSRF_SECRET_LENGTH))


def new_secret_and_token() -> tuple[str, str]:
    """A new CSRF secret (a cookie's value) and a form token for it."""
    places = _random_places(2 * CSRF_SECRET_LENGTH)
    secret, mask = places[:CSRF_SECRET_LENGTH], places[CSRF_SECRET_LENGTH:]
    return "".join([_ALPHABET[place] for place in secret]), _masked(secret, mask)


def get_token(request: HttpRequest, *, renew_cookie: bool = True) -> str:
    """Django's get_token, masking as masked_token does. `renew_cookie=False`: the cookie is not
    sent again to a browser that holds its secret already (a cached page's saving, above)."""
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        return csrf.get_token(request)  # none yet: Django mints it and sets its cookie
    if renew_cookie or secret != request.COOKIES.get(settings.CSRF_COOKIE_NAME):
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # as Django's: CsrfViewMiddleware sends it
    return masked_token(secret)


def context_processor(request: HttpRequest) -> dict[str, Any]:
    """`csrf_token` for templates, made by get_token when a template asks for it; in place of the
    processor Django runs first for every RequestContext (a later processor's value wins)."""
    return {"csrf_token": SimpleLazyObject(lambda: get_token(request))}
