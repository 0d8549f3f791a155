import pytest
from django.contrib.auth import get_user_model

from carsales.accounts.models import Buyer
from carsales.conftest import UserFactory

pytestmark = pytest.mark.django_db


def test_signing_up_creates_the_account_with_a_buyer_and_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "maria",
            "email": "Maria@Example.com",
            "password1": "Strong-pass-987",
            "password2": "Strong-pass-987",
        },
        follow=True,
    )

    user = get_user_model().objects.get(username="maria")
    assert user.email == "maria@example.com"
    assert Buyer.objects.filter(user=user).count() == 1
    assert response.context["user"] == user
    assert b"Welcome, maria" in response.content


def test_signing_up_with_different_passwords_shows_the_error_and_creates_nothing(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "maria", "email": "m@example.com", "password1": "Strong-pass-987", "password2": "other-pass-987"},
    )

    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="maria").exists()


def test_signing_up_with_an_email_already_in_use_is_refused(client):
    UserFactory(email="taken@example.com")

    response = client.post(
        "/accounts/signup/",
        {
            "username": "new",
            "email": "TAKEN@example.com",
            "password1": "Strong-pass-987",
            "password2": "Strong-pass-987",
        },
    )

    assert "An account with this email already exists." in response.context["form"].errors["email"]


def test_logging_in_with_a_wrong_password_says_so(client):
    UserFactory(username="ana")

    response = client.post("/accounts/login/", {"username": "ana", "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_logging_in_with_the_right_password_redirects_to_the_catalogue(client):
    UserFactory(username="ana")

    response = client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_logging_out_takes_a_post_not_a_get(buyer_client):
    assert buyer_client.get("/accounts/logout/").status_code == 405

    response = buyer_client.post("/accounts/logout/")

    assert response.status_code == 302
    assert "_auth_user_id" not in buyer_client.session
