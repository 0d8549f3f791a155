from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from carsales.core.ratelimit import post_rate_limited

from . import views
from .forms import LoginForm, PasswordResetForm, SetPasswordForm

app_name = "accounts"

urlpatterns = [
    path("signup/", post_rate_limited("signup_attempt")(views.signup), name="signup"),
    path("signup/sent/", post_rate_limited("signup_attempt")(views.signup_sent), name="signup_sent"),
    path("signup/resend/", views.signup_resend, name="signup_resend"),
    path("signup/<uidb64>/<token>/", views.signup_confirm, name="signup_confirm"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html", redirect_authenticated_user=True, authentication_form=LoginForm
        ),
        name="login",
    ),
    # Django's LogoutView accepts POST only, so a link or prefetch cannot log anyone out.
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path(
        "password-change/",
        views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path("email/<str:token>/", views.email_confirm, name="email_confirm"),
    path("token/", views.api_token, name="api_token"),
    # Django's reset flow answers alike whether or not an account has the email, and its links
    # work once. Success URLs are spelled out because these names live in the accounts namespace.
    path(
        "password-reset/",
        post_rate_limited("password_reset")(
            auth_views.PasswordResetView.as_view(
                form_class=PasswordResetForm,
                template_name="accounts/password_reset_form.html",
                email_template_name="accounts/password_reset_email.txt",
                subject_template_name="accounts/password_reset_subject.txt",
                success_url=reverse_lazy("accounts:password_reset_done"),
            )
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=SetPasswordForm,
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
]
