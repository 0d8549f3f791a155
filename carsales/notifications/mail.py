"""Sending on a connection to the mail server that a worker keeps between emails.

Django's `EmailMessage.send()` opens a connection per email: a TCP handshake, the server's greeting,
EHLO, with a relay STARTTLS and a login too, then QUIT, for each message. A worker sends one email
after another, so each thread keeps its connection open and reuses it while the mail settings stay
the same, after a NOOP tells it still answers (a server closes idle connections). A failed send, or
an interrupt (a timeout, a worker told to stop), drops the connection without waiting for the
server's goodbye; the delivery's retry opens a new one. A relay that caps the messages of one
connection refuses the next sender with a 4xx reply: the message was not accepted, so it goes
out once more on a new connection.
"""

import os
import smtplib
import threading
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

_kept = threading.local()


def send_kept(message: EmailMessage) -> None:
    """Send `message` on this thread's kept connection; raises the backend's error when it fails."""
    made_with = _mail_settings()
    try:
        backend = getattr(_kept, "backend", None)
        reused = backend is not None and _kept.made_with == made_with and _alive(backend)
        if not reused:
            backend = _connect(made_with)
        try:
            _send(backend, message)
        except smtplib.SMTPSenderRefused as refused:
            if not (reused and 400 <= refused.smtp_code < 500):
                raise
            # Refused at MAIL FROM, before any of the message went out: a new connection cannot send it twice.
            _send(_connect(made_with), message)
    except BaseException:
        _drop()  # its state is unknown (an interrupt may land mid-NOOP): the next email opens a new one
        raise


def _connect(made_with: tuple[Any, ...]) -> Any:
    _drop()
    backend = get_connection(fail_silently=False)
    _kept.backend, _kept.made_with = backend, made_with
    return backend


def _send(backend: Any, message: EmailMessage) -> None:
    backend.open()  # opened here, so send() leaves it open
    message.connection = backend
    message.send()


def _alive(backend: Any) -> bool:
    """Whether the kept connection still answers: a NOOP, one round trip instead of the four of a
    new one; a server that closed it while idle fails it at once. A send is never retried: a
    failure after the message went out would send it twice."""
    smtp = getattr(backend, "connection", None)
    if not isinstance(smtp, smtplib.SMTP):
        return True  # not SMTP (the file, memory or console backends): nothing to lose
    try:
        return smtp.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def _drop() -> None:
    """Forget the kept connection and close its socket, without a QUIT a hung server would not answer."""
    backend = getattr(_kept, "backend", None)
    _kept.backend = None
    if backend is None:
        return
    smtp = getattr(backend, "connection", None)
    if isinstance(smtp, smtplib.SMTP):
        smtp.close()
        backend.connection = None
    else:
        backend.close()


def _forget_in_child() -> None:
    # A forked child shares the parent's socket: two processes writing one SMTP conversation garble it.
    _kept.backend = None


os.register_at_fork(after_in_child=_forget_in_child)


def _mail_settings() -> tuple[Any, ...]:
    return tuple(
        getattr(settings, name, None)
        for name in (
            "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS",
            "EMAIL_USE_SSL", "EMAIL_TIMEOUT", "EMAIL_SSL_CERTFILE", "EMAIL_SSL_KEYFILE", "EMAIL_FILE_PATH",
        )
    )  # fmt: skip
