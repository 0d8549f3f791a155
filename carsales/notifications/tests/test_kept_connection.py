"""A worker keeps its connection to the mail server between emails (notifications.mail)."""

import os
import smtplib
import socket

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from carsales.notifications import mail as kept_mail
from carsales.notifications.mail import send_kept

from .smtp import SMTPDouble


def email(number: int) -> EmailMessage:
    return EmailMessage(
        subject=f"n{number}", body="b", to=["buyer@example.com"], headers={"Message-ID": f"<{number}@t>"}
    )


def pointed_at(settings, smtp: SMTPDouble) -> None:
    for name, value in smtp.env(timeout=0.5).items():
        setattr(settings, name, float(value) if name == "EMAIL_TIMEOUT" else value)
    settings.EMAIL_PORT = smtp.port


def test_emails_one_after_another_share_one_connection(settings):
    with SMTPDouble() as smtp:
        pointed_at(settings, smtp)
        for number in range(3):
            send_kept(email(number))

        assert [message["Subject"] for message in smtp.messages] == ["n0", "n1", "n2"]
        assert len(smtp.connections) == 1


def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_email_sent(settings):
    with SMTPDouble() as smtp:
        pointed_at(settings, smtp)
        send_kept(email(1))
        smtp.connections[0].shutdown(socket.SHUT_RDWR)  # the server's idle timeout

        send_kept(email(2))

        assert [message["Subject"] for message in smtp.messages] == ["n1", "n2"]
        assert len(smtp.connections) == 2


def test_other_mail_settings_get_a_connection_of_their_own(settings):
    with SMTPDouble() as first, SMTPDouble() as second:
        pointed_at(settings, first)
        send_kept(email(1))
        pointed_at(settings, second)
        send_kept(email(2))
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        send_kept(email(3))

        assert [message["Subject"] for message in first.messages] == ["n1"]
        assert [message["Subject"] for message in second.messages] == ["n2"]
        assert [message.subject for message in mail.outbox] == ["n3"]


def test_a_failed_send_drops_the_connection_and_the_next_email_opens_a_new_one(settings):
    with SMTPDouble() as smtp:
        pointed_at(settings, smtp)
        send_kept(email(1))
        smtp.delay = 1  # past EMAIL_TIMEOUT: the server does not answer the message in time

        with pytest.raises((TimeoutError, smtplib.SMTPException)):
            send_kept(email(2))
        smtp.delay = 0
        send_kept(email(3))

        assert len(smtp.connections) == 2
        assert smtp.messages[-1]["Subject"] == "n3"


def test_a_relay_that_caps_a_connection_gets_the_refused_email_on_a_new_one(settings):
    with SMTPDouble(messages_per_connection=2) as smtp:
        pointed_at(settings, smtp)
        for number in range(5):
            send_kept(email(number))

        assert [message["Subject"] for message in smtp.messages] == ["n0", "n1", "n2", "n3", "n4"]
        assert len(smtp.connections) == 3


def test_a_sender_refused_on_a_new_connection_is_not_tried_again(settings):
    with SMTPDouble(messages_per_connection=0) as smtp:
        pointed_at(settings, smtp)

        with pytest.raises(smtplib.SMTPSenderRefused):
            send_kept(email(1))

        assert smtp.messages == [] and len(smtp.connections) == 1


def test_a_forked_child_does_not_write_on_its_parents_connection(settings):
    with SMTPDouble() as smtp:
        pointed_at(settings, smtp)
        send_kept(email(1))
        child = os.fork()
        if child == 0:  # the child leaves at once, whatever happens: it must not run the rest of the tests
            os._exit(0 if getattr(kept_mail._kept, "backend", None) is None else 1)
        _, status = os.waitpid(child, 0)
        send_kept(email(2))

        assert os.waitstatus_to_exitcode(status) == 0
        assert len(smtp.connections) == 1 and smtp.messages[-1]["Subject"] == "n2"


def test_the_smtp_double_keeps_nothing_of_a_message_whose_sender_died_mid_data():
    """As a mail server: a worker killed while sending leaves no truncated message to count."""
    with SMTPDouble() as smtp:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=2)
        client.ehlo()
        client.mail("shop@example.com")
        client.rcpt("buyer@example.com")
        client.putcmd("data")
        assert client.getreply()[0] == 354
        client.send(b"Subject: cut off\r\n")
        client.close()  # no final "." line
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=2)
        client.sendmail("shop@example.com", ["buyer@example.com"], b"Subject: whole\r\n\r\nbody\r\n")
        client.quit()

        assert [message["Subject"] for message in smtp.messages] == ["whole"]
