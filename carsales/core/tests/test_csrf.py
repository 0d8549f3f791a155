"""CSRF tokens minted by carsales.core.csrf are Django's: checked by Django's own middleware, a new
mask each time; a cached page sends its cookie to a browser only when that browser lacks its
secret, a page Django renders as Django does (renewing it)."""

from collections import Counter

import pytest
from django.conf import settings
from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CSRF_SECRET_LENGTH,
    CSRF_TOKEN_LENGTH,
    _unmask_cipher_token,
)
from django.test import Client, override_settings

from carsales.conftest import CarFactory, UserFactory
from carsales.core.csrf import masked_token, new_secret_and_token
from carsales.core.testing import csrf_token_in

pytestmark = pytest.mark.django_db


def test_a_masked_token_unmasks_to_its_secret_with_djangos_own_unmasking_and_a_new_mask_each_time():
    secret = new_secret_and_token()[0]

    tokens = [masked_token(secret) for _ in range(200)]

    assert all(len(token) == CSRF_TOKEN_LENGTH and set(token) <= set(CSRF_ALLOWED_CHARS) for token in tokens)
    assert {_unmask_cipher_token(token) for token in tokens} == {secret}
    assert len({token[:CSRF_SECRET_LENGTH] for token in tokens}) == len(tokens)


def test_a_new_secret_comes_with_a_token_for_it():
    pairs = [new_secret_and_token() for _ in range(200)]

    assert all(len(secret) == CSRF_SECRET_LENGTH and _unmask_cipher_token(token) == secret for secret, token in pairs)
    assert len({secret for secret, _ in pairs}) == len(pairs)


def test_every_character_is_drawn_as_often_as_the_others():
    """The masks come from random bytes, those past the alphabet's last whole multiple thrown away:
    a byte kept modulo 62 would draw the first eight characters one time in four more often."""
    drawn = Counter("".join(new_secret_and_token()[1][:CSRF_SECRET_LENGTH] for _ in range(6_200)))

    expected = 6_200 * CSRF_SECRET_LENGTH / len(CSRF_ALLOWED_CHARS)  # 3,200 each
    assert set(drawn) == set(CSRF_ALLOWED_CHARS)
    assert all(abs(count - expected) < 300 for count in drawn.values()), drawn  # > 5 standard deviations


def _form_page(client: Client, car_pk: int) -> tuple[str, str | None]:
    response = client.get(f"/cars/{car_pk}/?from=test")  # past the copy kept for a visitor bringing nothing
    sent = response.cookies.get(settings.CSRF_COOKIE_NAME)
    return csrf_token_in(response), sent.value if sent else None


def test_a_cached_page_sends_the_cookie_to_a_browser_lacking_the_secret_only_and_the_tokens_pass_djangos_check():
    car = CarFactory()
    browser = Client(enforce_csrf_checks=True)

    token, given = _form_page(browser, car.pk)
    again, resent = _form_page(browser, car.pk)

    assert given and resent is None and browser.cookies[settings.CSRF_COOKIE_NAME].value == given
    assert token != again and _unmask_cipher_token(again) == given
    assert browser.post(f"/cart/add/{car.pk}/", {"csrfmiddlewaretoken": again}).status_code == 302
    assert browser.post(f"/cart/add/{car.pk}/", {"csrfmiddlewaretoken": "x" * CSRF_TOKEN_LENGTH}).status_code == 403

    # Logging in rotates the secret: the browser is given the new one, then holds it.
    user = UserFactory()
    logged_in = browser.post(
        "/accounts/login/", {"username": user.username, "password": "pass-word-123", "csrfmiddlewaretoken": again}
    )
    rotated = logged_in.cookies[settings.CSRF_COOKIE_NAME].value
    assert logged_in.status_code == 302 and rotated != given
    token, resent = _form_page(browser, car.pk)
    assert resent is None and _unmask_cipher_token(token) == rotated


def test_a_cookie_holding_a_masked_token_is_replaced_by_its_secret():
    car = CarFactory()
    secret, token = new_secret_and_token()
    browser = Client(enforce_csrf_checks=True)
    browser.cookies[settings.CSRF_COOKIE_NAME] = token  # as Django before 4.1 set it

    _, sent = _form_page(browser, car.pk)

    assert sent == secret


def test_a_page_django_renders_renews_the_cookie_with_the_settings_of_the_day():
    """A cached page leaves a held cookie as it is: the next page Django renders renews it, its
    expiry and its attributes (a SameSite tightened since the browser was given it)."""
    car = CarFactory()
    browser = Client()
    _, given = _form_page(browser, car.pk)

    with override_settings(CSRF_COOKIE_SAMESITE="Strict"):
        _, on_a_cached_page = _form_page(browser, car.pk)
        renewed = browser.get("/accounts/login/").cookies[settings.CSRF_COOKIE_NAME]

    assert given and on_a_cached_page is None
    assert renewed.value == given and renewed["samesite"] == "Strict" and renewed["max-age"] == settings.CSRF_COOKIE_AGE
