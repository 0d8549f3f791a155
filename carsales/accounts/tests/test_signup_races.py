"""A sign-up corrected by whoever began it while the address's owner follows its link, each on its
own connection (PostgreSQL's: SQLite runs one write transaction at a time, so they cannot overlap).
The correction comes first (it waits for nothing); the link then activates nothing: it was checked
against the row as it stood before (its address, its password's hash)."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from carsales.accounts import services
from carsales.accounts.tokens import signup_token_generator
from carsales.conftest import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite runs one write transaction at a time"),
]


def logs_in(name: str, password: str) -> bool:
    return Client().post("/accounts/login/", {"username": name, "password": password}).status_code == 302


@pytest.mark.parametrize("corrected_to", ["taken@example.com", "mallory@example.com"])
def test_a_sign_up_corrected_while_its_owner_confirms_never_gives_the_owners_account_to_its_first_signer(
    monkeypatch, corrected_to
):
    UserFactory(email="taken@example.com")  # an address another account has
    services.account_sign_up(username="m4ria", email="maria@example.com", password="Mallorys-987", base_url="http://t")
    account = get_user_model().objects.get(username="m4ria")
    token = signup_token_generator.make_token(account)
    link = f"/accounts/signup/{urlsafe_base64_encode(force_bytes(account.pk))}/{token}/"
    real, answers = services.signup_owners_retry, []

    def maria_confirms() -> None:
        try:
            maria = Client()
            maria.get(link)
            password = {"new_password1": "Marias-own-321", "new_password2": "Marias-own-321"}
            answers.append(maria.post(link, password).status_code)
        finally:
            connection.close()

    confirming = threading.Thread(target=maria_confirms)

    def retry_checked_then_maria_confirms(**kwargs: object) -> bool:
        answer = real(**kwargs)  # Mallory's own password checked against her pending sign-up...
        confirming.start()
        confirming.join(timeout=3)  # ...then Maria's link, before the correction writes
        return answer

    monkeypatch.setattr(services, "signup_owners_retry", retry_checked_then_maria_confirms)
    services.account_sign_up(username="m4ria", email=corrected_to, password="Mallorys-987", base_url="http://t")
    confirming.join(timeout=30)

    account.refresh_from_db()
    assert answers == [400] and not account.is_active  # the link died with the correction
    assert not logs_in("m4ria", "Mallorys-987") and not logs_in("m4ria", "Marias-own-321")
