import re
from contextlib import suppress
from datetime import UTC, datetime

import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from carsales.accounts.backends import CaseInsensitiveModelBackend
from carsales.accounts.models import Buyer
from carsales.accounts.tokens import signup_token_generator
from carsales.conftest import UserFactory

pytestmark = pytest.mark.django_db


SIGN_UP = {
    "first_name": "Maria",
    "last_name": "Silva",
    "username": "maria",
    "email": "Maria@Example.com",
    "password1": "Strong-pass-987",
    "password2": "Strong-pass-987",
}


def logs_in(name: str, password: str) -> bool:
    return Client().post("/accounts/login/", {"username": name, "password": password}).status_code == 302


def link_in(body: str) -> str:
    return re.search(r"https?://[^/]+(/accounts/\S+/)", body).group(1)


def test_signing_up_makes_an_inactive_account_and_emails_the_link_that_finishes_it(client, run_tasks):
    form = client.get("/accounts/signup/").content.decode()
    assert re.search(r'<input type="email" name="email"[^>]* autocomplete="email"', form)  # a browser fills it in
    response = client.post("/accounts/signup/", SIGN_UP)
    run_tasks()

    user = get_user_model().objects.get(username="maria")
    assert response["Location"] == "/accounts/signup/sent/"
    assert (user.email, user.is_active) == ("maria@example.com", False)
    assert Buyer.objects.filter(user=user).count() == 1
    assert [(m.to, m.subject) for m in mail.outbox] == [(["maria@example.com"], "Finish signing up to carsales")]
    assert "_auth_user_id" not in client.session


def test_sign_up_asks_the_name_orders_are_made_out_to_and_the_unconfirmed_address_is_sent_none(client, run_tasks):
    form = client.get("/accounts/signup/").content.decode()
    assert re.search(r'<input type="text" name="first_name"[^>]* autocomplete="given-name"', form)
    nameless = client.post("/accounts/signup/", {**SIGN_UP, "first_name": "   "})
    assert nameless.context["form"].errors["first_name"] == ["This field is required."]

    client.post("/accounts/signup/", {**SIGN_UP, "first_name": "  Maria  Clara ", "last_name": ""})
    run_tasks()

    user = get_user_model().objects.get(username="maria")
    assert (user.first_name, user.last_name, str(user.buyer)) == ("Maria Clara", "", "Maria Clara")
    assert mail.outbox[0].body.startswith("Hello,\n")  # an address not confirmed yet: nothing typed goes to it
    assert str(UserFactory(username="nameless").buyer) == "nameless"  # an account made without one


def test_an_unfinished_sign_up_given_again_with_its_password_goes_to_the_corrected_address(client, run_tasks):
    client.post("/accounts/signup/", {**SIGN_UP, "email": "maria@exmaple.com"})  # a typo in the address
    run_tasks()
    stale_link = link_in(mail.outbox.pop().body)

    again = client.post("/accounts/signup/", {**SIGN_UP, "phone": "+1 555 010 0199"})
    run_tasks()

    user = get_user_model().objects.get(username="maria")
    assert again["Location"] == "/accounts/signup/sent/" and get_user_model().objects.count() == 1
    assert (user.email, user.is_active, user.buyer.phone) == ("maria@example.com", False, "+1 555 010 0199")
    assert [m.to for m in mail.outbox] == [["maria@example.com"]]
    assert client.get(stale_link).status_code == 400  # the first address's link works no more
    client.post(link_in(mail.outbox[0].body))
    user.refresh_from_db()
    assert user.is_active


def test_an_unfinished_sign_up_corrected_to_an_address_another_account_has_tells_its_owner_only(client, run_tasks):
    UserFactory(username="owner", email="owner@example.com")
    client.post("/accounts/signup/", {**SIGN_UP, "email": "maria@exmaple.com"})
    run_tasks()
    stale_link = link_in(mail.outbox.pop().body)

    again = client.post("/accounts/signup/", {**SIGN_UP, "email": "Owner@example.com"})
    run_tasks()

    assert again["Location"] == "/accounts/signup/sent/"  # outwardly as any sign-up
    assert get_user_model().objects.get(username="maria").email == "maria@exmaple.com"
    assert client.get(stale_link).status_code == 400  # the first address's link dies all the same
    (notice,) = mail.outbox
    assert notice.to == ["owner@example.com"] and "maria" not in notice.body.lower()
    assert notice.subject == "Someone tried to sign up to carsales with your email"


@pytest.mark.parametrize("pending", [True, False])
def test_a_username_held_is_kept_from_a_sign_up_without_its_password(client, run_tasks, pending):
    holder = UserFactory(username="maria", email="maria@example.com", is_active=not pending)
    Buyer.objects.filter(user=holder).update(signup_pending=pending)

    guess = client.post("/accounts/signup/", {**SIGN_UP, "email": "mallory@example.com"})  # another password
    run_tasks()

    assert guess.context["form"].errors["username"] == ["A user with that username already exists."]
    holder.refresh_from_db()
    assert holder.email == "maria@example.com" and not mail.outbox


def test_a_finished_sign_ups_username_is_kept_even_from_its_own_password(client, run_tasks):
    holder = UserFactory(username="maria", email="maria@example.com")
    own = {"password1": "pass-word-123", "password2": "pass-word-123"}

    guess = client.post("/accounts/signup/", {**SIGN_UP, "email": "mallory@example.com", **own})
    run_tasks()

    assert guess.context["form"].errors["username"] == ["A user with that username already exists."]
    holder.refresh_from_db()
    assert holder.email == "maria@example.com" and not mail.outbox


def test_an_unfinished_sign_up_given_again_at_its_own_address_corrects_its_name_and_keeps_its_phone(client, run_tasks):
    client.post("/accounts/signup/", {**SIGN_UP, "first_name": "Mraia", "phone": "+1 555 010 0199"})
    client.post("/accounts/signup/", SIGN_UP)  # the same address, the name corrected, no phone typed
    run_tasks()

    user = get_user_model().objects.get(username="maria")
    assert (user.first_name, user.buyer.phone) == ("Maria", "+1 555 010 0199")
    assert [m.to for m in mail.outbox] == [["maria@example.com"], ["maria@example.com"]]


def test_a_link_checked_before_its_sign_up_was_corrected_to_another_address_activates_nothing(client):
    from carsales.accounts.services import account_activate

    client.post("/accounts/signup/", {**SIGN_UP, "email": "maria@exmaple.com"})
    checked = get_user_model().objects.get(username="maria")  # the old link's account, as its check read it
    client.post("/accounts/signup/", SIGN_UP)  # corrected meanwhile

    assert not account_activate(user=checked)
    assert not get_user_model().objects.get(username="maria").is_active


def test_a_name_given_stays_on_the_profile_changed_never_blanked(client):
    user = UserFactory(first_name="Maria", last_name="Silva")
    client.force_login(user)

    blanked = client.post("/accounts/profile/", {"first_name": " ", "last_name": "", "email": user.email})
    changed = client.post("/accounts/profile/", {"first_name": " Maria  Clara", "last_name": "", "email": user.email})

    assert blanked.context["form"].errors["first_name"] == ["This field is required."]
    assert changed.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.last_name, str(user.buyer)) == ("Maria Clara", "", "Maria Clara")


def test_a_username_of_other_characters_is_refused_as_its_help_says_once(client):
    response = client.post("/accounts/signup/", {**SIGN_UP, "username": "maria silva!"})

    assert response.context["form"].errors["username"] == ["A username holds letters, digits and . + - _ only."]
    assert not get_user_model().objects.filter(username="maria silva!").exists()


def test_a_name_given_at_a_sign_up_with_a_known_address_changes_nothing_on_that_account(client, run_tasks):
    owner = UserFactory(email="maria@example.com", first_name="Maria", last_name="Silva")

    client.post("/accounts/signup/", {**SIGN_UP, "username": "intruder", "first_name": "Mallory", "last_name": "X"})

    owner.refresh_from_db()
    assert (owner.first_name, owner.last_name) == ("Maria", "Silva")
    assert not get_user_model().objects.filter(first_name="Mallory").exists()


def test_a_phone_given_at_sign_up_is_kept_on_the_new_account_and_never_on_an_existing_one(client, run_tasks):
    owner = UserFactory(email="taken@example.com")
    Buyer.objects.filter(user=owner).update(phone="+1 555 010 0100")

    client.post("/accounts/signup/", {**SIGN_UP, "phone": " +1 555 010 0199 "})
    client.post(
        "/accounts/signup/", {**SIGN_UP, "username": "other", "email": "taken@example.com", "phone": "0000 000"}
    )
    refused = client.post("/accounts/signup/", {**SIGN_UP, "username": "third", "email": "t@example.com", "phone": "x"})

    assert Buyer.objects.get(user__username="maria").phone == "+1 555 010 0199"
    assert Buyer.objects.get(user=owner).phone == "+1 555 010 0100"  # a stranger's sign-up changes nothing of theirs
    assert refused.status_code == 200 and "Enter a phone number" in refused.content.decode()
    assert not get_user_model().objects.filter(username="third").exists()


def test_following_the_sign_up_link_asks_and_its_button_activates_the_account_and_logs_in(client, run_tasks):
    client.post("/accounts/signup/", SIGN_UP)
    run_tasks()
    link = link_in(mail.outbox[0].body)

    asked = client.get(link)  # what a mail scanner opening every link does: nothing
    assert asked.status_code == 200 and "Confirm my account" in asked.content.decode()
    assert "new_password1" not in asked.content.decode()  # the browser that typed the password: no asking
    assert not get_user_model().objects.get(username="maria").is_active and "_auth_user_id" not in client.session
    response = client.post(link, follow=True)

    user = get_user_model().objects.get(username="maria")
    assert user.is_active
    assert response.context["user"] == user
    assert b"Welcome, Maria" in response.content


def test_a_stranger_who_signed_up_first_with_an_owners_address_keeps_no_password_to_the_account(run_tasks):
    """A pre-registration: Mallory signs up with Maria's address and a password of hers; Maria,
    signing up later, is sent that account's link (the first sign-up stands). Following it in her
    own browser, she chooses the account's password: Mallory's no longer opens it."""
    mallory, maria = Client(), Client()
    mallory.post(
        "/accounts/signup/", SIGN_UP | {"username": "m4ria", "password1": "Mallorys-987", "password2": "Mallorys-987"}
    )
    maria.post("/accounts/signup/", SIGN_UP)  # her own name and password, dropped: the address has a sign-up
    run_tasks()
    link = link_in(mail.outbox[-1].body)
    mail.outbox.clear()

    asked = maria.get(link).content.decode()
    mismatched = maria.post(link, {"new_password1": "Marias-own-321", "new_password2": "Marias-0wn-321"})
    account = get_user_model().objects.get(username="m4ria")
    assert "choose its password" in asked and 'name="new_password1"' in asked
    assert mismatched.status_code == 200 and mismatched.context["form"].errors["new_password2"]
    assert not account.is_active and "_auth_user_id" not in maria.session  # nothing done before a password
    confirmed = maria.post(link, {"new_password1": "Marias-own-321", "new_password2": "Marias-own-321"}, follow=True)
    run_tasks()

    assert confirmed.context["user"] == account and get_user_model().objects.get(pk=account.pk).is_active
    assert not logs_in("m4ria", "Mallorys-987") and not logs_in(SIGN_UP["email"], "Mallorys-987")
    assert logs_in("m4ria", "Marias-own-321")
    assert not mail.outbox  # a first password chosen, no "your password was changed"


def test_a_new_password_of_an_account_made_active_past_its_link_is_told_to_its_address(run_tasks):
    """Activated by a queryset update, which leaves the sign-up's mark: its owner's account all the
    same, told of a new password as any other (only an unfinished sign-up's goes untold)."""
    from carsales.accounts.services import account_sign_up, password_change

    account_sign_up(username="neo", email="neo@example.com", password="pass-word-123", base_url="http://testserver")
    get_user_model().objects.filter(username="neo").update(is_active=True)
    run_tasks()
    mail.outbox.clear()

    password_change(user=get_user_model().objects.get(username="neo"), password="another-pass-456")
    run_tasks()

    assert [m.subject for m in mail.outbox] == ["Your carsales password was changed"]


def test_a_sign_up_link_opened_in_another_browser_asks_the_password_and_logs_in_with_it(client, run_tasks):
    client.post("/accounts/signup/", SIGN_UP)
    run_tasks()
    phone = Client()  # the email read on another device

    asked = phone.get(link_in(mail.outbox[0].body)).content.decode()
    confirmed = phone.post(
        link_in(mail.outbox[0].body), {"new_password1": "Strong-pass-987", "new_password2": "Strong-pass-987"}
    )

    assert "choose its password" in asked and confirmed.status_code == 302
    assert phone.session["_auth_user_id"] == str(get_user_model().objects.get(username="maria").pk)


def test_the_link_sent_again_after_the_right_password_logs_in_at_once_in_that_browser(client, run_tasks):
    from carsales.accounts.services import account_sign_up

    account_sign_up(username="neo", email="neo@example.com", password="pass-word-123", base_url="http://testserver")
    client.post("/accounts/login/", {"username": "neo", "password": "pass-word-123"})
    client.post("/accounts/signup/resend/")
    run_tasks()

    asked = client.get(link_in(mail.outbox[-1].body)).content.decode()
    confirmed = client.post(link_in(mail.outbox[-1].body))

    assert "new_password1" not in asked and confirmed.status_code == 302 and "_auth_user_id" in client.session


def test_the_sign_up_link_works_once(client, run_tasks):
    client.post("/accounts/signup/", SIGN_UP)
    run_tasks()
    link = link_in(mail.outbox[0].body)
    client.post(link)
    client.post("/accounts/logout/")

    for response in (client.get(link), client.post(link)):
        assert response.status_code == 400 and "_auth_user_id" not in client.session


def test_an_unfinished_sign_up_cannot_log_in(client):
    client.post("/accounts/signup/", SIGN_UP)

    response = client.post("/accounts/login/", {"username": "maria", "password": "Strong-pass-987"})

    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_an_account_staff_deactivated_is_never_activated_by_a_sign_up_link(client, run_tasks):
    client.post("/accounts/signup/", SIGN_UP)
    run_tasks()
    first_link = link_in(mail.outbox[0].body)
    client.post(first_link)
    client.post("/accounts/logout/")
    user = get_user_model().objects.get(username="maria")
    user.is_active = False  # staff deactivate it (the admin's checkbox)
    user.save()
    mail.outbox.clear()

    log_in = client.post("/accounts/login/", {"username": "maria", "password": "Strong-pass-987"})
    resent = client.post("/accounts/signup/resend/", follow=True)
    client.post("/accounts/signup/", SIGN_UP | {"username": "maria2"})  # its email again
    run_tasks()
    old_link = client.post(first_link)
    fresh = f"/accounts/signup/{urlsafe_base64_encode(force_bytes(user.pk))}/{signup_token_generator.make_token(user)}/"
    fresh_link = client.post(fresh)
    assert client.get(fresh).status_code == 400

    assert "not confirmed yet" not in log_in.content.decode()
    assert "Log in with your name and password first" in resent.content.decode()
    assert mail.outbox == [] and not get_user_model().objects.filter(username="maria2").exists()
    assert old_link.status_code == fresh_link.status_code == 400
    assert not get_user_model().objects.get(pk=user.pk).is_active and "_auth_user_id" not in client.session


def test_signing_up_with_different_passwords_shows_the_error_and_creates_nothing(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "maria", "email": "m@example.com", "password1": "Strong-pass-987", "password2": "other-pass-987"},
    )

    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="maria").exists()


def test_signing_up_with_a_taken_email_answers_as_for_a_new_one(client):
    UserFactory(email="taken@example.com")

    taken = client.post("/accounts/signup/", {**SIGN_UP, "username": "new", "email": "TAKEN@example.com"}, follow=True)
    free = client.post("/accounts/signup/", {**SIGN_UP, "username": "other", "email": "free@example.com"}, follow=True)

    assert taken.redirect_chain == free.redirect_chain == [("/accounts/signup/sent/", 302)]
    # Each page names the address its visitor gave, and differs in nothing else.
    assert without_csrf_token(taken.content).replace("taken@example.com", "@") == without_csrf_token(
        free.content
    ).replace("free@example.com", "@")


def test_signing_up_with_a_taken_email_makes_no_account_and_tells_its_owner(client, run_tasks):
    owner = UserFactory(email="taken@example.com")

    client.post("/accounts/signup/", {**SIGN_UP, "username": "new", "email": "TAKEN@example.com"})
    run_tasks()

    assert list(get_user_model().objects.all()) == [owner]
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["taken@example.com"], "Someone tried to sign up to carsales with your email")
    ]
    assert "/accounts/password-reset/" in mail.outbox[0].body


def test_signing_up_again_with_an_unfinished_sign_ups_email_resends_its_link(client, run_tasks):
    client.post("/accounts/signup/", SIGN_UP)
    client.post("/accounts/signup/", {**SIGN_UP, "username": "maria2"})
    run_tasks()

    assert list(get_user_model().objects.values_list("username", flat=True)) == ["maria"]
    assert [m.subject for m in mail.outbox] == ["Finish signing up to carsales"] * 2
    assert link_in(mail.outbox[1].body).startswith("/accounts/signup/")


def test_logging_in_with_a_wrong_password_says_the_name_or_email_and_password_do_not_match(client):
    UserFactory(username="ana", email="ana@example.com")

    response = client.post("/accounts/login/", {"username": "ana", "password": "wrong"})

    assert response.status_code == 200
    assert "That username or email and password do not match an account" in response.content.decode()


def test_a_used_sign_up_link_followed_while_logged_in_says_the_account_is_ready(buyer_client, user):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from carsales.accounts.tokens import signup_token_generator

    own = buyer_client.get(
        f"/accounts/signup/{urlsafe_base64_encode(force_bytes(user.pk))}/{signup_token_generator.make_token(user)}/"
    )
    assert own.status_code == 400 and "your account is ready" in own.content.decode()
    assert "sign up again" not in own.content.decode()

    # Someone else's link, or a mistyped one, says nothing about this account.
    other = buyer_client.get("/accounts/signup/bad/bad-token/")
    assert other.status_code == 400 and "your account is ready" not in other.content.decode()
    assert "or it was mistyped. You are logged in as" in other.content.decode()


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


def test_a_username_shaped_like_an_email_is_refused_at_sign_up(client):
    UserFactory(username="ana", email="ana@example.com")

    response = client.post(
        "/accounts/signup/",
        {"first_name": "Bea", "username": "ana@example.com", "email": "b2@example.com"}
        | {"password1": "Strong-pass-987", "password2": "Strong-pass-987"},
    )

    assert response.context["form"].errors["username"] == [
        "A username cannot hold @ (you log in with your email as well); choose another."
    ]
    assert "@" not in response.context["form"].fields["username"].help_text
    assert (
        client.post("/accounts/login/", {"username": "ana@example.com", "password": "pass-word-123"}).status_code == 302
    )


def test_signing_up_with_a_username_taken_in_another_case_is_refused(client):
    UserFactory(username="buyer")

    response = client.post(
        "/accounts/signup/",
        {
            "first_name": "Bea",
            "username": "Buyer",
            "email": "b2@example.com",
            "password1": "Strong-pass-987",
            "password2": "Strong-pass-987",
        },
    )

    assert response.context["form"].errors["username"] == ["A user with that username already exists."]
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    ("taken", "asked"),
    [
        ("Élodie", "élodie"),
        ("ÇAĞLA", "çağla"),
        ("Øyvind", "øYVIND"),
        ("admin", "adm\u0131n"),  # a dotless i
        ("\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2"),  # a final sigma
    ],
)
def test_a_username_differing_in_the_case_of_a_letter_beyond_a_to_z_is_taken_too(client, taken, asked):
    # On SQLite too, whose own LIKE folds A to Z only (carsales.core.sqlite: iexact).
    UserFactory(username=taken)

    response = client.post(
        "/accounts/signup/",
        {"first_name": "Bea", "username": asked, "email": "b2@example.com"}
        | {"password1": "Strong-pass-987", "password2": "Strong-pass-987"},
    )
    logged_in = client.post("/accounts/login/", {"username": asked, "password": "pass-word-123"})

    assert response.context["form"].errors["username"] == ["A user with that username already exists."]
    assert get_user_model().objects.count() == 1
    assert logged_in.status_code == 302


def test_iexact_is_still_an_exact_match_but_for_case():
    UserFactory(username="ab_c%d")
    UserFactory(username="abXc1d")

    assert list(get_user_model().objects.filter(username__iexact="AB_C%D").values_list("username", flat=True)) == [
        "ab_c%d"
    ]


def test_logging_in_matches_the_username_in_any_case(client):
    user = UserFactory(username="buyer")

    response = client.post("/accounts/login/", {"username": "BUYER", "password": "pass-word-123"})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_logging_in_prefers_the_exact_username_when_two_differ_only_in_case(client):
    # Such pairs can predate the sign-up check; the exact spelling must still reach its own account.
    UserFactory(username="Sam")
    sam = UserFactory(username="sam")

    client.post("/accounts/login/", {"username": "sam", "password": "pass-word-123"})

    assert client.session["_auth_user_id"] == str(sam.pk)


def test_logging_in_with_an_ambiguous_case_variant_is_refused(client):
    UserFactory(username="Sam")
    UserFactory(username="sam")

    response = client.post("/accounts/login/", {"username": "SAM", "password": "pass-word-123"})

    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_a_new_user_stays_logged_in_after_finishing_the_sign_up(client, run_tasks):
    client.post("/accounts/signup/", SIGN_UP)
    run_tasks()
    client.post(link_in(mail.outbox[0].body))

    assert client.get("/accounts/profile/").status_code == 200


def without_csrf_token(content: bytes) -> str:
    # The token is masked afresh for every response, so it differs between any two pages.
    return re.sub(r'"X-CSRFToken": "\w+"|name="csrfmiddlewaretoken" value="\w+"', "", content.decode())


def test_asking_for_a_password_reset_looks_the_same_for_a_known_and_an_unknown_email(client, run_tasks):
    UserFactory(email="known@example.com")

    known = client.post("/accounts/password-reset/", {"email": "KNOWN@example.com"}, follow=True)
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.com"}, follow=True)
    run_tasks()

    assert known.redirect_chain == unknown.redirect_chain == [("/accounts/password-reset/sent/", 302)]
    assert without_csrf_token(known.content) == without_csrf_token(unknown.content)
    assert [m.to for m in mail.outbox] == [["known@example.com"]]


def test_the_password_reset_email_is_sent_by_the_worker_not_while_the_visitor_waits(client, run_tasks):
    UserFactory(email="known@example.com")

    client.post("/accounts/password-reset/", {"email": "known@example.com"})
    assert mail.outbox == []
    run_tasks()

    assert [m.to for m in mail.outbox] == [["known@example.com"]]


def test_a_password_reset_link_sets_a_new_password(client, run_tasks):
    UserFactory(username="ana", email="ana@example.com")
    client.post("/accounts/password-reset/", {"email": "ana@example.com"})
    run_tasks()
    link = re.search(r"https?://[^/]+(/accounts/password-reset/\S+/)", mail.outbox[0].body).group(1)

    form_page = client.get(link, follow=True)
    # Named for the browser's password manager, which saves the new password under it.
    assert (
        '<input type="text" name="username" autocomplete="username" value="ana" hidden>' in form_page.content.decode()
    )
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "Fresh-pass-4821", "new_password2": "Fresh-pass-4821"},
        follow=True,
    )

    assert done.redirect_chain[-1][0] == "/accounts/password-reset/done/"
    assert client.login(username="ana", password="Fresh-pass-4821")


def test_a_weak_password_is_said_under_itself_and_a_mismatch_under_its_confirmation(client, run_tasks):
    UserFactory(username="ana", email="ana@example.com")
    client.post("/accounts/password-reset/", {"email": "ana@example.com"})
    run_tasks()
    link = re.search(r"https?://[^/]+(/accounts/password-reset/\S+/)", mail.outbox[0].body).group(1)
    reset_form = client.get(link, follow=True).redirect_chain[-1][0]

    weak = client.post(reset_form, {"new_password1": "short", "new_password2": "short"}).context["form"].errors
    signup = client.post("/accounts/signup/", {**SIGN_UP, "password1": "short", "password2": "short"})
    mismatch = client.post("/accounts/signup/", {**SIGN_UP, "password2": "Other-pass-987"})

    assert "new_password1" in weak and "new_password2" not in weak
    assert list(signup.context["form"].errors) == ["password1"]
    assert list(mismatch.context["form"].errors) == ["password2"]


def test_the_password_reset_pages_use_the_sites_templates(client):
    response = client.get("/accounts/password-reset/")

    assert response.status_code == 200
    assert "accounts/password_reset_form.html" in [t.name for t in response.templates]
    assert "carsales" in response.content.decode()


def test_a_visitor_must_log_in_to_see_the_profile(client):
    response = client.get("/accounts/profile/")

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_edits_their_name_and_phone_and_a_new_email_waits_for_its_confirmation(buyer_client, user, run_tasks):
    old = user.email
    response = buyer_client.post(
        "/accounts/profile/",
        {"first_name": "Ana", "last_name": "Lima", "email": " Ana.Lima@Example.com ", "phone": "+55 11 5555-0101"},
        follow=True,
    )
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email) == ("Ana", "Lima", old)  # not yet the new one
    assert user.buyer.phone == "+55 11 5555-0101"
    waiting = "You asked to move your emails to <strong>ana.lima@example.com</strong>"
    assert waiting in response.content.decode()
    assert waiting in buyer_client.get("/accounts/profile/").content.decode()  # on every visit until confirmed
    phone = Client()
    phone.force_login(user)
    assert waiting in phone.get("/accounts/profile/").content.decode()  # in every browser of the account

    run_tasks()
    confirm = next(m for m in mail.outbox if m.to == ["ana.lima@example.com"])
    notice = next(m for m in mail.outbox if m.to == [old])
    assert "ana.lima@example.com" in notice.body and "reset your password" in notice.body
    link = re.search(r"http://testserver(/accounts/email/\S+/)", confirm.body).group(1)
    asked = buyer_client.get(link)  # a mail scanner's visit changes nothing
    assert "Confirm this address" in asked.content.decode() and "ana.lima@example.com" in asked.content.decode()
    user.refresh_from_db()
    assert user.email == old
    buyer_client.post(link, follow=True)
    user.refresh_from_db()
    assert user.email == "ana.lima@example.com"
    assert "You asked to move your emails to" not in buyer_client.get("/accounts/profile/").content.decode()
    assert "You asked to move your emails to" not in phone.get("/accounts/profile/").content.decode()
    assert any("used already" in str(m) for m in buyer_client.post(link, follow=True).context["messages"])


@pytest.mark.parametrize(
    "phone",
    ["abc", "12345", "+1 555 \uff10\uff11\uff12\uff13\uff14\uff15", "555-0101; DROP", "+1 555 010 019999999999"],
)
def test_a_phone_nobody_could_dial_is_refused_by_the_profile_and_the_model(buyer_client, user, phone):
    from django.core.exceptions import ValidationError

    response = buyer_client.post("/accounts/profile/", {"email": user.email, "phone": phone})

    assert response.status_code == 200 and "Enter a phone number" in response.content.decode()
    user.buyer.phone = phone
    with pytest.raises(ValidationError, match="Enter a phone number"):
        user.buyer.full_clean()


def test_the_profile_shows_the_current_details(buyer_client, user):
    user.buyer.phone = "555-0101"
    user.buyer.save()

    page = buyer_client.get("/accounts/profile/")
    form = page.context["form"]

    assert form.initial["email"] == user.email and form.initial["phone"] == "555-0101"
    assert 'type="tel"' in page.content.decode()  # a phone shows its number pad


def test_a_profile_email_used_by_another_account_says_what_any_change_says_and_tells_its_owner(
    buyer_client, user, run_tasks
):
    """The profile must not tell which addresses have accounts, as sign-up does not: the change
    waits for a confirmation that never comes, and the address's owner is told someone asked."""
    owner = UserFactory(email="taken@example.com")
    before = user.email
    mail.outbox.clear()

    taken = buyer_client.post("/accounts/profile/", {"first_name": "", "last_name": "", "email": "TAKEN@example.com"})
    free = buyer_client.post("/accounts/profile/", {"first_name": "", "last_name": "", "email": "free@example.com"})
    run_tasks()

    assert taken.status_code == free.status_code == 302
    user.refresh_from_db()
    assert user.email == before
    sent = {(message.to[0], message.subject) for message in mail.outbox}
    assert ("taken@example.com", "Someone asked to use your email for another carsales account") in sent
    to_owner = [message.body for message in mail.outbox if message.to == [owner.email]]
    assert len(to_owner) == 1 and "/accounts/email/" not in to_owner[0]  # no link that could move it
    assert any(message.to == ["free@example.com"] and "/accounts/email/" in message.body for message in mail.outbox)


def test_keeping_ones_own_email_on_the_profile_is_fine(buyer_client, user):
    response = buyer_client.post("/accounts/profile/", {"email": user.email.upper(), "first_name": "Ana"})

    assert response.status_code == 302


def test_the_async_login_path_matches_the_username_in_any_case_too():
    user = UserFactory(username="buyer")

    found = async_to_sync(CaseInsensitiveModelBackend().aauthenticate)(None, username="BUYER", password="pass-word-123")

    assert found == user


def test_an_unconfirmed_account_is_told_so_after_the_right_password_and_can_have_the_link_again(client, run_tasks):
    from carsales.accounts.services import account_sign_up

    account_sign_up(username="neo", email="neo@example.com", password="pass-word-123", base_url="http://testserver")
    run_tasks()
    mail.outbox.clear()

    wrong = client.post("/accounts/login/", {"username": "neo", "password": "not-the-one"})
    right = client.post("/accounts/login/", {"username": "NEO", "password": "pass-word-123"})
    resent = client.post("/accounts/signup/resend/", follow=True)
    run_tasks()

    assert "not confirmed" not in wrong.content.decode()  # a stranger learns nothing
    assert "Your email address is not confirmed yet" in right.content.decode()
    assert "Send the link again" in right.content.decode()
    assert any("We sent the link again" in str(m) for m in resent.context["messages"])
    assert len(mail.outbox) == 1 and "/accounts/signup/" in mail.outbox[0].body
    again = client.post("/accounts/signup/resend/", follow=True)  # the session's offer was used
    assert any("Log in with your name and password first" in str(m) for m in again.context["messages"])


@pytest.mark.django_db(transaction=True)  # each sign-up on its own connection, as requests are
def test_sign_ups_at_once_with_one_address_or_one_name_make_one_account_and_no_error():
    from django.core.exceptions import ValidationError

    from carsales.accounts.services import account_sign_up
    from carsales.conftest import run_together

    def sign_up(username: str, email: str):
        def job() -> None:
            with suppress(ValidationError):  # the name taken a moment before: a form error, not a 500
                account_sign_up(username=username, email=email, password="Strong-pass-987", base_url="http://x")

        return job

    errors = run_together([sign_up(f"same{n}", "same@example.com") for n in range(3)])
    errors += run_together([sign_up(name, f"{n}@example.com") for n, name in enumerate(["ana", "Ana", "ANA"])])

    users = get_user_model().objects
    assert errors == []
    assert users.filter(email="same@example.com").count() == 1
    assert users.filter(username__iexact="ana").count() == 1


def test_a_sign_up_staff_activated_by_hand_then_deactivated_gets_no_link_again(client, run_tasks):
    client.post("/accounts/signup/", SIGN_UP)
    run_tasks()
    user = get_user_model().objects.get(username="maria")
    user.is_active = True  # staff activate it in the admin, without the link
    user.save()
    user.is_active = False  # and later deactivate it
    user.save()
    mail.outbox.clear()

    client.post("/accounts/login/", {"username": "maria", "password": "Strong-pass-987"})
    client.post("/accounts/signup/resend/")
    run_tasks()

    assert mail.outbox == [] and not Buyer.objects.get(user=user).signup_pending


def test_a_sign_up_begun_from_the_cart_returns_to_it_with_its_cars(client, run_tasks):
    from carsales.conftest import CarFactory

    car = CarFactory(model="Corolla")
    client.post(f"/cart/add/{car.pk}/")
    form = client.get("/accounts/signup/", {"next": "/cart/"}).content.decode()
    assert '<input type="hidden" name="next" value="/cart/">' in form

    client.post("/accounts/signup/", {**SIGN_UP, "next": "/cart/"})
    run_tasks()
    response = client.post(link_in(mail.outbox[0].body), follow=True)

    assert response.redirect_chain[-1][0] == "/cart/"
    assert response.context["user"].username == "maria"
    assert "Corolla" in response.content.decode()


@pytest.mark.parametrize("elsewhere", ["https://evil.example/", "//evil.example/cart/", "javascript:alert(1)"])
def test_a_sign_up_never_returns_to_another_site(client, run_tasks, elsewhere):
    client.post(f"/accounts/signup/?next={elsewhere}", SIGN_UP)
    run_tasks()
    response = client.post(link_in(mail.outbox[0].body))

    assert response["Location"] == "/"


# Mid-hour, the clock stopped: the limit counts in clock-hour windows, and a run crossing into the
# next hour would start a fresh count halfway through.
@time_machine.travel(datetime(2026, 6, 1, 12, 30, tzinfo=UTC), tick=False)
def test_check_your_email_sends_the_link_again_to_the_address_given(client, run_tasks, settings):
    settings.CARSALES_RATE_LIMITS = {**settings.CARSALES_RATE_LIMITS, "password_reset_target": (3, 60 * 60)}
    client.post("/accounts/signup/", SIGN_UP)
    page = client.get("/accounts/signup/sent/").content.decode()
    assert "maria@example.com" in page and "Send the link again" in page

    for _ in range(5):
        client.post("/accounts/signup/sent/")
    run_tasks()

    # The sign-up's own email, then three more an hour at most: the address is not flooded.
    assert [m.subject for m in mail.outbox] == ["Finish signing up to carsales"] * 4
    assert len({link_in(m.body) for m in mail.outbox}) == 1  # the same account's link
    client.post(link_in(mail.outbox[-1].body))
    assert get_user_model().objects.get(username="maria").is_active
    # Signed up and in: Back to "check your email" offers nothing more to send.
    assert client.get("/accounts/signup/sent/")["Location"] == "/"
    client.logout()
    assert "Send the link again" not in client.get("/accounts/signup/sent/").content.decode()


def test_sending_again_to_an_address_with_an_account_tells_its_owner_as_a_sign_up_would(client, run_tasks):
    UserFactory(email="maria@example.com")
    client.post("/accounts/signup/", SIGN_UP)
    response = client.post("/accounts/signup/sent/", follow=True)
    run_tasks()

    assert "We sent it again to maria@example.com" in response.content.decode()
    assert len(mail.outbox) == 2 and all("/accounts/password-reset/" in m.body for m in mail.outbox)
    assert not get_user_model().objects.filter(username="maria").exists()


def test_sending_again_without_a_sign_up_in_this_browser_asks_for_one(client, run_tasks):
    response = client.post("/accounts/signup/sent/")
    run_tasks()

    assert response["Location"] == "/accounts/signup/" and mail.outbox == []


def test_the_waiting_email_notice_ends_with_its_links_life(buyer_client, user):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from carsales.accounts.services import EMAIL_CHANGE_DAYS

    buyer_client.post("/accounts/profile/", {"email": "later@example.com"})
    waiting = "You asked to move your emails to"
    assert waiting in buyer_client.get("/accounts/profile/").content.decode()

    with time_machine.travel(timezone.now() + timedelta(days=EMAIL_CHANGE_DAYS, minutes=1)):
        assert waiting not in buyer_client.get("/accounts/profile/").content.decode()  # the link is dead

    buyer_client.post("/accounts/profile/", {"email": "other@example.com"})
    type(user).objects.filter(pk=user.pk).update(email="staff-set@example.com")  # changed by staff meanwhile
    assert waiting not in buyer_client.get("/accounts/profile/").content.decode()


@pytest.mark.parametrize("phone", ["abc", "555-0101\n", "12345", "1234567890123456"])
def test_the_database_refuses_a_phone_nobody_could_dial_on_every_path(user, phone):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Buyer.objects.filter(user=user).update(phone=phone)

    Buyer.objects.filter(user=user).update(phone="+1 (555) 010-0199")  # as people write them
    Buyer.objects.filter(user=user).update(phone="+44 1234 567 890 12")  # 15 digits: the longest plan
    Buyer.objects.filter(user=user).update(phone="")  # none given


@pytest.mark.parametrize("address", ["/accounts/login/", "/accounts/password-reset/", "/accounts/signup/", "/"])
def test_every_page_title_names_the_site_not_the_host(client, address):
    title = client.get(address).content.decode().split("<title>")[1].split("</title>")[0]
    assert title.endswith(" · carsales") and "testserver" not in title


def test_a_get_of_send_the_link_again_goes_to_the_log_in_and_sends_nothing(client, run_tasks):
    response = client.get("/accounts/signup/resend/")
    run_tasks()

    assert response.status_code == 302 and response["Location"] == "/accounts/login/" and mail.outbox == []


def test_logging_out_says_so(buyer_client):
    response = buyer_client.post("/accounts/logout/", follow=True)

    assert "_auth_user_id" not in buyer_client.session
    assert [str(message) for message in response.context["messages"]] == ["You are logged out."]


@pytest.mark.django_db(transaction=True)
def test_an_email_change_is_confirmed_in_a_transaction_of_its_own_as_a_request_makes_it():
    """Outside a test's own transaction, as every request runs: the confirmation locks the address."""
    from carsales.accounts.services import email_change_token

    user = UserFactory(email="old@example.com")
    client = Client()
    client.force_login(user)
    client.post("/accounts/profile/", {"first_name": "", "last_name": "", "email": "new@example.com", "phone": ""})
    link = f"/accounts/email/{email_change_token(user=user, new_email='new@example.com')}/"

    assert client.post(link).status_code == 302

    user.refresh_from_db()
    assert user.email == "new@example.com"


def _email_change_asked(client: Client, address: str) -> None:
    client.post("/accounts/profile/", {"first_name": "", "last_name": "", "email": address, "phone": ""})


def _email_change_links(run_tasks) -> dict[str, str]:
    run_tasks()
    return {m.to[0]: link_in(m.body) for m in mail.outbox if "/accounts/email/" in m.body}


def test_an_email_change_link_replaced_by_a_newer_one_or_used_already_changes_nothing(buyer_client, user, run_tasks):
    original = user.email
    _email_change_asked(buyer_client, "typo@exampel.com")
    _email_change_asked(buyer_client, "ann@newjob.com")  # the typo corrected
    links = _email_change_links(run_tasks)

    refused = buyer_client.post(links["typo@exampel.com"], follow=True)  # whoever holds the typo's inbox
    assert any("a newer one replaced it" in str(m) for m in refused.context["messages"])
    assert "a newer one replaced it" in buyer_client.get(links["typo@exampel.com"], follow=True).content.decode()
    user.refresh_from_db()
    assert user.email == original

    buyer_client.post(links["ann@newjob.com"])
    user.refresh_from_db()
    assert user.email == "ann@newjob.com"

    # Back to the first address, then its first link replayed: used already, it changes nothing.
    mail.outbox.clear()
    _email_change_asked(buyer_client, original)
    buyer_client.post(_email_change_links(run_tasks)[original])
    buyer_client.post(links["ann@newjob.com"])
    user.refresh_from_db()
    assert user.email == original


@time_machine.travel(datetime(2026, 6, 1, 12, 30, tzinfo=UTC), tick=False)  # mid-hour: see above
def test_a_profile_cannot_flood_an_address_with_email_change_links(buyer_client, user, run_tasks, settings):
    settings.CARSALES_RATE_LIMITS = {**settings.CARSALES_RATE_LIMITS, "password_reset_target": (3, 60 * 60)}
    for _ in range(10):
        _email_change_asked(buyer_client, "victim@example.org")
        _email_change_asked(buyer_client, user.email)  # back, so the next ask is a change again

    run_tasks()
    assert len([m for m in mail.outbox if m.to == ["victim@example.org"]]) == 3


def test_an_email_change_link_dies_when_the_same_address_is_asked_for_anew_after_another(buyer_client, user, run_tasks):
    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False):
        _email_change_asked(buyer_client, "a@example.com")
        first = _email_change_links(run_tasks)["a@example.com"]
    with time_machine.travel(datetime(2026, 6, 1, 9, 5, tzinfo=UTC), tick=False):
        _email_change_asked(buyer_client, "b@example.com")
    with time_machine.travel(datetime(2026, 6, 1, 9, 10, tzinfo=UTC), tick=False):
        mail.outbox.clear()
        _email_change_asked(buyer_client, "a@example.com")  # asked anew: only its own link works
        latest = _email_change_links(run_tasks)["a@example.com"]

        assert latest != first
        buyer_client.post(first)
        user.refresh_from_db()
        assert user.email != "a@example.com"
        buyer_client.post(latest)
        user.refresh_from_db()
        assert user.email == "a@example.com"


@time_machine.travel(datetime(2026, 6, 1, 12, 30, tzinfo=UTC), tick=False)  # mid-hour: see above
def test_asking_for_the_same_address_again_keeps_its_link_and_past_the_limit_says_so(
    buyer_client, user, run_tasks, settings
):
    settings.CARSALES_RATE_LIMITS = {**settings.CARSALES_RATE_LIMITS, "password_reset_target": (3, 60 * 60)}
    for _ in range(3):
        _email_change_asked(buyer_client, "new@example.com")
    refused = buyer_client.post(
        "/accounts/profile/", {"first_name": "", "last_name": "", "email": "new@example.com", "phone": ""}
    )
    assert "written to this address several times in the last hour" in refused.content.decode()

    run_tasks()
    links = {link_in(m.body) for m in mail.outbox if m.to == ["new@example.com"]}
    assert len(links) == 1  # the same change: every email carries the one working link
    buyer_client.post(links.pop())
    user.refresh_from_db()
    assert user.email == "new@example.com"
