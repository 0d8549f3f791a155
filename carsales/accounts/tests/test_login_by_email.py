"""The log-in takes the account's email as well as its username: in any case, only an address one
account has, and the lock-out counts both as the same account."""

from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.db import connection
from django.test import Client

from carsales.accounts.backends import CaseInsensitiveModelBackend, account_for_login
from carsales.accounts.services import account_sign_up, buyer_profile_update, lockouts_lift
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


def test_an_address_names_the_account_whose_email_it_is_not_an_account_named_like_it(client):
    UserFactory(username="bob@example.com", email="bob.smith@example.com")  # older, or made by staff
    bob = UserFactory(username="bob", email="bob@example.com")

    log_in(client, "bob@example.com")

    assert client.session["_auth_user_id"] == str(bob.pk)


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


def test_wrong_passwords_by_username_and_by_email_use_up_the_same_accounts_tries(client):
    UserFactory(username="Ana", email="ana@example.com")
    for attempt in range(5):  # alternating the two gives no more tries
        log_in(client, ["ana", "ANA@example.com"][attempt % 2], "wrong-guess")

    by_name = log_in(client, "ana")  # the right password, unchecked
    by_email = log_in(client, "ana@example.com")

    assert by_name.status_code == by_email.status_code == 200
    assert NO_MATCH in by_name.content.decode() and NO_MATCH in by_email.content.decode()
    assert "_auth_user_id" not in client.session
    assert sorted(AccessAttempt.objects.values_list("username", flat=True)) == ["ana", "ana@example.com"]

    lockouts_lift(username="ana")  # as staff lift it: every spelling of the account
    assert log_in(client, "ana@example.com").status_code == 302


def test_a_lock_on_a_name_tells_no_stranger_which_address_is_that_accounts(client):
    """A stranger locks a name with five wrong passwords, then tries addresses: the account's
    own is answered as any other, never with the lock (which would name its owner)."""
    UserFactory(username="ana", email="ana@example.com")
    UserFactory(username="bea", email="bea@example.com")
    for _ in range(5):
        log_in(client, "ana", "wrong-guess")
    assert log_in(client, "ana", "wrong-guess").status_code == 429

    answers = {address: log_in(client, address, "wrong-guess") for address in ("ana@example.com", "bea@example.com")}

    assert {address: answer.status_code for address, answer in answers.items()} == dict.fromkeys(answers, 200)
    assert {address: NO_MATCH in answer.content.decode() for address, answer in answers.items()} == dict.fromkeys(
        answers, True
    )
    assert "_auth_user_id" not in client.session


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


def _hashes_of(post) -> int:
    """How many passwords a log-in hashed: what its answer's timing tells a stranger."""
    calls = []
    encode = MD5PasswordHasher.encode

    def counted(self, *args, **kwargs):
        calls.append(1)
        return encode(self, *args, **kwargs)

    with mock.patch.object(MD5PasswordHasher, "encode", counted):
        post()
    return len(calls)


def test_a_wrong_password_costs_the_same_whatever_the_name_or_address_names():
    UserFactory(username="ana", email="ana@example.com")
    account_sign_up(username="neo", email="neo@example.com", password="pass-word-123", base_url="http://x")
    UserFactory(username="off", email="off@example.com", is_active=False)

    costs = {
        typed: _hashes_of(lambda typed=typed: Client().post(LOGIN, {"username": typed, "password": "wrong-guess"}))
        for typed in ["nobody", "nobody@example.com", "ana", "ana@example.com", "neo", "neo@example.com", "off"]
    }

    assert set(costs.values()) == {1}, costs  # an unfinished sign-up's name no slower than any other


def test_a_locked_out_unfinished_sign_up_tests_no_password(run_tasks):
    account_sign_up(username="neo", email="neo@example.com", password="pass-word-123", base_url="http://x")
    for _ in range(5):
        Client().post(LOGIN, {"username": "neo@example.com", "password": "wrong-guess"})
    run_tasks()
    sent = len(mail.outbox)

    right = Client()
    locked = right.post(LOGIN, {"username": "neo", "password": "pass-word-123"})
    resent = right.post("/accounts/signup/resend/", follow=True)

    assert locked.status_code == 200 and NO_MATCH in locked.content.decode()  # its tries used up by the address
    assert [str(m) for m in resent.context["messages"]] == [
        "Log in with your name and password first, then ask for the link."
    ]
    run_tasks()
    assert len(mail.outbox) == sent


def test_a_name_typed_in_full_width_letters_names_the_account_on_every_path():
    from rest_framework.test import APIClient

    kate = UserFactory(username="kate")

    token = APIClient().post("/api/auth/token/", {"username": "\uff4bate", "password": "pass-word-123"}, format="json")

    assert account_for_login("\uff4b\uff41\uff54\uff45") == kate
    assert token.status_code == 200


def test_a_log_in_reads_the_account_it_names_once():
    """axes asks for the name it counts failures against several times a log-in; each
    case-insensitive lookup may read the whole user table."""
    UserFactory(username="ana", email="ana@example.com")
    table = get_user_model()._meta.db_table
    read: list[str] = []

    def counted(execute, sql, params, many, context):
        if f'FROM "{table}"' in sql:
            read.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        Client().post(LOGIN, {"username": "ANA@example.com", "password": "wrong-guess"})

    assert len(read) <= 3, read  # the name exactly, in any case, the address in any case


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite matches in any case by a Python function")
@pytest.mark.parametrize(
    ("lookup", "index"), [("email", "accounts_user_email_upper"), ("username", "accounts_user_username_upper")]
)
def test_a_log_in_finds_a_name_or_address_in_any_case_by_an_index(lookup, index):
    users = get_user_model().objects.filter(**{f"{lookup}__iexact": "Ana@Example.com"})
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # whether the index serves it, at any table size
        plan = users.explain()

    assert index in plan


def test_a_strangers_unfinished_sign_up_with_an_address_takes_no_log_in_named_so(client):
    boss = UserFactory(username="boss@dealer.example", email="")  # made in the admin, named by an address
    account_sign_up(username="mallory", email="boss@dealer.example", password="pass-word-123", base_url="http://x")

    log_in(client, "boss@dealer.example")

    assert client.session["_auth_user_id"] == str(boss.pk)


def test_a_name_spelled_as_the_log_in_matches_it_gets_no_tries_of_its_own(client):
    """A dotless i (U+0131) is an i to the log-in (iexact): each way of spelling the name is the one name."""
    UserFactory(username="william", email="william@example.com")
    dotless = "\u0131"
    for spelling in (f"w{dotless}ll{dotless}am", f"w{dotless}llIam", f"WILL{dotless}AM", "william", f"W{dotless}lliam"):
        log_in(client, spelling, "wrong-guess")

    assert log_in(client, f"w{dotless}lliam").status_code == 429
    assert "_auth_user_id" not in client.session


def test_staff_see_an_account_whose_spellings_used_up_its_tries_and_lift_them_all(staff_client):
    UserFactory(username="ana", email="ana@example.com")
    owner = Client()
    for attempt in range(5):
        log_in(owner, ["ana", "ana@example.com"][attempt % 2], "wrong-guess")

    page = staff_client.get("/staff/lockouts/")
    assert [(lock.username, lock.failures_since_start) for lock in page.context["lockouts"]] == [("ana", 5)]
    staff_client.post("/staff/lockouts/", {"username": "ana", "ip_address": "127.0.0.1"})

    assert staff_client.get("/staff/lockouts/").context["lockouts"] == []
    assert log_in(owner, "ana@example.com").status_code == 302
