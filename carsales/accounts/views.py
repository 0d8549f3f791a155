from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from carsales.core.decorators import posted_else_back_to
from carsales.core.permissions import staff_required
from carsales.core.ratelimit import attempt_refused, limit_lift, limits_reached, over_limit, refused_with
from carsales.core.text import duration_said

from .forms import (
    UNCONFIRMED_SESSION_KEY,
    LimitLiftForm,
    LockoutLiftForm,
    PasswordChangeForm,
    ProfileForm,
    SignUpForm,
    SignUpPasswordForm,
)
from .services import (
    account_activate,
    account_sign_up,
    api_token_rotate,
    buyer_ensure,
    buyer_profile_update,
    email_change_asked,
    email_change_confirm,
    email_change_pending,
    lockouts_current,
    lockouts_lift,
    password_change,
    rate_limits_described,
    signup_email_again,
    signup_link_resend,
    signup_pending,
)
from .tokens import signup_token_generator

# Where a sign-up begun from a page (the cart) returns once its link is followed in this browser.
SIGNUP_NEXT_SESSION_KEY = "accounts.signup_next"
# The address this browser signed up with: "check your email" can send the link again.
SIGNUP_EMAIL_SESSION_KEY = "accounts.signup_email"
# The unfinished sign-up whose password was typed in this browser: its link logs in here at once.
SIGNUP_ACCOUNT_SESSION_KEY = "accounts.signup_account"


class LogoutView(auth_views.LogoutView):
    """Django's (POST only), saying it was done: a shared computer's next user should see it was."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are logged out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's (logged in; the current password, the new one twice, its validators), saved by
    password_change, which tells the account's address. This session stays logged in; the
    account's others end, their password hash no longer the account's."""

    form_class = PasswordChangeForm
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:profile")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Counted per account, once logged in (Django's view requires it): a stolen session gets no
        # more guesses at the current password from many addresses, and neighbours behind one
        # address, or visitors posting without an account, take none of the owner's.
        refused = over_limit(request, "password_change", key=request.user.get_username())
        return refused if refused is not None else super().post(request, *args, **kwargs)

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:  # type: ignore[override]
        password_change(user=form.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(self.request, form.user)
        messages.success(
            self.request, "Your password is changed. Anywhere else you were logged in, you are logged out."
        )
        return redirect(self.success_url)


def _safe_next(request: HttpRequest, url: str) -> str:
    """`url` if it leads to a page of this site, else ""."""
    secure = request.is_secure()
    return url if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, require_https=secure) else ""


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponseBase:
    if request.user.is_authenticated:
        return redirect("catalog:car_list")
    form = SignUpForm(request.POST or None)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    if request.method == "POST" and form.is_valid():
        refusal = attempt_refused(request, "signup")  # an account asked for: an email sent
        if refusal is not None:  # said on the form, which keeps what was typed (but the password)
            form.add_error(
                None,
                f"Too many accounts were asked for from your address today: try again in {refusal.wait}. "
                "What you typed is kept here; type the password again then.",
            )
            context = {"form": form, "next": next_url, "limited": True}
            return refused_with(render(request, "accounts/signup.html", context, status=429), refusal)
        try:
            typed_for = account_sign_up(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                base_url=request.build_absolute_uri("/").rstrip("/"),
                phone=form.cleaned_data["phone"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except ValidationError as taken:  # by a sign-up of the same name a moment before
            _apply_validation_error(form, taken)
        else:
            request.session[SIGNUP_EMAIL_SESSION_KEY] = form.cleaned_data["email"]
            _typed_password_of(request, typed_for)
            if next_url:
                request.session[SIGNUP_NEXT_SESSION_KEY] = next_url
            return redirect("accounts:signup_sent")
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


@require_http_methods(["GET", "POST"])
def signup_sent(request: HttpRequest) -> HttpResponse:
    """The "check your email" page, and (POST) the same email again to the address this browser gave."""
    if request.user.is_authenticated:
        return redirect("catalog:car_list")  # signed up and in: nothing to send again
    email = request.session.get(SIGNUP_EMAIL_SESSION_KEY, "")
    if request.method == "POST":
        if not email:
            messages.error(request, "Sign up first: we send the link to the address you give.")
            return redirect("accounts:signup")
        signup_email_again(email=email, base_url=request.build_absolute_uri("/").rstrip("/"))
        messages.success(request, f"We sent it again to {email}: check your inbox, and your spam folder.")
        return redirect("accounts:signup_sent")
    return render(request, "accounts/signup_sent.html", {"email": email})


# A link in an email is opened by whatever opens it first, a mail scanner fetching every link
# included: the two links below ask on a GET and act on the POST of their page's button.
@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link of the sign-up email: its button activates the account and logs it in; it works once.

    The link proves its follower reads the address, not that they typed the sign-up's password:
    anyone may sign up first with someone else's address. So outside the browser where that
    password was typed, the follower chooses the account's password as they confirm, and whoever
    signed up keeps none of it."""
    try:
        user = get_user_model()._default_manager.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (ValueError, get_user_model().DoesNotExist):
        user = None
    if user is None or not signup_token_generator.check_token(user, token) or not signup_pending(user):
        return render(request, "accounts/signup_link_invalid.html", {"account": user}, status=400)
    typed_here = request.session.get(SIGNUP_ACCOUNT_SESSION_KEY) == user.pk
    form = None if typed_here else SignUpPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "GET" or (form is not None and not form.is_valid()):
        return render(request, "accounts/signup_confirm.html", {"account": user, "form": form})
    password = form.cleaned_data["new_password1"] if form is not None else None
    if not account_activate(user=user, password=password):
        return render(request, "accounts/signup_link_invalid.html", {"account": user}, status=400)
    request.session.pop(SIGNUP_ACCOUNT_SESSION_KEY, None)
    login(request, user, backend="carsales.accounts.backends.CaseInsensitiveModelBackend")
    request.session.pop(SIGNUP_EMAIL_SESSION_KEY, None)
    messages.success(request, f"Welcome, {user.first_name or user.get_username()}! Your account is ready.")
    return redirect(_safe_next(request, request.session.pop(SIGNUP_NEXT_SESSION_KEY, "")) or "catalog:car_list")


def _typed_password_of(request: HttpRequest, account_id: int | None) -> None:
    """Note, out of sight in the session, the unfinished sign-up whose password this browser typed
    (None: none, or one it did not type, which must not keep a note of an earlier one)."""
    if account_id is None:
        request.session.pop(SIGNUP_ACCOUNT_SESSION_KEY, None)
    else:
        request.session[SIGNUP_ACCOUNT_SESSION_KEY] = account_id


def _apply_validation_error(form: forms.BaseForm, error: ValidationError) -> None:
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    buyer = buyer_ensure(user=user)
    initial = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email, "phone": buyer.phone}  # type: ignore[union-attr]
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            buyer_profile_update(user=user, base_url=request.build_absolute_uri("/").rstrip("/"), **form.cleaned_data)
        except ValidationError as error:
            _apply_validation_error(form, error)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("accounts:profile")
    pending = email_change_pending(user=user)
    return render(request, "accounts/profile.html", {"form": form, "pending_email": pending})


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """axes' answer to a log-in refused by a lockout (AXES_LOCKOUT_CALLABLE): 429, and when to try again."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = f"Too many failed log-in attempts. Try again in {round(seconds / 60)} minutes, or reset your password."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "accounts/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response


@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    """The user's API token: shown, made on the first POST, replaced on the next ones."""
    if request.method == "POST":
        api_token_rotate(user=request.user)
        messages.success(request, "Your new API token is ready; the previous one no longer works.")
        return redirect("accounts:api_token")
    token = Token.objects.filter(user=request.user).first()  # type: ignore[misc]  # login_required: a User
    return render(request, "accounts/api_token.html", {"token": token})


@staff_required("axes.view_accessattempt", "axes.delete_accessattempt")
@require_http_methods(["GET", "POST"])
def lockouts(request: HttpRequest) -> HttpResponse:
    """Staff see the log-ins locked out and the limits refusing someone now (a family signing up
    from one address), and lift one (a customer on the phone, say)."""
    # Lifting a limit is the power lifting a lock-out is: letting someone try again now.
    limits = rate_limits_described()
    if request.method == "POST" and "limit" in request.POST:
        limit = LimitLiftForm(request.POST)
        if limit.is_valid() and limit_lift(name=limit.cleaned_data["limit"], scopes=limits):
            messages.success(request, "The limit is lifted: they can try again now.")
        else:
            messages.error(request, "No such limit: its window may have ended already.")
        return redirect("staff_lockouts")
    if request.method == "POST":
        form = LockoutLiftForm(request.POST)
        if not form.is_valid():
            messages.error(request, "No such lock-out: give a name and, if any, an IP address.")
        elif lockouts_lift(username=form.cleaned_data["username"], ip_address=form.cleaned_data["ip_address"] or None):
            messages.success(request, f"The lock-out of {form.cleaned_data['username']} is lifted.")
        else:
            messages.error(request, "No such lock-out: it may have ended already.")
        return redirect("staff_lockouts")
    context = {
        "lockouts": lockouts_current(),
        "limits": limits_reached(limits=limits),
        "failures_allowed": settings.AXES_FAILURE_LIMIT,
        "lifted_after": duration_said(settings.AXES_COOLOFF_TIME),
    }
    return render(request, "accounts/lockouts.html", context)


@posted_else_back_to(lambda: "accounts:login")
def signup_resend(request: HttpRequest) -> HttpResponse:
    """Send the sign-up link again to the account that just gave its right password unconfirmed."""
    user_id = request.session.pop(UNCONFIRMED_SESSION_KEY, None)
    if user_id is not None and signup_link_resend(
        user_id=user_id, base_url=request.build_absolute_uri("/").rstrip("/")
    ):
        _typed_password_of(request, user_id)  # its right password was given here (LoginForm)
        messages.success(request, "We sent the link again: check your inbox, and your spam folder.")
    else:
        messages.error(request, "Log in with your name and password first, then ask for the link.")
    return redirect("accounts:login")


@require_http_methods(["GET", "POST"])
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link sent to a new email address: its button sends the account's emails there from now on."""
    try:
        if request.method == "GET":
            return render(request, "accounts/email_confirm.html", {"address": email_change_asked(token=token)["to"]})
        email_change_confirm(token=token)
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        messages.success(request, "Your new email address is confirmed.")
    return redirect("accounts:profile" if request.user.is_authenticated else "accounts:login")
