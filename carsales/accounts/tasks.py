"""Account emails, sent by the worker so that no answer's timing tells whether an email is known."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks import task

from .tokens import signup_token_generator

TOKENS = {
    "signup_confirm": signup_token_generator,
    "signup_taken": None,
    "password_reset": default_token_generator,
}


@task()
def account_email_send(*, kind: str, user_id: int, base_url: str) -> None:
    """Send the `kind` email (a key of TOKENS) to the user, rendered from accounts/<kind>_*.txt.

    Tokens are made here, by the worker, so no link sits in the job's stored arguments.
    A user deleted in the meantime gets nothing.
    """
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None:
        return
    generator = TOKENS[kind]
    protocol, domain = base_url.split("://", 1)
    context = {
        "user": user,
        "protocol": protocol,
        "domain": domain,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": generator.make_token(user) if generator else "",
    }
    subject = "".join(render_to_string(f"accounts/{kind}_subject.txt", context).splitlines())
    body = render_to_string(f"accounts/{kind}_email.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
