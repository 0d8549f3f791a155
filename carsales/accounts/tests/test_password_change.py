"""A logged-in user changes their password: the current one is asked for, the new one held to the
password rules; this browser stays logged in, the account's others are logged out, and its address
is told after the change commits."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from carsales.accounts.services import password_change
from carsales.conftest import UserFactory
from carsales.events.models import Delivery
from carsales.settings import base

pytestmark = pytest.mark.django_db

PAGE = "/accounts/password-change/"
NEW = "Fresh-pass-4821"
CHANGE = {"old_password": "pass-word-123", "new_password1": NEW, "new_password2": NEW}
NOTICE = "Your carsales password was changed"


def test_the_profile_links_to_the_password_change_page(buyer_client):
    profile = buyer_client.get("/accounts/profile/").content.decode()

    assert f'href="{PAGE}"' in profile
    assert buyer_client.get(PAGE).status_code == 200


def test_a_visitor_must_log_in_to_change_a_password(client):
    response = client.get(PAGE)

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_wrong_current_password_is_refused_under_its_field_and_changes_nothing(buyer_client, user, run_tasks):
    response = buyer_client.post(PAGE, CHANGE | {"old_password": "not-the-one"})
    run_tasks()

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "old_password": ["That is not your current password; it is case-sensitive."]
    }
    user.refresh_from_db()
    assert user.check_password("pass-word-123") and mail.outbox == []


def test_a_weak_new_password_is_refused_under_itself(buyer_client, user):
    response = buyer_client.post(PAGE, CHANGE | {"new_password1": "12345678", "new_password2": "12345678"})

    errors = response.context["form"].errors
    assert list(errors) == ["new_password1"]
    assert "too common" in str(errors["new_password1"])
    user.refresh_from_db()
    assert user.check_password("pass-word-123")


def test_changing_the_password_keeps_this_browser_logged_in_and_says_so(buyer_client, user):
    response = buyer_client.post(PAGE, CHANGE, follow=True)

    assert response.redirect_chain == [("/accounts/profile/", 302)]
    assert response.context["user"] == user
    assert any("Your password is changed" in str(message) for message in response.context["messages"])
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert buyer_client.get("/accounts/profile/").status_code == 200


def test_changing_the_password_logs_the_accounts_other_browsers_out(buyer_client, user):
    phone = Client()
    phone.force_login(user)
    assert phone.get("/accounts/profile/").status_code == 200

    buyer_client.post(PAGE, CHANGE)

    assert phone.get("/accounts/profile/")["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in phone.session


def test_the_owner_is_told_once_after_the_change_commits_with_no_password_in_it(
    buyer_client, user, run_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        buyer_client.post(PAGE, CHANGE)
    assert mail.outbox == []  # not while the visitor waits

    run_tasks()
    run_tasks()

    [notice] = mail.outbox
    assert (notice.to, notice.subject) == ([user.email], NOTICE)
    assert f"{settings.CARSALES_SITE_URL}/accounts/password-reset/" in notice.body  # as every email links
    assert NEW not in notice.body and "pass-word-123" not in notice.body


def test_the_notice_is_owed_only_if_the_change_commits_and_a_second_run_sends_nothing_more(user, durable):
    users = get_user_model().objects
    with pytest.raises(RuntimeError), transaction.atomic():
        password_change(user=users.get(pk=user.pk), password=NEW)
        raise RuntimeError("the request failed after the change")
    assert not Delivery.objects.exists() and users.get(pk=user.pk).check_password("pass-word-123")

    with durable.owed() as owed:
        password_change(user=users.get(pk=user.pk), password=NEW)

    assert NEW not in str(owed.deliveries[0].payload)
    assert durable.run(owed) == [("notifications.send_account_email", "done")]
    assert durable.run(owed) == [("notifications.send_account_email", "skipped")]
    assert [(m.to, m.subject) for m in mail.outbox] == [([user.email], NOTICE)]


@pytest.mark.parametrize("path", ["shell", "admin", "reset"])
def test_a_new_password_by_any_path_tells_the_owner(path, user, staff, run_tasks):
    if path == "shell":
        user.set_password(NEW)
        user.save()
    elif path == "admin":
        admin = Client()
        admin.force_login(staff)
        admin.post(
            f"/admin/auth/user/{user.pk}/password/", {"password1": NEW, "password2": NEW, "usable_password": "true"}
        )
    else:  # what the reset link's page saves
        from carsales.accounts.forms import SetPasswordForm

        form = SetPasswordForm(user, {"new_password1": NEW, "new_password2": NEW})
        assert form.is_valid(), form.errors
        form.save()
    run_tasks()

    assert get_user_model().objects.get(pk=user.pk).check_password(NEW)
    assert [(m.to, m.subject) for m in mail.outbox] == [([user.email], NOTICE)]


def test_a_first_password_or_one_a_fixture_restores_tells_no_one(run_tasks, tmp_path):
    from django.core import serializers
    from django.core.management import call_command

    first = get_user_model().objects.create_user("first", "first@example.com")  # no password yet
    first.set_password(NEW)
    first.save()
    dumped = UserFactory(username="dumped", email="dumped@example.com")
    fixture = tmp_path / "user.json"
    fixture.write_text(serializers.serialize("json", [get_user_model().objects.get(pk=dumped.pk)]))
    dumped.set_password(NEW)
    dumped.save()
    run_tasks()
    assert [m.to for m in mail.outbox] == [["dumped@example.com"]]  # the change, not the first password
    mail.outbox.clear()

    call_command("loaddata", str(fixture), verbosity=0)  # the old password back
    run_tasks()

    assert mail.outbox == []


def test_a_staff_account_changes_its_password_the_same_way(staff_client, staff, run_tasks):
    response = staff_client.post(PAGE, CHANGE)
    run_tasks()

    assert response["Location"] == "/accounts/profile/"
    staff.refresh_from_db()
    assert staff.check_password(NEW)
    assert staff_client.get("/staff/lockouts/").status_code == 200  # still logged in, staff powers intact
    assert [m.to for m in mail.outbox] == [[staff.email]]


def test_changing_the_password_revokes_the_api_tokens(buyer_client, user):
    Token.objects.create(user=user)

    buyer_client.post(PAGE, CHANGE)

    assert not Token.objects.filter(user=user).exists()


# Mid-hour, the clock stopped: the limit counts in clock-hour windows.
@time_machine.travel(datetime(2026, 6, 1, 12, 30, tzinfo=UTC), tick=False)
def test_guessing_the_current_password_is_limited_per_account_and_staff_see_it(buyer_client, user, staff, settings):
    settings.CARSALES_RATE_LIMITS = base.CARSALES_RATE_LIMITS
    allowed = base.CARSALES_RATE_LIMITS["password_change"][0]
    for _ in range(allowed):
        Client().post(PAGE, CHANGE)  # visitors not logged in, from the same address: not counted
    guesses = [
        buyer_client.post(PAGE, CHANGE | {"old_password": f"guess-{n}"}, REMOTE_ADDR=f"203.0.113.{n}")
        for n in range(allowed)
    ]  # from as many addresses

    refused = buyer_client.post(PAGE, CHANGE, REMOTE_ADDR="198.51.100.1")
    neighbour = Client()
    neighbour.force_login(UserFactory())

    assert {guess.status_code for guess in guesses} == {200}
    assert refused.status_code == 429 and refused["Retry-After"] == str(30 * 60)  # what is left of the hour
    assert "Too many attempts on your account" in refused.content.decode()
    assert 'href="/accounts/password-reset/"' in refused.content.decode()
    assert buyer_client.get(PAGE).status_code == 200  # showing the form is never limited
    assert neighbour.post(PAGE, CHANGE | {"old_password": "a guess"}).status_code == 200
    staff_view = Client()
    staff_view.force_login(staff)
    limits = staff_view.get("/staff/lockouts/").context["limits"]
    assert [(limit.what, limit.key) for limit in limits] == [
        ("Password changes tried on this account (its username)", user.get_username())
    ]
