"""The real limits on API writes, sign-up and password reset (the test settings raise them elsewhere)."""

import html
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import override_settings
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from carsales.conftest import CarFactory, UserFactory
from carsales.settings import base

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many attempts from your address. Try again in 60 minutes."


@pytest.fixture(autouse=True)
def real_limits():
    cache.clear()
    with override_settings(REST_FRAMEWORK=base.REST_FRAMEWORK, CARSALES_RATE_LIMITS=base.CARSALES_RATE_LIMITS):
        yield
    cache.clear()


class OpenWrite(APIView):
    """A write anyone may make, as the API token view is."""

    permission_classes = [AllowAny]

    def post(self, request):
        return Response(status=201)

    def get(self, request):
        return Response(status=200)


def test_a_users_api_write_past_the_rate_is_answered_429(buyer_client):
    car = CarFactory()
    for _ in range(60):
        buyer_client.post("/api/cart/items/", {"car": car.pk})

    response = buyer_client.post("/api/cart/items/", {"car": car.pk})

    assert response.status_code == 429
    assert "Retry-After" in response


def test_api_reads_are_not_throttled_after_the_writes_are(buyer_client):
    for _ in range(61):
        buyer_client.delete("/api/cart/items/999999/")

    assert buyer_client.get("/api/cars/").status_code == 200


def test_a_visitors_api_write_past_the_rate_is_answered_429():
    view, factory = OpenWrite.as_view(), APIRequestFactory()
    statuses = [view(factory.post("/api/open/")).status_code for _ in range(21)]

    assert statuses == [201] * 20 + [429]
    assert view(factory.get("/api/open/")).status_code == 200


def test_a_forged_forwarded_for_does_not_dodge_the_visitor_throttle():
    view, factory = OpenWrite.as_view(), APIRequestFactory()
    for number in range(20):
        view(factory.post("/api/open/", HTTP_X_FORWARDED_FOR=f"198.51.100.{number}"))

    assert view(factory.post("/api/open/", HTTP_X_FORWARDED_FOR="198.51.100.99")).status_code == 429


# One IPv6 subscriber is handed a /64 and may use any address in it: every limit counts the block.
SAME_SUBSCRIBER = [f"2001:db8:1:2::{n:x}" for n in range(1, 30)] + ["2001:db8:1:2:ffff:ffff:ffff:ffff"]


def test_a_visitor_rotating_ipv6_addresses_within_its_64_is_throttled_as_one():
    view, factory = OpenWrite.as_view(), APIRequestFactory()
    statuses = [view(factory.post("/api/open/", REMOTE_ADDR=address)).status_code for address in SAME_SUBSCRIBER]

    assert statuses == [201] * 20 + [429] * (len(SAME_SUBSCRIBER) - 20)
    assert view(factory.post("/api/open/", REMOTE_ADDR="2001:db8:1:3::1")).status_code == 201  # the next /64


def test_sign_ups_from_addresses_of_one_ipv6_64_count_together(client):
    for number in range(3):
        assert sign_up(client, number, address=SAME_SUBSCRIBER[number]).status_code == 302

    assert sign_up(client, 3, address=SAME_SUBSCRIBER[-1]).status_code == 429
    assert sign_up(client, 4, address="2001:db8:1:3::1").status_code == 302


def test_an_ipv4_client_reaching_the_site_over_ipv6_counts_as_its_ipv4_address(client):
    for number in range(3):
        assert sign_up(client, number, address="203.0.113.7").status_code == 302

    assert sign_up(client, 3, address="::ffff:203.0.113.7").status_code == 429


def test_wrong_passwords_from_addresses_of_one_ipv6_64_lock_the_name_out_as_one_client(client):
    UserFactory(username="ana")
    for address in SAME_SUBSCRIBER[:5]:
        client.post("/accounts/login/", {"username": "ana", "password": "wrong-guess"}, REMOTE_ADDR=address)

    locked = client.post(
        "/accounts/login/", {"username": "ana", "password": "pass-word-123"}, REMOTE_ADDR=SAME_SUBSCRIBER[-1]
    )
    elsewhere = client.post(
        "/accounts/login/", {"username": "ana", "password": "pass-word-123"}, REMOTE_ADDR="2001:db8:9::1"
    )

    assert locked.status_code == 429
    assert elsewhere.status_code == 302


@pytest.mark.parametrize("unread", ["", "garbage", "1.2.3.4:5", "[2001:db8::1]"])
def test_clients_whose_address_cannot_be_read_are_counted_and_locked_out_as_one(client, unread):
    UserFactory(username="ana")
    for _ in range(5):
        client.post("/accounts/login/", {"username": "ana", "password": "wrong-guess"}, REMOTE_ADDR=unread)
    for number in range(3):
        sign_up(client, number, address=unread)

    locked = client.post("/accounts/login/", {"username": "ana", "password": "pass-word-123"}, REMOTE_ADDR="")
    limited = sign_up(client, 3, address="garbage")

    assert locked.status_code == 429 and limited.status_code == 429


def test_the_api_schema_documents_the_429_of_writes(client):
    schema = client.get("/api/schema/?format=json").json()

    assert "429" in schema["paths"]["/api/cart/items/"]["post"]["responses"]
    assert "429" not in schema["paths"]["/api/cars/"]["get"]["responses"]


def sign_up(client, number: int, *, mistaken: bool = False, address: str = "127.0.0.1"):
    password = "a fine long passphrase 9"
    return client.post(
        "/accounts/signup/",
        {
            "first_name": "New",
            "username": f"new{number}",
            "email": f"new{number}@example.com",
            "password1": password,
            "password2": "a typo" if mistaken else password,
        },
        REMOTE_ADDR=address,
    )


@pytest.mark.parametrize(
    ("now", "said", "retry_after"),
    [("06:00:00", "18 hours", 18 * 3600), ("06:59:30", "18 hours", 17 * 3600 + 30), ("23:58:30", "2 minutes", 90)],
)
def test_a_limit_reached_says_the_time_left_of_its_window_rounded_up(settings, now, said, retry_after):
    from django.test import RequestFactory

    from carsales.core.ratelimit import attempt_refused

    settings.CARSALES_RATE_LIMITS = {**settings.CARSALES_RATE_LIMITS, "signup": (1, 24 * 3600)}
    with time_machine.travel(datetime.fromisoformat(f"2026-03-02T{now}+00:00"), tick=False):
        assert attempt_refused(RequestFactory().post("/"), "signup") is None
        refusal = attempt_refused(RequestFactory().post("/"), "signup")

    assert refusal is not None and (refusal.wait, refusal.seconds) == (said, retry_after)


def test_signing_up_past_the_limit_from_one_address_gets_the_message(client, settings):
    # Three accounts a day per address: one person cannot hold the showroom through many accounts.
    settings.CARSALES_DEALER = {**settings.CARSALES_DEALER, "phone": "+1 555 0100"}
    with time_machine.travel(datetime(2026, 3, 2, 6, 0, tzinfo=UTC), tick=False):  # 18 hours left of the day's window
        for number in range(3):
            assert sign_up(client, number).status_code == 302

        response = sign_up(client, 3)

    assert response.status_code == 429 and response["Retry-After"] == str(18 * 3600)
    page = html.unescape(response.content.decode())
    assert "Too many accounts were asked for from your address today: try again in 18 hours." in page
    assert "Reach us and we will help" in page and "tel:+15550100" in page
    # The form again, with what was typed (Django never writes a password back into a page).
    assert response.context["form"]["username"].value() == "new3" and 'value="new3@example.com"' in page
    assert not get_user_model().objects.filter(username="new3").exists()


def test_a_visitor_correcting_mistakes_still_signs_up(client):
    for number in range(5):  # a typo in the repeated password, a password too common...
        assert sign_up(client, number, mistaken=True).status_code == 200

    assert sign_up(client, 5).status_code == 302
    assert get_user_model().objects.filter(username="new5").exists()


@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)  # a whole hour's window left
def test_posting_the_form_past_the_attempts_limit_gets_the_message(client):
    for number in range(20):
        assert sign_up(client, number, mistaken=True).status_code == 200

    response = sign_up(client, 20)

    assert response.status_code == 429
    assert TOO_MANY in response.content.decode()


def test_the_sign_up_form_itself_is_never_limited(client):
    for number in range(25):
        sign_up(client, number, mistaken=True)

    assert client.get("/accounts/signup/").status_code == 200


def test_another_address_may_still_sign_up(client):
    for number in range(4):
        sign_up(client, number)

    assert sign_up(client, 4, address="203.0.113.7").status_code == 302


def test_the_sign_up_limit_ends_with_its_window(client):
    with time_machine.travel("2026-03-02 09:00Z", tick=False) as clock:
        for number in range(4):
            sign_up(client, number)
        clock.shift(timedelta(hours=24))

        assert sign_up(client, 4).status_code == 302


@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)  # a whole hour's window left
def test_asking_for_password_resets_past_the_limit_gets_the_message(client):
    for _ in range(5):
        assert client.post("/accounts/password-reset/", {"email": "a@example.com"}).status_code == 302

    response = client.post("/accounts/password-reset/", {"email": "a@example.com"})

    assert response.status_code == 429
    assert TOO_MANY in response.content.decode()


def test_one_address_is_sent_few_reset_emails_whoever_asks_from_wherever(client, run_tasks):

    from carsales.conftest import UserFactory

    UserFactory(email="victim@example.com")
    for number in range(6):
        answer = client.post(
            "/accounts/password-reset/", {"email": "victim@example.com"}, REMOTE_ADDR=f"10.0.0.{number}"
        )
        assert answer.status_code == 302  # every asker sees the same answer
    run_tasks()

    assert len(mail.outbox) == 3


@pytest.mark.django_db(transaction=True)  # each writer on its own connection, as processes are
def test_the_limits_are_counted_in_the_database_so_every_process_sees_them():
    from carsales.conftest import run_together
    from carsales.core.models import AttemptCount
    from carsales.core.ratelimit import attempt_allowed

    answers = []
    run_together([lambda: answers.append(attempt_allowed(scope="t", key="a", count=5, seconds=3600)) for _ in range(8)])

    assert sorted(answers) == [False] * 3 + [True] * 5
    assert AttemptCount.objects.get(key__startswith="t:a:").count == 8


def test_an_address_signed_up_with_again_and_again_is_told_a_few_times_only(client, run_tasks):
    UserFactory(email="owner@example.com")
    password = "a fine long passphrase 9"
    for number in range(8):
        client.post(
            "/accounts/signup/",
            {
                "first_name": "Stranger",
                "username": f"stranger{number}",
                "email": "owner@example.com",
                "password1": password,
                "password2": password,
            },
            REMOTE_ADDR=f"203.0.113.{number}",
        )
    run_tasks()

    assert len([m for m in mail.outbox if m.to == ["owner@example.com"]]) == 3


def test_an_unfinished_sign_ups_address_signed_up_with_again_and_again_gets_a_few_links_only(client, run_tasks):
    password = "a fine long passphrase 9"
    for number in range(8):
        client.post(
            "/accounts/signup/",
            {"first_name": "Pending", "username": f"pending{number}", "email": "pending@example.com"}
            | {"password1": password, "password2": password},
            REMOTE_ADDR=f"203.0.113.{number}",
        )
    run_tasks()

    # The link of the account it made, then the same link again three times.
    assert len([m for m in mail.outbox if m.to == ["pending@example.com"]]) == 1 + 3
