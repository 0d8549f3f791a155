"""API credentials: a 401 that says how to authenticate, and a token a buyer gets for themself."""

import json

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from carsales.conftest import UserFactory

pytestmark = pytest.mark.django_db


def test_an_anonymous_call_to_an_endpoint_needing_a_login_is_a_401_saying_how_to_authenticate():
    response = APIClient().get("/api/cart/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_browsers_session_still_logs_in_api_calls(buyer_client):
    assert buyer_client.get("/api/cart/").status_code == 200


def test_a_buyer_gets_an_api_token_for_their_username_and_password_and_uses_it(user):
    response = APIClient().post("/api/auth/token/", {"username": user.username.upper(), "password": "pass-word-123"})

    assert response.status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/cart/").status_code == 200


def test_asking_twice_returns_the_same_token(user):
    credentials = {"username": user.username, "password": "pass-word-123"}

    first = APIClient().post("/api/auth/token/", credentials).json()
    second = APIClient().post("/api/auth/token/", credentials).json()

    assert first == second


def test_a_wrong_password_gets_no_token(user):
    response = APIClient().post("/api/auth/token/", {"username": user.username, "password": "guess"})

    assert response.status_code == 400 and not Token.objects.exists()


def test_a_stale_token_sent_along_does_not_stand_in_the_way_of_a_new_one(user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token stale")

    response = api.post("/api/auth/token/", {"username": user.username, "password": "pass-word-123"})

    assert response.status_code == 200


def test_the_token_page_needs_a_login(client):
    response = client.get("/accounts/token/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_buyer_creates_a_token_on_the_token_page(buyer_client, user):
    assert b"no API token yet" in buyer_client.get("/accounts/token/").content

    response = buyer_client.post("/accounts/token/", follow=True)

    assert Token.objects.get(user=user).key.encode() in response.content


def test_replacing_the_token_stops_the_old_one_at_once(buyer_client, user):
    old = Token.objects.create(user=user).key

    buyer_client.post("/accounts/token/")

    new = Token.objects.get(user=user).key
    assert new != old
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get("/api/cart/").status_code == 401


@pytest.mark.django_db(transaction=True)  # each asker on its own connection, as requests are
def test_two_token_requests_at_once_leave_one_token_and_no_error():
    from carsales.accounts.services import api_token_rotate
    from carsales.conftest import UserFactory, run_together

    user = UserFactory()

    errors = run_together([lambda: api_token_rotate(user=user) for _ in range(4)])

    assert errors == [] and Token.objects.filter(user=user).count() == 1


def test_a_fixture_bringing_another_password_revokes_the_token_and_one_bringing_the_same_does_not(user, tmp_path):
    token = Token.objects.create(user=user)

    def load(password: str) -> None:
        fields = {"username": user.username, "password": password, "date_joined": "2024-01-01T00:00:00Z"}
        fixture = tmp_path / "user.json"
        fixture.write_text(json.dumps([{"model": "auth.user", "pk": user.pk, "fields": fields}]))
        call_command("loaddata", str(fixture), verbosity=0)

    load(user.password)  # a dump of the account as it is, loaded again
    assert Token.objects.filter(pk=token.pk).exists()
    load(make_password("an-older-pass-123"))  # an older backup of the account
    assert not Token.objects.filter(user=user).exists()


def _set_by_save(user, password):
    user.set_password(password)
    user.save()


def _set_by_save_of_that_field(user, password):
    user.set_password(password)
    user.save(update_fields=["password"])


def _set_by_bulk_update(user, password):
    user.set_password(password)
    type(user).objects.bulk_update([user], ["password"])


def _set_by_sql(user, password):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE auth_user SET password = %s WHERE id = %s", [make_password(password), user.pk])


# Every path a new password may take, a shell's and a script's included (bulk writes send no signal).
NEW_PASSWORD = {
    "save": _set_by_save,
    "save naming the password": _set_by_save_of_that_field,
    "queryset update": lambda user, password: (
        type(user).objects.filter(pk=user.pk).update(password=make_password(password))
    ),
    "bulk_update": _set_by_bulk_update,
    "SQL by hand": _set_by_sql,
}


@pytest.mark.parametrize("path", NEW_PASSWORD)
def test_a_new_password_by_any_path_revokes_the_accounts_api_tokens_and_no_one_elses(path, user):
    token = Token.objects.create(user=user)
    others = Token.objects.create(user=UserFactory())

    NEW_PASSWORD[path](user, "a-brand-new-pass-123")

    assert not Token.objects.filter(pk=token.pk).exists()
    assert Token.objects.filter(pk=others.pk).exists()
    assert APIClient(headers={"Authorization": f"Token {token.key}"}).get("/api/cart/").status_code == 401


def test_a_write_leaving_the_password_as_it_was_revokes_nothing(user):
    token = Token.objects.create(user=user)

    type(user).objects.filter(pk=user.pk).update(first_name="Ana")
    type(user).objects.filter(pk=user.pk).update(password=user.password)
    user.save()

    assert Token.objects.filter(pk=token.pk).exists()
