"""Repeated wrong passwords lock a user name at the address that tried them out of every log-in
for a while; a password reset lifts it, and staff can lift it."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from axes.middleware import AxesMiddleware
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from rest_framework.request import Request

from carsales.conftest import UserFactory

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed log-in attempts. Try again in 15 minutes"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fail_five_times(client, url: str, username: str) -> None:
    for _ in range(5):
        client.post(url, {"username": username, "password": "wrong-guess"})


def test_five_wrong_passwords_then_the_right_one_is_refused_with_the_message(client):
    UserFactory(username="ana")
    fail_five_times(client, "/accounts/login/", "ana")

    response = client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"})

    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert response["Retry-After"] == str(15 * 60)
    assert "_auth_user_id" not in client.session


def test_four_wrong_passwords_still_let_the_right_one_in(client):
    UserFactory(username="ana")
    for _ in range(4):
        client.post("/accounts/login/", {"username": "ana", "password": "wrong-guess"})

    response = client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"})

    assert response.status_code == 302


@pytest.mark.parametrize("name", ["ana", "ANA@example.com", "nobody"])  # a name, its email, no account
def test_the_last_two_wrong_passwords_before_a_lock_out_warn_of_it_the_same_for_any_name(client, name):
    UserFactory(username="ana", email="ana@example.com")

    said = []
    for _ in range(4):
        response = client.post("/accounts/login/", {"username": name, "password": "wrong-guess"})
        (error,) = response.context["form"].non_field_errors()
        said.append(error)

    plain = "That username or email and password do not match an account; the password is case-sensitive."
    pause = "and logging in as this user from this network pauses for 15\xa0minutes."
    reset = "Not sure of your password? Reset it instead."
    assert said[:2] == [plain, plain]
    assert re.search(r'<input type="password" name="password"[^>]* autofocus', response.content.decode())
    assert said[2] == f"{plain} Two more wrong passwords {pause} {reset}"
    assert said[3] == f"{plain} One more wrong password {pause} {reset}"
    assert client.post("/accounts/login/", {"username": name, "password": "wrong-guess"}).status_code == 429


def test_the_admin_log_in_is_locked_out_the_same_way(client):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    fail_five_times(client, "/admin/login/", "boss")

    response = client.post("/admin/login/", {"username": "boss", "password": "pass-word-123", "next": "/admin/"})

    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends_after_the_cool_down(client):
    UserFactory(username="ana")
    with time_machine.travel(START, tick=False) as clock:
        fail_five_times(client, "/accounts/login/", "ana")
        clock.shift(timedelta(minutes=14))
        assert client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"}).status_code == 429

        # That refused attempt restarted the pause: 15 minutes from it.
        clock.shift(timedelta(minutes=15, seconds=1))
        response = client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"})

        assert response.status_code == 302
        assert "_auth_user_id" in client.session


def test_case_variants_of_a_name_count_as_one_name(client):
    UserFactory(username="ana")
    for name in ["ana", "Ana", "ANA", "aNa", "anA"]:
        client.post(
            "/accounts/login/", {"username": name, "password": "wrong-guess"}, REMOTE_ADDR=f"10.9.0.{len(name)}"
        )

    response = client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"}, REMOTE_ADDR="10.9.0.3")

    assert response.status_code == 429


def test_wrong_guesses_at_one_name_lock_no_other_account_behind_the_same_address(client):
    UserFactory(username="ana")
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    fail_five_times(client, "/accounts/login/", "ana")

    staff_login = client.post("/admin/login/", {"username": "boss", "password": "pass-word-123", "next": "/admin/"})

    assert staff_login.status_code == 302


def test_a_locked_name_still_logs_in_from_another_address(client):
    UserFactory(username="ana")
    fail_five_times(client, "/accounts/login/", "ana")

    response = client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"}, REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 302


def test_a_password_reset_lifts_the_lock_and_revokes_the_api_tokens(client):
    from rest_framework.authtoken.models import Token

    user = UserFactory(username="ana")
    Token.objects.create(user=user)
    fail_five_times(client, "/accounts/login/", "ana")

    user.set_password("a-brand-new-secret-9")
    user.save()  # what the reset and change forms do

    assert not Token.objects.filter(user=user).exists()
    assert client.post("/accounts/login/", {"username": "ana", "password": "a-brand-new-secret-9"}).status_code == 302


def test_staff_see_the_lockouts_and_lift_one(staff_client):
    from django.test import Client

    visitor = Client()
    UserFactory(username="ana")
    fail_five_times(visitor, "/accounts/login/", "ana")

    page = staff_client.get("/staff/lockouts/")
    assert page.status_code == 200 and ">ana</td>" in page.content.decode()
    staff_client.post("/staff/lockouts/", {"username": "ana", "ip_address": "127.0.0.1"})

    assert visitor.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"}).status_code == 302
    assert ">ana</td>" not in staff_client.get("/staff/lockouts/").content.decode()


def test_an_api_log_in_through_drf_is_locked_out_with_a_json_429():
    # What an API token view does: authenticate() with DRF's Request around Django's.
    UserFactory(username="ana")

    def token_view(request: HttpRequest) -> HttpResponse:
        user = authenticate(Request(request), username="ana", password=request.POST["password"])
        return HttpResponse(status=200 if user else 400)

    api = AxesMiddleware(token_view)
    factory = RequestFactory()
    for _ in range(5):
        api(factory.post("/api/auth/token/", {"password": "wrong-guess"}))

    response = api(factory.post("/api/auth/token/", {"password": "pass-word-123"}))

    assert response.status_code == 429
    assert LOCKED in json.loads(response.content)["detail"]


def test_the_api_token_endpoint_is_locked_out_after_five_wrong_passwords(client):
    UserFactory(username="ana")
    for _ in range(5):
        client.post("/api/auth/token/", {"username": "ana", "password": "wrong-guess"})

    response = client.post("/api/auth/token/", {"username": "ana", "password": "pass-word-123"})

    assert response.status_code == 429
    assert LOCKED in response.json()["detail"] and "token" not in response.json()


# Mid-day, the clock stopped: the limit counts in day-long windows from midnight UTC.
@time_machine.travel(datetime(2026, 6, 1, 12, 30, tzinfo=UTC), tick=False)
def test_staff_see_a_sign_up_limit_reached_and_lift_it(staff_client, settings):
    from django.test import Client

    settings.CARSALES_RATE_LIMITS = {**settings.CARSALES_RATE_LIMITS, "signup": (2, 24 * 60 * 60)}
    family = Client()  # one household, one address

    def sign_up(name: str) -> int:
        form = {
            "first_name": name.title(),
            "username": name,
            "email": f"{name}@example.com",
            "password1": "Strong-pass-987",
            "password2": "Strong-pass-987",
        }
        return family.post("/accounts/signup/", form).status_code

    assert [sign_up(name) for name in ("ana", "bea", "cid")] == [302, 302, 429]
    page = staff_client.get("/staff/lockouts/").content.decode()
    assert "Accounts asked for from this address" in page and '<td data-label="For">127.0.0.1</td>' in page
    limit = staff_client.get("/staff/lockouts/").context["limits"][0]

    lifted = staff_client.post("/staff/lockouts/", {"limit": limit.name}, follow=True)

    assert "The limit is lifted" in lifted.content.decode()
    assert sign_up("cid") == 302
    assert "No limit is refusing anyone." in staff_client.get("/staff/lockouts/").content.decode()


def test_every_limit_the_accounts_count_under_is_listed_and_only_those_are_lifted(staff_client, settings):
    from django.utils import timezone

    from carsales.core.models import AttemptCount

    settings.CARSALES_RATE_LIMITS = {**settings.CARSALES_RATE_LIMITS, "password_reset_target": (3, 60 * 60)}
    later = timezone.now() + timedelta(minutes=30)
    AttemptCount.objects.create(key="signup_resend:42:1", count=4, expires_at=later)  # the links sent again
    AttemptCount.objects.create(key="elsewhere:x:1", count=99, expires_at=later)  # no limit of the accounts'

    page = staff_client.get("/staff/lockouts/")
    staff_client.post("/staff/lockouts/", {"limit": "elsewhere:x:1"})
    with_a_nul = staff_client.post("/staff/lockouts/", {"limit": "signup_resend:4\x002:1"}, follow=True)

    assert "No such limit" in with_a_nul.content.decode()  # not a failed query (PostgreSQL)

    assert [(limit.what, limit.key) for limit in page.context["limits"]] == [
        ("Sign-up links sent again to the account with this id", "42")
    ]
    assert AttemptCount.objects.filter(key="elsewhere:x:1").exists()
