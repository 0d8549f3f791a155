"""Whom the app believes about scheme and client address, how much body it accepts, deploy checks."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.utils.cache import add_never_cache_headers, patch_cache_control

from carsales.core.security import PrivatePagesMiddleware, TrustedProxyMiddleware

PROXY_SSL = ("HTTP_X_FORWARDED_PROTO", "https")


def seen_by_the_view(**meta: str) -> HttpRequest:
    seen: list[HttpRequest] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse()

    TrustedProxyMiddleware(view)(RequestFactory().get("/", **meta))
    return seen[0]


@override_settings(SECURE_PROXY_SSL_HEADER=PROXY_SSL, TRUSTED_PROXIES=["10.0.0.5"])
def test_a_forged_forwarded_proto_from_an_untrusted_address_does_not_make_the_request_secure():
    request = seen_by_the_view(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_PROTO="https")

    assert request.is_secure() is False


@override_settings(SECURE_PROXY_SSL_HEADER=PROXY_SSL, TRUSTED_PROXIES=["10.0.0.0/24"])
def test_the_forwarded_proto_of_a_trusted_proxy_makes_the_request_secure():
    request = seen_by_the_view(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_PROTO="https")

    assert request.is_secure() is True


@override_settings(TRUSTED_PROXIES=["10.0.0.5"])
def test_a_forwarded_for_from_an_untrusted_address_does_not_change_the_client_address():
    request = seen_by_the_view(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert request.META["REMOTE_ADDR"] == "203.0.113.9"
    assert "HTTP_X_FORWARDED_FOR" not in request.META


@override_settings(TRUSTED_PROXIES=["10.0.0.5", "10.0.0.6"])
def test_behind_trusted_proxies_the_client_is_the_last_address_they_did_not_add_themselves():
    # The left-most entry is whatever the client wrote; only what trusted proxies appended counts.
    request = seen_by_the_view(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7, 10.0.0.6")

    assert request.META["REMOTE_ADDR"] == "198.51.100.7"


@pytest.mark.django_db
def test_a_request_declaring_a_body_over_the_limit_is_refused_unread(client):
    too_long = str(settings.CARSALES_MAX_REQUEST_BYTES + 1)

    response = client.post(
        "/accounts/login/", b"tiny", content_type="application/octet-stream", CONTENT_LENGTH=too_long
    )

    assert response.status_code == 413
    assert b"too large" in response.content


@pytest.mark.django_db
@override_settings(CARSALES_MAX_REQUEST_BYTES=1024)
def test_a_body_within_the_limit_reaches_the_view(client):
    response = client.post("/accounts/login/", {"username": "ana", "password": "x" * 100})

    assert response.status_code == 200


def test_the_deploy_check_is_clean_under_the_production_settings():
    # The browser tests' switch (carsales/e2e/conftest.py) is no part of a deployment.
    inherited = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "carsales.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "cars.example.com",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "no issues (0 silenced)" in result.stdout


@pytest.mark.django_db
def test_private_pages_are_never_cached_and_what_depends_on_nobody_may_be(buyer_client):
    from django.test import Client

    from carsales.conftest import CarFactory

    car = CarFactory()
    public = Client().get("/favicon.ico")
    private = [buyer_client.get(path) for path in ("/cart/", "/orders/", "/accounts/profile/", f"/cars/{car.pk}/")]

    assert "no-store" not in public.get("Cache-Control", "")
    for response in private:
        assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"], response


def test_the_database_connection_has_a_timeout_on_postgresql():
    import importlib
    import os

    from carsales.settings import base

    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = "postgres://u@db.example/carsales"
    try:
        settings_module = importlib.reload(base)
        assert settings_module.DATABASES["default"]["OPTIONS"]["connect_timeout"] == 5
    finally:
        if previous is None:
            del os.environ["DATABASE_URL"]
        else:
            os.environ["DATABASE_URL"] = previous
        importlib.reload(base)


def test_each_gunicorn_instance_has_a_control_socket_of_its_own(monkeypatch):
    import runpy
    from pathlib import Path

    config = str(Path(__file__).resolve().parents[3] / "gunicorn.conf.py")
    sockets = set()
    for address in ("127.0.0.1:8000", "127.0.0.1:8001", "0.0.0.0:8000"):
        monkeypatch.setenv("GUNICORN_BIND", address)
        sockets.add(runpy.run_path(config)["control_socket"])

    assert len(sockets) == 3


def test_database_connections_persist_and_are_checked_by_default():
    from carsales.settings import base

    assert base.DATABASES["default"]["CONN_MAX_AGE"] == 60
    assert base.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def test_a_private_page_carries_what_djangos_never_cache_helpers_would_write():
    expected = HttpResponse()
    add_never_cache_headers(expected)
    patch_cache_control(expected, private=True)
    request = HttpRequest()

    def varies_on_cookie(_request):
        response = HttpResponse()
        response["Vary"] = "Cookie"
        return response

    written = PrivatePagesMiddleware(varies_on_cookie)(request)

    assert written["Cache-Control"] == expected["Cache-Control"]
    assert written.has_header("Expires") and expected.has_header("Expires")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/cart/", "/api/cars/"])
def test_a_session_cookie_quoting_a_nul_byte_is_no_session_not_a_500(url):
    """Django's cookie parser turns the quoted \\000 into a NUL byte, which PostgreSQL refuses in text."""
    response = Client().get(url, HTTP_COOKIE='sessionid="abcdefgh\\000"')

    assert response.status_code == 200


@pytest.mark.django_db
def test_an_api_token_holding_a_nul_byte_is_a_401_not_a_500():
    response = Client().get("/api/cars/", HTTP_AUTHORIZATION="Token abc\x00def")

    assert response.status_code == 401 and response.json()["detail"] == "Invalid token."


@pytest.mark.django_db
def test_the_schema_asked_for_a_version_with_a_newline_is_the_apis_schema_not_a_500():
    response = Client().get("/api/schema/", {"version": "1\n"})

    assert response.status_code == 200 and response.json()["info"]["version"] == "1.0.0"
