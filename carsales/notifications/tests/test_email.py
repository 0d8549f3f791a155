"""The buyer's order emails: durable receivers, sent after commit by the worker, once per order."""

import time

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.mail import EmailMessage
from django.db import transaction
from django.test import Client
from django.utils import timezone

from carsales.conftest import CarFactory, UserFactory, order_for, run_together
from carsales.events.carry import InstanceData
from carsales.events.durable import Event
from carsales.events.effects import EffectBusy
from carsales.events.models import Delivery, EffectRecord
from carsales.events.services import delivery_run
from carsales.notifications.receivers import confirm_placed_order
from carsales.notifications.services import OrderEmail, message_id, order_email_key, order_summary
from carsales.orders.models import CancellationReason, Order
from carsales.orders.services import order_cancel, order_mark_paid
from carsales.orders.signals import order_cancelled, order_paid, order_placed

pytestmark = pytest.mark.django_db

CONFIRM = "notifications.confirm_placed_order"


def placed(email="buyer@example.com"):
    return order_for(CarFactory(value=100), user=UserFactory(email=email))


def deliveries(receiver):
    return Delivery.objects.filter(receiver=receiver)


def test_placing_an_order_emails_one_confirmation_once_the_worker_runs(run_tasks):
    order = placed()
    assert mail.outbox == []  # nothing leaves inside the checkout

    run_tasks()
    run_tasks()

    (email,) = mail.outbox
    assert email.to == ["buyer@example.com"] and f"order #{order.pk} has been placed" in email.subject
    assert "$100" in email.body
    assert email.extra_headers["Message-ID"] == message_id(order_email_key(email=OrderEmail.PLACED, order_id=order.pk))
    assert deliveries(CONFIRM).get().status == Delivery.Status.DONE


def test_an_email_greets_the_buyer_by_first_name_in_plain_text_unescaped(run_tasks):
    from carsales.conftest import BrandFactory

    car = CarFactory(value=100, brand=BrandFactory(name="Rolls & Royce"))
    order_for(car, user=UserFactory(email="sean@example.com", first_name="Seán O'Brien"))

    run_tasks()

    (email,) = mail.outbox
    assert email.body.startswith("Hello Seán O'Brien,") and "Rolls & Royce" in email.body
    assert "&amp;" not in email.body and "&#x27;" not in email.body


def test_a_rolled_back_checkout_owes_no_email(run_tasks):
    with pytest.raises(RuntimeError), transaction.atomic():
        placed()
        raise RuntimeError("payment gateway said no")
    run_tasks()

    assert mail.outbox == [] and not Delivery.objects.exists()


def test_order_placed_sent_directly_twice_and_redelivered_emails_once(run_tasks):
    order = placed()
    user = order.buyer.user

    order_placed.send(sender=Order, order=order, buyer=order.buyer, actor=user)
    run_tasks()
    first = deliveries(CONFIRM).first()
    Delivery.objects.filter(pk=first.pk).state_write(status=Delivery.Status.RETRYING)  # a worker lost after the send
    delivery_run(delivery_id=first.pk)

    assert len(mail.outbox) == 1
    assert deliveries(CONFIRM).count() == 2 and set(deliveries(CONFIRM).values_list("status", flat=True)) == {"done"}


def test_the_buyers_address_is_read_when_the_email_is_sent(run_tasks):
    order = placed(email="old@example.com")
    type(order.buyer.user).objects.filter(pk=order.buyer.user.pk).update(email="new@example.com")

    run_tasks()

    assert mail.outbox[0].to == ["new@example.com"]


def test_paying_an_order_emails_the_buyer_once(run_tasks, staff):
    order = placed()
    run_tasks()

    order_mark_paid(order=order, actor=staff, method="card", reference="slip 0042")
    order_paid.send(sender=Order, order=order, actor=AnonymousUser())  # sent again by hand: no 2nd email
    run_tasks()

    paid = [email for email in mail.outbox if "is paid" in email.subject]
    assert len(paid) == 1 and "Total paid: $100, by card (reference slip 0042)." in paid[0].body


@pytest.mark.parametrize("reason", [CancellationReason.STAFF, CancellationReason.BUYER])
def test_cancelling_an_order_emails_the_buyer_once(run_tasks, staff, reason):
    order = placed()

    order_cancel(order=order, actor=staff, reason=reason)
    order_cancelled.send(sender=Order, order=order, actor=staff, reason=reason)
    run_tasks()

    cancelled = [email for email in mail.outbox if "is cancelled" in email.subject]
    assert len(cancelled) == 1 and "back on sale" in cancelled[0].body
    assert ("as you asked" in cancelled[0].body) == (reason == CancellationReason.BUYER)


def test_an_expired_order_gets_the_expiry_email_not_the_cancellation(run_tasks):
    order = placed()

    order_cancelled.send(sender=Order, order=order, actor=None, reason=CancellationReason.EXPIRED)
    run_tasks()

    subjects = [email.subject for email in mail.outbox]
    assert f"Your carsales reservation #{order.pk} has expired" in subjects
    assert not any("is cancelled" in subject for subject in subjects)


def test_a_failed_send_is_retried_later_with_the_error_visible_and_then_sent_once(run_tasks, monkeypatch):
    placed()

    def smtp_down(self, fail_silently=False):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(EmailMessage, "send", smtp_down)
    run_tasks()

    delivery = deliveries(CONFIRM).get()
    assert delivery.status == Delivery.Status.RETRYING and "smtp down" in delivery.last_error
    assert delivery.run_after > timezone.now()  # a delay, not hammering the server

    monkeypatch.undo()
    Delivery.objects.filter(pk=delivery.pk).state_write(run_after=timezone.now())
    delivery_run(delivery_id=delivery.pk)

    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DONE and delivery.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_email_at_once_send_it_once(monkeypatch):
    order = placed()
    send = EmailMessage.send

    def slow_send(self, fail_silently=False):
        time.sleep(0.5)  # the SMTP conversation, long enough for the other worker to arrive
        return send(self, fail_silently)

    monkeypatch.setattr(EmailMessage, "send", slow_send)
    event = Event(
        receiver=CONFIRM,
        idempotency_key="k",
        attempt=1,
        sent_at=timezone.now(),
        sender="orders.order",
        kwargs={
            "order": InstanceData(model="orders.order", pk=order.pk, fields={}),
            "summary": order_summary(order),
        },
    )

    errors = run_together([lambda: confirm_placed_order(event) for _ in range(2)])

    assert len(mail.outbox) == 1
    assert [type(error) for error in errors] == [EffectBusy]  # the other one is retried later
    assert EffectRecord.objects.get().done_at is not None


def test_the_placed_email_gives_the_payment_deadline_and_a_link_to_the_order(settings, durable):
    settings.CARSALES_SITE_URL = "https://cars.example"
    order = placed()

    durable.run()

    [email] = mail.outbox
    assert f"https://cars.example/orders/{order.pk}/" in email.body
    assert "Please pay by" in email.body and "cancel it" in email.body


@pytest.mark.parametrize("payment", ["", "By bank transfer to Example Bank, account 000123456."])
def test_a_placed_order_says_how_to_pay_where_the_dealership_says_it(settings, durable, payment, client):
    settings.CARSALES_DEALER = {**settings.CARSALES_DEALER, "payment": payment}
    order = placed()
    client.force_login(order.buyer.user)

    durable.run()
    page = client.get(order.get_absolute_url()).content.decode()

    [email] = mail.outbox
    assert (f"How to pay: {payment}" in email.body) == bool(payment)
    assert ("How to pay:</strong> " + payment in page) == bool(payment)
    assert ("arrange payment and delivery" in email.body) == (not payment)


def test_every_order_email_links_to_its_order(durable, staff):
    paid = order_mark_paid(order=placed(), actor=staff)
    order_cancel(order=placed(), actor=staff)
    from carsales.sales.services import sale_void

    sale_void(sale=paid.sale, actor=staff)
    durable.run()

    assert len(mail.outbox) == 5  # 2 placed, paid, cancelled, voided
    assert all("/orders/" in email.body for email in mail.outbox)


@pytest.mark.parametrize(
    ("reason", "told", "refunded"),
    [
        ("returned", "cancelled by our staff: you returned the car.", True),
        ("payment", "cancelled by our staff: your payment did not reach us or was reversed.", False),
        # A sale recorded by mistake may have had no payment: a refund is promised for one made.
        ("error", "cancelled by our staff: the sale was recorded by mistake.", None),
        ("other", "cancelled by our staff.", True),  # another reason is not told
    ],
)
def test_a_voided_sale_tells_its_buyer_why_and_whether_a_refund_is_owed(durable, staff, client, reason, told, refunded):
    order = order_mark_paid(order=placed(), actor=staff)
    from carsales.sales.services import sale_void

    sale_void(sale=order.sale, actor=staff, reason=reason, note="The bank reversed the transfer.")
    durable.run()
    client.force_login(order.buyer.user)
    page = client.get(f"/orders/{order.pk}/").content.decode()

    (voided,) = [email for email in mail.outbox if "the sale was cancelled" in email.subject]
    assert told in voided.body
    assert ("refunded to you in full" in voided.body) == (refunded is not False)
    assert ("If you paid for it" in voided.body) == (refunded is None) == ("If you paid for it" in page)
    assert ("nothing is refunded" in voided.body) == (refunded is False)
    assert "bank" not in voided.body.lower() and "bank" not in page.lower()  # staff's note stays with staff
    assert ("refunded in full" in page) == (refunded is not False) and "back on sale" in page
    staff_page = Client()
    staff_page.force_login(staff)
    seen_by_staff = staff_page.get(f"/orders/{order.pk}/").content.decode()
    assert ("no refund is owed" in seen_by_staff) == (refunded is False)
    assert ("paid, they are owed a refund" in seen_by_staff) == (refunded is None)


def test_voiding_a_sale_again_from_a_stale_copy_owes_no_second_email(staff):
    from carsales.events.testing import deliveries_owed
    from carsales.sales.models import Sale
    from carsales.sales.services import sale_void

    order = order_mark_paid(order=placed(), actor=staff)
    stale = Sale.objects.get(pk=order.sale.pk)
    with deliveries_owed() as first:
        sale_void(sale=order.sale, actor=staff)
    with deliveries_owed() as again, pytest.raises(Sale.DoesNotExist, match="deleted meanwhile"):
        sale_void(sale=stale, actor=staff)  # the service says so
    with deliveries_owed() as by_hand:
        stale.delete()  # a shell's delete says nothing: its signals still owe no second email

    voided = "notifications.tell_voided_sale"
    assert [d.receiver for d in first.deliveries].count(voided) == 1
    assert voided not in [d.receiver for d in again.deliveries + by_hand.deliveries]


def test_a_cancelled_order_deleted_before_the_worker_ran_still_gets_its_emails(durable, staff):
    order = placed()
    order_cancel(order=order, actor=staff)
    number = order.pk
    Order.objects.filter(pk=number).delete()

    durable.run()

    subjects = sorted(email.subject for email in mail.outbox)
    assert subjects == [
        f"Your carsales order #{number} has been placed",
        f"Your carsales order #{number} is cancelled",
    ]


def test_one_orders_emails_go_out_in_the_order_of_its_events_even_when_claimed_out_of_order(staff):
    order = order_mark_paid(order=placed(), actor=staff)
    placed_email = Delivery.objects.get(receiver=CONFIRM)
    paid_email = Delivery.objects.get(receiver="notifications.confirm_paid_order")

    assert delivery_run(delivery_id=paid_email.pk) == "skipped"  # held back behind the placed email
    assert delivery_run(delivery_id=placed_email.pk) == "done"
    assert delivery_run(delivery_id=paid_email.pk) == "done"
    assert [email.subject for email in mail.outbox] == [
        f"Your carsales order #{order.pk} has been placed",
        f"Your carsales order #{order.pk} is paid",
    ]


def test_an_account_email_is_a_durable_delivery_retried_while_the_mail_server_is_down(monkeypatch, durable):
    from carsales.accounts.services import account_sign_up

    send = EmailMessage.send
    calls = {"n": 0}

    def down_once(self, fail_silently=False):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionRefusedError("smtp down")
        return send(self, fail_silently)

    monkeypatch.setattr(EmailMessage, "send", down_once)
    with durable.owed() as owed:
        account_sign_up(username="neo", email="neo@example.com", password="pass-word-123", base_url="https://x.example")
    [delivery] = [d for d in owed if d.receiver == "notifications.send_account_email"]
    assert "token" not in str(delivery.payload)

    assert durable.run([delivery]) == [("notifications.send_account_email", "retrying")]
    assert durable.run([delivery]) == [("notifications.send_account_email", "done")]
    assert durable.run([delivery]) == [("notifications.send_account_email", "skipped")]
    assert len(mail.outbox) == 1 and "https://x.example/accounts/signup/" in mail.outbox[0].body


def test_a_sign_up_that_rolls_back_owes_no_email():
    from carsales.accounts.services import account_sign_up

    with pytest.raises(RuntimeError), transaction.atomic():
        account_sign_up(username="neo", email="neo@example.com", password="pass-word-123", base_url="https://x.example")
        raise RuntimeError("the request failed after the sign-up")

    assert not Delivery.objects.filter(receiver="notifications.send_account_email").exists()


def test_the_order_emails_are_signed_by_the_dealership_with_how_to_reach_it(run_tasks, settings):
    settings.CARSALES_DEALER = {"name": "Acme Cars", "phone": "+1 555 0199", "email": "", "address": "2 Main St"}
    order = placed()
    run_tasks()
    order_cancel(order=order, actor=order.buyer.user, reason=CancellationReason.BUYER)
    run_tasks()

    assert len(mail.outbox) == 2
    for sent in mail.outbox:
        assert sent.subject.startswith(f"Your Acme Cars order #{order.pk} ")
        assert f"order #{order.pk} at Acme Cars" in sent.body
        assert sent.body.endswith("\n— Acme Cars\n+1 555 0199\n2 Main St\n")


def test_the_account_emails_are_signed_by_the_dealership_too(run_tasks, settings):
    from carsales.accounts.services import account_sign_up, password_change

    settings.CARSALES_DEALER = {"name": "Acme Cars", "phone": "+1 555 0199", "email": "", "address": "2 Main St"}
    account_sign_up(username="neo", email="neo@example.com", password="a fine long passphrase 9", base_url="")
    account_sign_up(username="neo2", email="neo@example.com", password="a fine long passphrase 9", base_url="")
    password_change(user=UserFactory(email="ana@example.com"), password="another fine passphrase 8")
    run_tasks()

    assert len(mail.outbox) == 3  # the link, the link again, the password's notice
    assert all(sent.body.endswith("\n\n— Acme Cars\n+1 555 0199\n2 Main St\n") for sent in mail.outbox)


def test_a_reply_to_an_email_reaches_the_dealerships_address(run_tasks, settings):
    settings.CARSALES_DEALER = {**settings.CARSALES_DEALER, "email": "sales@dealer.example"}
    placed()
    run_tasks()
    settings.CARSALES_DEALER = {**settings.CARSALES_DEALER, "email": ""}
    placed(email="second@example.com")
    run_tasks()

    assert [(email.to, email.reply_to) for email in mail.outbox] == [
        (["buyer@example.com"], ["sales@dealer.example"]),
        (["second@example.com"], []),  # no address of its own: replies go to the sender
    ]
