"""SPEC L1: every rule is evaluated every minute. Beat's ticks come a few milliseconds to a
few hundred late, never exactly on the rule's own grid; every tick must evaluate each rule
exactly once, however the tick's lateness varies, and a repeated tick must evaluate nothing."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from accounts.services import Actor
from alerts.models import AlertRule
from alerts.services import rules as rule_services
from alerts.services.evaluation import alerts_evaluate_due

UTC = timezone.utc
T = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def ticks(count, *, first_offset, jitter_ms, seed, delays=None):
    """Beat at T + k minutes, each tick late by a random 0..jitter_ms (and by `delays[k]` seconds)."""
    rng = random.Random(seed)
    delays = delays or {}
    return [T + timedelta(minutes=k, milliseconds=first_offset + rng.uniform(0, jitter_ms),
                          seconds=delays.get(k, 0)) for k in range(count)]


def make_rule(account, name, created):
    rule = rule_services.rule_create(account, Actor.system(), name=name, metric="error_rate", operator="gt",
                                     threshold=5.0, window_minutes=5, duration_minutes=0, severity="warning",
                                     channels=[])
    AlertRule.objects.filter(pk=rule.pk).update(next_check_at=created)
    return rule


def run(tick_times, rule_ids):
    seen = {pk: [] for pk in rule_ids}
    for now in tick_times:
        alerts_evaluate_due(now)
        assert alerts_evaluate_due(now) == 0  # the same tick again (a duplicated message) evaluates nothing
        for pk, at in AlertRule.objects.filter(pk__in=rule_ids).values_list("pk", "last_evaluated_at"):
            seen[pk].append(at)
    return seen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_tick_evaluates_every_rule_once(account, seed):
    # Due a few ms after the tick (the case that skipped a minute), exactly on it, and half a minute off.
    rules = [make_rule(account, "just after", T + timedelta(milliseconds=5)),
             make_rule(account, "on the tick", T),
             make_rule(account, "half past", T + timedelta(seconds=29)),
             make_rule(account, "long overdue", T - timedelta(hours=3, seconds=17))]
    times = ticks(30, first_offset=1, jitter_ms=400, seed=seed)
    seen = run(times, [r.pk for r in rules])
    for rule in rules:
        assert seen[rule.pk] == times, rule.name  # evaluated at every tick, at that tick
        rule.refresh_from_db()
        # Still on its own grid: a whole number of minutes from where it started.
        assert (rule.next_check_at - T).total_seconds() % 60 == pytest.approx(
            {"just after": 0.005, "on the tick": 0, "half past": 29, "long overdue": 43}[rule.name], abs=1e-6)


def test_a_late_tick_does_not_cost_the_next_minute(account):
    rule = make_rule(account, "steady", T + timedelta(milliseconds=3))
    # A busy worker takes one tick 25 s late; the next ones are on time again.
    times = ticks(10, first_offset=1, jitter_ms=50, seed=7, delays={4: 25})
    seen = run(times, [rule.pk])
    assert seen[rule.pk] == times

