"""effects.once: one claim per key, counted attempts, a done effect never done again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from carsales.conftest import run_together
from carsales.events.effects import EffectBusy, once
from carsales.events.models import EffectRecord

pytestmark = pytest.mark.django_db


def test_an_effect_is_done_once_and_its_attempts_are_counted():
    with pytest.raises(ConnectionError), once("k") as effect:
        assert (effect.attempt, effect.already_done) == (1, False)
        raise ConnectionError("smtp down")
    record = EffectRecord.objects.get(key="k")
    assert (record.attempts, record.claim, record.claimed_until, record.done_at) == (1, "", None, None)

    with once("k") as effect:
        assert (effect.attempt, effect.already_done) == (2, False)
    with once("k") as effect:
        assert (effect.attempt, effect.already_done) == (2, True)

    record.refresh_from_db()
    assert record.attempts == 2 and record.done_at is not None and record.claim == ""


def test_a_live_claim_makes_another_run_wait_and_an_expired_one_is_taken_over():
    EffectRecord.objects.create(
        key="k", attempts=1, claim="another-run", claimed_until=timezone.now() + timedelta(seconds=30)
    )
    with pytest.raises(EffectBusy) as busy, once("k"):
        pytest.fail("the body ran under another run's claim")
    assert 25 < busy.value.delay <= 30
    assert EffectRecord.objects.get(key="k").attempts == 1  # a run that did not start counts no attempt

    EffectRecord.objects.filter(key="k").update(claimed_until=timezone.now() - timedelta(seconds=1))
    with once("k") as effect:
        assert (effect.attempt, effect.already_done) == (2, False)
    assert EffectRecord.objects.get(key="k").done_at is not None


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_claim_is_committed_before_the_body_and_released_when_it_fails():
    other_runs: list[int] = []

    def another_run() -> None:
        with once("k") as effect:
            other_runs.append(effect.attempt)

    with pytest.raises(ConnectionError), once("k"):
        assert [type(error) for error in run_together([another_run])] == [EffectBusy]
        raise ConnectionError("smtp down")
    record = EffectRecord.objects.get(key="k")
    assert (record.attempts, record.claim, record.claimed_until, record.done_at) == (1, "", None, None)

    assert run_together([another_run]) == []
    assert other_runs == [2]
    assert EffectRecord.objects.get(key="k").done_at is not None
