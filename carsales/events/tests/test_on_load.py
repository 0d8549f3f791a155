"""A fixture never rewrites what the worker writes: a delivery or an effect record loaded over a
stored one keeps every value; a dump loads again as it is, and rows the database does not hold load."""

import json

import pytest
from django.core import serializers
from django.core.management import call_command

from carsales.events.effects import once
from carsales.events.models import Delivery, EffectRecord

from .conftest import delivery_of
from .receivers import thing_happened

pytestmark = pytest.mark.django_db


def _load(tmp_path, rows: list[dict]) -> None:
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    call_command("loaddata", str(path), verbosity=0)


def _rows(*instances) -> list[dict]:
    return json.loads(serializers.serialize("json", instances))


@pytest.mark.parametrize(
    ("change", "refused"),
    [({"status": "done"}, "status"), ({"attempts": 3, "status": "retrying"}, "attempts, status")],
    ids=["marked done", "retried"],
)
def test_a_fixture_cannot_rewrite_a_pending_delivery(tmp_path, change, refused):
    thing_happened.send(sender=None, mode="ok")
    delivery = delivery_of("effect")
    (row,) = _rows(delivery)
    _load(tmp_path, [row])  # the same row again: loads
    row["fields"].update(change)

    with pytest.raises(TypeError, match=rf"Delivery #{delivery.pk} is written by the events worker; .* its {refused}"):
        _load(tmp_path, [row])

    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.PENDING


def test_a_fixture_cannot_reopen_a_done_effect_but_restores_one_the_database_lacks(tmp_path):
    with once("bench:effect") as effect:
        assert not effect.already_done
    record = EffectRecord.objects.get(key="bench:effect")
    (row,) = _rows(record)
    row["fields"]["done_at"] = None

    with pytest.raises(TypeError, match=rf"EffectRecord #{record.pk} .* its done_at"):
        _load(tmp_path, [row])
    row["pk"], row["fields"]["key"] = record.pk + 100, "restored:effect"
    row["fields"]["done_at"] = record.done_at.isoformat()
    _load(tmp_path, [row])

    assert EffectRecord.objects.get(pk=record.pk).done_at is not None
    assert EffectRecord.objects.filter(key="restored:effect").exists()


def test_the_admin_never_deletes_an_effect_record_a_run_holds_the_claim_of(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    held = EffectRecord.objects.create(key="held", claim="run", claimed_until=timezone.now() + timedelta(minutes=5))
    done = EffectRecord.objects.create(key="done", done_at=timezone.now())

    assert staff_client.get(f"/admin/events/effectrecord/{held.pk}/delete/").status_code == 403
    for selected in ([held.pk, done.pk], [done.pk]):
        bulk = {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
        staff_client.post("/admin/events/effectrecord/", bulk)
        assert EffectRecord.objects.filter(pk=done.pk).exists() == (held.pk in selected)

    assert EffectRecord.objects.filter(pk=held.pk).exists()
