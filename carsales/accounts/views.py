from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from .forms import ProfileForm, SignUpForm
from .services import api_token_rotate, buyer_ensure, buyer_profile_update


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("catalog:car_list")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
        return redirect("catalog:car_list")
    return render(request, "accounts/signup.html", {"form": form})


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
            buyer_profile_update(user=user, **form.cleaned_data)
        except ValidationError as error:
            _apply_validation_error(form, error)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


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
