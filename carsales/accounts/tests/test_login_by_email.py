"""The log-in takes the account's email as well as its username: in any case, only an address one
account has, and the lock-out counts both as the same account."""

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt

from carsales.accounts.backends import CaseInsensitiveModelBackend
from carsales.accounts.services import account_sign_up, buyer_profile_update
from carsales.conftest import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
NO_MATCH = "That username or email and password do not match an account"


def log_in(client, identifier: str, password: str = "pass-word-123"):
    return client.post(LOGIN, {"username": identifier, "password": password})


def test_the_log_in_form_asks_for_a_username_or_email_as_long_as_an_address(client):
    page = client.get(LOGIN).content.decode()

    assert '<label for="id_username">Username or email</label>' in page
    assert 'maxlength="254"' in page


def test_logging_in_with_the_accounts_email_logs_it_in(client):
    ana = UserFactory(username="ana", email="ana@example.com")

    response = log_in(client, "ana@example.com")

    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(ana.pk)


def test_the_email_matches_in_any_case(client):
    ana = UserFactory(username="ana", email="ana@example.com")

    log_in(client, "Ana@EXAMPLE.com")

    assert client.session["_auth_user_id"] == str(ana.pk)


def test_a_wrong_password_with_the_email_is_refused_as_with_the_username(client):
    UserFactory(username="ana", email="ana@example.com")

    by_email = log_in(client, "ana@example.com", "wrong-guess")
    by_name = log_in(client, "ana", "wrong-guess")

    for response in (by_email, by_name):
        assert response.status_code == 200 and NO_MATCH in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_email_two_accounts_share_logs_in_neither(client):
    # Sign-up makes no second account of an address, but staff may have made one.
    UserFactory(username="ana", email="Shared@example.com")
    UserFactory(username="bea", email="shared@example.com")

    response = log_in(client, "shared@example.com")

    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_a_username_wins_over_another_accounts_email(client):
    named = UserFactory(username="bob@example.com", email="bob.smith@example.com")
    UserFactory(username="bob", email="bob@example.com")

    log_in(client, "bob@example.com")

    assert client.session["_auth_user_id"] == str(named.pk)


def test_an_email_waiting_for_its_change_link_does_not_log_in(client):
    ana = UserFactory(username="ana", email="ana@example.com")
    buyer_profile_update(user=ana, first_name="", last_name="", email="ana@newjob.com", phone="")

    waiting = log_in(client, "ana@newjob.com")
    current = log_in(client, "ana@example.com")

    assert waiting.status_code == 200
    assert current.status_code == 302 and client.session["_auth_user_id"] == str(ana.pk)


def test_an_unconfirmed_account_logging_in_by_email_is_told_so_after_the_right_password_only(client):
    account_sign_up(username="neo", email="neo@example.com", password="pass-word-123", base_url="http://testserver")

    wrong = log_in(client, "neo@example.com", "not-the-one")
    right = log_in(client, "NEO@example.com")

    assert "not confirmed" not in wrong.content.decode()
    assert "Your email address is not confirmed yet" in right.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_account_staff_deactivated_does_not_log_in_by_email_and_is_not_called_unconfirmed(client):
    UserFactory(username="gone", email="gone@example.com", is_active=False)

    response = log_in(client, "gone@example.com")

    assert response.status_code == 200 and NO_MATCH in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_wrong_passwords_by_username_and_by_email_lock_the_same_account(client):
    UserFactory(username="Ana", email="ana@example.com")
    for attempt in range(5):  # alternating the two gives no more tries
        log_in(client, ["ana", "ANA@example.com"][attempt % 2], "wrong-guess")

    by_name = log_in(client, "ana")
    by_email = log_in(client, "ana@example.com")

    assert by_name.status_code == by_email.status_code == 429
    assert "_auth_user_id" not in client.session
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["ana"]  # one lock, as staff lift it


def test_logging_in_by_username_clears_the_failures_typed_with_the_email(client):
    UserFactory(username="ana", email="ana@example.com")
    for _ in range(4):
        log_in(client, "ana@example.com", "wrong-guess")

    log_in(client, "ana")
    client.logout()
    for _ in range(4):
        log_in(client, "ana@example.com", "wrong-guess")

    assert log_in(client, "ana@example.com").status_code == 302


def test_staff_log_in_to_the_admin_by_email(client):
    boss = UserFactory(username="boss", email="boss@example.com", is_staff=True, is_superuser=True)

    response = client.post("/admin/login/", {"username": "boss@example.com", "password": "pass-word-123"})

    assert response.status_code == 302 and client.session["_auth_user_id"] == str(boss.pk)


def test_the_async_login_path_takes_the_email_too():
    ana = UserFactory(username="ana", email="ana@example.com")

    found = async_to_sync(CaseInsensitiveModelBackend().aauthenticate)(
        None, username="ANA@example.com", password="pass-word-123"
    )

    assert found == ana
