import pytest
from django.urls import reverse

from carsales.events.durable import PermanentFailure
from carsales.events.models import Delivery

from .conftest import delivery_of, ran
from .receivers import failing, thing_happened

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_delivery(run_tasks) -> Delivery:
    failing["effect"] = lambda: PermanentFailure("mailbox full")
    thing_happened.send(sender=None, mode="ok")
    run_tasks()
    failing.clear()
    return delivery_of("effect")


def test_the_staff_page_counts_deliveries_by_state_and_shows_the_dead(staff_client, dead_delivery):
    thing_happened.send(sender=None, mode="ok")  # two pending

    response = staff_client.get(reverse("events:overview"))

    assert response.status_code == 200
    stats = response.context["stats"]
    assert (stats.due, stats.running, stats.retrying, stats.dead, stats.scheduled) == (2, 0, 0, 1, 0)
    assert stats.oldest_due_wait is not None
    assert "PermanentFailure: mailbox full" in response.content.decode()


def test_the_staff_page_is_for_staff_only(buyer_client):
    from django.test import Client

    for address in ("/staff/events/", "/staff/events/requeue/"):
        assert buyer_client.get(address).status_code == 403  # the site's page, not the admin's log-in form
        visitor = Client().get(address)
        assert visitor.status_code == 302 and visitor["Location"].startswith("/accounts/login/")


def test_a_requeue_reached_by_a_get_goes_to_the_overview_where_its_form_is(staff_client, dead_delivery):
    response = staff_client.get("/staff/events/requeue/")

    assert response.status_code == 302 and response["Location"] == "/staff/events/"


def test_staff_requeue_dead_deliveries_from_the_page(staff_client, dead_delivery, run_tasks):
    response = staff_client.post(reverse("events:requeue"), {"delivery": [dead_delivery.pk]})
    run_tasks()

    assert response.status_code == 302
    assert delivery_of("effect").status == Delivery.Status.DONE
    assert len(ran("effect")) == 1


def test_a_requeue_naming_ids_no_delivery_can_have_is_no_error(staff_client, dead_delivery):
    response = staff_client.post(reverse("events:requeue"), {"delivery": ["x", str(2**64), str(dead_delivery.pk)]})

    assert response.status_code == 302
    assert Delivery.objects.get(pk=dead_delivery.pk).status == Delivery.Status.PENDING


def test_the_admin_action_requeues_dead_deliveries(staff_client, dead_delivery, run_tasks):
    staff_client.post(
        reverse("admin:events_delivery_changelist"),
        {"action": "requeue", "_selected_action": [dead_delivery.pk]},
    )
    run_tasks()

    assert delivery_of("effect").status == Delivery.Status.DONE


def test_deliveries_deferred_to_a_future_time_are_scheduled_work_not_backlog(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    thing_happened.send(sender=None, mode="ok")
    Delivery.objects.state_write(run_after=timezone.now() + timedelta(hours=48))

    stats = staff_client.get(reverse("events:overview")).context["stats"]

    assert (stats.due, stats.scheduled, stats.oldest_due_wait) == (0, 2, None)
    assert stats.next_scheduled > timezone.now() + timedelta(hours=47)


def test_the_staff_page_extends_the_template_the_settings_name(staff_client, settings, tmp_path):
    (tmp_path / "plain.html").write_text("<main id='plain-layout'>{% block content %}{% endblock %}</main>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    settings.EVENTS = {**settings.EVENTS, "BASE_TEMPLATE": "plain.html"}

    page = staff_client.get(reverse("events:overview")).content.decode()

    assert page.startswith("<main id='plain-layout'>") and "Dead deliveries" in page
