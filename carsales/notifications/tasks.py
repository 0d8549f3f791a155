from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from .models import EmailNotification
from .services import email_notification_deliver

MAX_ATTEMPTS = 5


@task()
def email_notification_send(notification_id: int) -> bool:
    """Send one owed email, retrying with growing delays until MAX_ATTEMPTS.

    At least once: the job row was committed with the order, and a failed attempt enqueues
    the next one before failing. Idempotent: an email already sent is not sent again.
    Returns whether this run sent it.
    """
    try:
        return email_notification_deliver(notification_id=notification_id)
    except Exception:
        attempts = EmailNotification.objects.filter(pk=notification_id).values_list("attempts", flat=True).first()
        if attempts is not None and attempts < MAX_ATTEMPTS:
            delay = timedelta(seconds=30 * 2 ** (attempts - 1))
            email_notification_send.using(run_after=timezone.now() + delay).enqueue(notification_id)
        raise
