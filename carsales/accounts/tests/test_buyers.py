import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command

from carsales.accounts.models import Buyer
from carsales.accounts.receivers import create_buyer_for_new_user
from carsales.conftest import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_creating_a_user_gives_exactly_one_buyer():
    user = User.objects.create_user(username="ana", password="x-pass-123")

    assert Buyer.objects.filter(user=user).count() == 1


def test_saving_an_existing_user_again_creates_no_buyer():
    user = UserFactory()
    user.first_name = "Ana"
    user.save()

    assert Buyer.objects.filter(user=user).count() == 1


def test_a_repeated_delivery_of_the_signal_creates_no_second_buyer():
    user = UserFactory()

    create_buyer_for_new_user(sender=User, instance=user, created=True, raw=False)

    assert Buyer.objects.filter(user=user).count() == 1


def test_loading_a_user_from_a_fixture_creates_no_buyer(tmp_path):
    fixture = tmp_path / "users.json"
    fixture.write_text(
        '[{"model": "auth.user", "pk": 900, "fields": {"username": "fixture", "password": "!", '
        '"is_staff": false, "is_active": true, "is_superuser": false, "date_joined": "2024-01-01T00:00:00Z"}}]'
    )

    call_command("loaddata", str(fixture), verbosity=0)

    assert User.objects.filter(username="fixture").exists()
    assert not Buyer.objects.filter(user__username="fixture").exists()


def test_createsuperuser_gives_the_new_user_a_buyer(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "root-pass-123")

    call_command("createsuperuser", username="root", email="root@example.com", interactive=False, verbosity=0)

    assert Buyer.objects.filter(user__username="root").count() == 1


def test_a_user_added_in_the_admin_gets_a_buyer(staff_client):
    response = staff_client.post(
        "/admin/auth/user/add/",
        {
            "username": "walkin",
            "password1": "Walk-in-pass-123",
            "password2": "Walk-in-pass-123",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    assert Buyer.objects.filter(user__username="walkin").count() == 1


def test_the_admin_never_moves_a_buyer_and_their_orders_to_another_account(staff_client):
    from carsales.conftest import CarFactory, order_for

    order = order_for(CarFactory())
    buyer, mallory = order.buyer, UserFactory()

    response = staff_client.post(
        f"/admin/accounts/buyer/{buyer.pk}/change/", {"user": mallory.pk, "phone": "+1 555 0100"}
    )

    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.user_id == order.buyer.user_id and buyer.phone == "+1 555 0100"
    assert staff_client.get("/admin/accounts/buyer/add/").status_code == 403


def test_a_user_bulk_created_gets_its_one_buyer_where_a_buyer_is_first_needed(client):
    """bulk_create sends no post_save: its log-in, its cart and its profile ensure the buyer."""
    User.objects.bulk_create([User(username="bulk", password=make_password("x-pass-123"))])
    user = User.objects.get(username="bulk")
    assert not Buyer.objects.filter(user=user).exists()

    assert client.login(username="bulk", password="x-pass-123")
    assert client.get("/cart/").status_code == 200 and client.get("/accounts/profile/").status_code == 200

    assert Buyer.objects.filter(user=user).count() == 1
