from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.http import HttpRequest

from carsales.core.models import AttemptCount
from carsales.core.ratelimit import attempt_allowed
from carsales.core.text import duration_said

from .models import validate_phone
from .services import account_unconfirmed, login_tries_left, signup_owners_retry
from .signals import account_email_owed


class WeakPasswordSaidUnderIt:
    """Django says why a password is too weak under its confirmation; it is about the password
    typed first, so it is said there (a mismatch stays under the confirmation)."""

    def validate_password_for_user(self, user: Any, password_field_name: str = "password2") -> None:
        super().validate_password_for_user(user, password_field_name.replace("2", "1"))  # type: ignore[misc]


def phone_field() -> forms.CharField:
    """A buyer's phone number, as the sign-up and the profile ask it."""
    return forms.CharField(
        max_length=32,
        required=False,
        validators=[validate_phone],
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),  # a phone's number pad
        help_text="So that we can call you about your order, e.g. +1 555 010 0199.",
    )


class NameAsWritten:
    """A person's name with its spaces as one (typed twice, pasted with a tab): as orders carry it."""

    cleaned_data: dict[str, Any]

    def clean_first_name(self) -> str:
        return " ".join(self.cleaned_data["first_name"].split())

    def clean_last_name(self) -> str:
        return " ".join(self.cleaned_data["last_name"].split())


class SignUpForm(NameAsWritten, WeakPasswordSaidUnderIt, UserCreationForm):
    email = forms.EmailField(
        required=True,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We send your order confirmations here.",
    )
    phone = phone_field()
    field_order = ["first_name", "last_name", "username", "email", "phone", "password1", "password2"]

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        model = get_user_model()
        fields = ["first_name", "last_name", "username", "email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The name an order and its sale are made out to; a last name only for those who have one.
        self.fields["first_name"].required = True
        self.fields["first_name"].help_text = "As on your ID: your orders and receipts carry your name."
        self.fields["first_name"].widget.attrs.update(autocomplete="given-name", autofocus=True)
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["username"].widget.attrs.pop("autofocus", None)
        self.fields["username"].help_text = "150 characters or fewer: letters, digits and . + - _ only."

    # The account holding the username asked for, if any: kept from this sign-up unless it is an
    # unfinished sign-up given again with its password (clean(), which hashes the password for
    # any holder: the time taken says nothing of which kind holds the name).
    holder: Any = None

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        # Before the model's validator, whose message names @ too (refused below): said as the help says it.
        UnicodeUsernameValidator(message="A username holds letters, digits and . + - _ only.")(username)
        self.holder = (
            get_user_model()._default_manager.filter(username__iexact=username).select_related("buyer").first()
        )
        # One logs in with a username or an email (backends.account_for_login), a username first: a
        # new name shaped like an address could take someone's email log-in.
        if self.holder is None and "@" in username:
            raise forms.ValidationError(
                "A username cannot hold @ (you log in with your email as well); choose another."
            )
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.holder is not None and not signup_owners_retry(
            holder=self.holder, password=cleaned.get("password1") or ""
        ):
            self.add_error("username", self.instance.unique_error_message(get_user_model(), ["username"]))
        return cleaned

    def validate_unique(self) -> None:
        # The username's holder is judged in clean(): taken, or its own sign-up given again.
        if self.holder is None:
            super().validate_unique()

    def clean_email(self) -> str:
        # A taken email is not an error here: saying so would tell anyone which emails have
        # accounts. accounts.services.account_sign_up deals with it out of sight.
        return self.cleaned_data["email"].strip().lower()


class SetPasswordForm(WeakPasswordSaidUnderIt, auth_forms.SetPasswordForm):
    """The new password a reset link asks for."""


class SignUpPasswordForm(SetPasswordForm):
    """The account's password, asked as its sign-up link is followed in another browser than the
    sign-up's: the account's first, as its owner knows it (not a "new" one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "Password"
        self.fields["new_password2"].label = "Password again"


class PasswordChangeForm(WeakPasswordSaidUnderIt, auth_forms.PasswordChangeForm):
    """The current password and the new one twice, as a logged-in user changes it."""

    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_incorrect": "That is not your current password; it is case-sensitive.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Current password"


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, with the email sent by the worker rather than while the visitor waits.

    Sending takes long enough to tell a known email from an unknown one by the answer's timing;
    owing a durable delivery takes about as long as finding no account. One address is sent at
    most CARSALES_RATE_LIMITS["password_reset_target"] resets per window, whoever asks: past
    that the form answers the same and sends nothing, so no one can flood a victim's mailbox.
    """

    def save(self, *, request: HttpRequest, **kwargs: Any) -> None:  # type: ignore[override]
        base_url = request.build_absolute_uri("/").rstrip("/")
        email = self.cleaned_data["email"].strip().lower()
        count, seconds = settings.CARSALES_RATE_LIMITS["password_reset_target"]
        if not attempt_allowed(scope="password_reset_target", key=email, count=count, seconds=seconds):
            return
        for user in self.get_users(email):
            account_email_owed.send(sender=get_user_model(), kind="password_reset", user_id=user.pk, base_url=base_url)


class ProfileForm(NameAsWritten, forms.Form):
    first_name = forms.CharField(
        max_length=150, required=False, help_text="As on your ID: your orders and receipts carry your name."
    )
    last_name = forms.CharField(max_length=150, required=False)
    # As long as the account's column holds (not the 320 an address may have).
    email = forms.EmailField(
        max_length=get_user_model()._meta.get_field("email").max_length,
        help_text="We send your order confirmations here.",
    )
    phone = phone_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A name once given is the one orders are made out to: changed, never taken away (an
        # account made without one, by staff or before sign-up asked for it, may go on without).
        if self.initial.get("first_name"):
            self.fields["first_name"].required = True


UNCONFIRMED_SESSION_KEY = "unconfirmed_user_id"


class LoginForm(auth_forms.AuthenticationForm):
    """Django's log-in form, by username or email (backends.account_for_login); an account whose
    email is not confirmed yet is told so, and offered the link again, once the right password is
    given (before that, nothing about the account is said, so a stranger learns nothing of which
    names or addresses exist)."""

    UNCONFIRMED = (
        "Your email address is not confirmed yet: follow the link in the email we sent you, "
        "or have the link sent again below."
    )
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "invalid_login": (
            "That username or email and password do not match an account; the password is case-sensitive."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.fields["username"]
        name.label = "Username or email"
        if self.is_bound and self.data.get("username"):  # sent back with the name kept: the password to type again
            name.widget.attrs.pop("autofocus", None)
            self.fields["password"].widget.attrs["autofocus"] = True
        # Django sizes the field to the username's column (150); an address may fill the email's (254).
        name.widget.attrs["maxlength"] = get_user_model()._meta.get_field("email").max_length

    # The last wrong passwords before a lock-out warn of it: a typo or two says nothing (with a
    # limit of 5; a lower one warns sooner), a lock-out should not surprise.
    TRIES_LEFT_SAID = {2: "Two more wrong passwords", 1: "One more wrong password"}

    def get_invalid_login_error(self) -> forms.ValidationError:
        said = self.error_messages["invalid_login"]
        name = self.cleaned_data.get("username")
        left = login_tries_left(request=self.request, username=name) if self.request is not None and name else None
        if left in self.TRIES_LEFT_SAID:
            said += (
                f" {self.TRIES_LEFT_SAID[left]} and logging in as this user from this network pauses for "
                f"{duration_said(settings.AXES_COOLOFF_TIME)}. Not sure of your password? Reset it instead."
            )
        return forms.ValidationError(said, code="invalid_login")

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            user = account_unconfirmed(request=self.request) if self.request is not None else None
            if user is None:
                raise
            self.request.session[UNCONFIRMED_SESSION_KEY] = user.pk  # type: ignore[union-attr]
            raise forms.ValidationError(self.UNCONFIRMED, code="unconfirmed")


class LimitLiftForm(forms.Form):
    """A rate limit to lift, as the lock-outs page posts it: refused, never a failed query, when
    the name holds a NUL byte (PostgreSQL compares no text with one)."""

    limit = forms.CharField(max_length=AttemptCount._meta.get_field("key").max_length, strip=False)


class LockoutLiftForm(forms.Form):
    """A lock-out to lift, as the lock-outs page posts it: refused, never a failed query, when the
    name holds a NUL byte or the address is not one."""

    username = forms.CharField(max_length=255, strip=False)  # as axes stores it (an email, a long name)
    ip_address = forms.GenericIPAddressField(required=False)
