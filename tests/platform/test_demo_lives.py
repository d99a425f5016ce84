"""The demo account comes with rules, an SLA, a report, a custom metric and a dashboard, and
its live traffic keeps flowing: about a request a second, shaped like a day, with error spikes
the demo's own rule catches."""
import random
import statistics
from datetime import datetime, timedelta, timezone

import pytest
from django.core.cache import cache

from accounts.services import account_create
from alerts.models import AlertEvent, AlertRule, Channel, CustomMetric, ReportSchedule, Sla
from alerts.services.evaluation import rule_evaluate
from dashboards.models import Dashboard, Widget
from traces import demo_live
from traces.demo_setup import ERROR_SPIKE_RULE, demo_operate_setup
from traces.models import Trace

UTC = timezone.utc


@pytest.fixture
def demo(db):
    account, _, _ = account_create(slug="demo", name="Demo", owner_email="demo@modelpulse.local",
                                   password="pw-demo-1234", timezone_name="Asia/Kolkata")
    cache.delete(demo_live.LAST_MINUTE_KEY)
    return account


def test_demo_comes_with_the_operate_area_filled_once(demo):
    demo_operate_setup(demo)
    demo_operate_setup(demo)  # every start calls it: nothing is made twice
    names = set(AlertRule.objects.for_account(demo).values_list("name", flat=True))
    assert {ERROR_SPIKE_RULE, "p95 latency above 3 s", "Thumbs-up share below 60%"} <= names
    assert AlertRule.objects.for_account(demo).filter(name=ERROR_SPIKE_RULE).count() == 1
    spike = AlertRule.objects.for_account(demo).get(name=ERROR_SPIKE_RULE)
    assert spike.channels.filter(kind="email", recipients=["demo@modelpulse.local"]).exists()
    assert Sla.objects.for_account(demo).count() == 1
    assert ReportSchedule.objects.for_account(demo).get().frequency == "weekly"
    assert CustomMetric.objects.for_account(demo).filter(name="thumbs_up_share").count() == 1
    custom = Dashboard.objects.for_account(demo).filter(prebuilt="")
    assert custom.count() == 1 and Widget.objects.for_account(demo).filter(dashboard=custom.get()).count() == 5
    assert Channel.objects.for_account(demo).filter(kind="email").count() == 1


def test_live_traffic_averages_a_request_a_second_over_a_day(demo):
    # Counts only (the items of a whole day): the shape follows the day, the mean is ~1/s.
    day = datetime(2026, 11, 18, 18, 30, tzinfo=UTC)  # local midnight in Asia/Kolkata, a Thursday
    week = [len(demo_live.minute_items(demo, day + timedelta(days=d, minutes=m), random.Random(m)))
            for d in range(7) for m in range(0, 24 * 60, 7)]
    per_second = statistics.fmean(week) / 60
    assert 0.9 < per_second < 1.1, per_second
    night = len(demo_live.minute_items(demo, day + timedelta(hours=3), random.Random(1)))
    noon = len(demo_live.minute_items(demo, day + timedelta(hours=13), random.Random(1)))
    assert noon > 2 * night


def test_live_tick_sends_each_minute_once_and_the_spike_rule_fires(demo):
    demo_operate_setup(demo)
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # 06:00 UTC: a spike hour, 11:30 in Kolkata
    sent = demo_live.demo_live_tick(now=start + timedelta(minutes=1))
    assert sent == Trace.objects.for_account(demo).count() > 0
    assert demo_live.demo_live_tick(now=start + timedelta(minutes=1)) == 0  # the same minute again: nothing
    # The ticks of the next 35 minutes, one a minute, as beat runs them; the rule is evaluated each minute.
    rule = AlertRule.objects.for_account(demo).get(name=ERROR_SPIKE_RULE)
    fired_at = None
    for minute in range(2, 36):
        now = start + timedelta(minutes=minute)
        demo_live.demo_live_tick(now=now)
        AlertRule.objects.filter(pk=rule.pk).update(next_check_at=now)
        rule_evaluate(rule.pk, now)
        event = AlertEvent.objects.for_account(demo).filter(rule=rule).first()
        if event and fired_at is None:
            fired_at = event.fired_at
    assert fired_at is not None and start + timedelta(minutes=20) < fired_at <= start + timedelta(minutes=32)
    event = AlertEvent.objects.for_account(demo).get(rule=rule)
    assert event.status == "resolved"  # the spike ended and the rule saw it end
    # Every minute was sent once: trace minutes are contiguous and each id unique.
    minutes = {t.replace(second=0, microsecond=0) for t in
               Trace.objects.for_account(demo).values_list("executed_at", flat=True)}
    assert minutes == {start + timedelta(minutes=m) for m in range(35)}


def test_live_tick_catches_up_ten_minutes_at_most(demo):
    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    demo_live.demo_live_tick(now=now)
    demo_live.demo_live_tick(now=now + timedelta(hours=5))
    minutes = {t.replace(second=0, microsecond=0) for t in
               Trace.objects.for_account(demo).values_list("executed_at", flat=True)}
    assert len(minutes) == 1 + demo_live.LIVE_MAX_CATCH_UP_MINUTES
