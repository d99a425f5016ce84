"""L4: the anomaly detectors every account has — quiet on steady traffic, firing on a generated spike
(traffic, success rate, latency, error rate, cost, rating), baseline = mean of the same window at the
same time of week over the previous four weeks, thresholds tunable per account."""
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from accounts.services import Actor
from alerts.models import AlertEvent, AlertRule, RuleKind
from alerts.services import rules as rule_services
from alerts.services.evaluation import alerts_evaluate_due, baseline_value
from tests.alerts.conftest import ingest, roll_all, traffic
from traces.services import feedback_record

UTC = timezone.utc
T = datetime(2026, 10, 28, 14, 40, tzinfo=UTC)  # a Wednesday afternoon


def minutes(n):
    return timedelta(minutes=n)


def with_ratings(account, items, rating, every=4):
    for i, item in enumerate(items):
        if i % every == 0:
            feedback_record(account, {"request_id": item["request_id"], "rating": rating})


def history(account):
    """Four previous weeks of steady traffic around the same time of week: 2 requests a minute."""
    for k in range(1, 5):
        start = T - timedelta(weeks=k) - minutes(80)
        items = traffic(f"w{k}", start, 100, 2, latency=200.0, cost=0.01)
        ingest(account, items)
        with_ratings(account, items, 5)


def requests_from_rows(account, start, end):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM traces_trace WHERE account_id = %s AND executed_at >= %s "
                       "AND executed_at < %s", [account.pk, start, end])
        return cursor.fetchone()[0]


def failure_pct_from_rows(account, start, end):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'failure') FROM traces_trace "
                       "WHERE account_id = %s AND executed_at >= %s AND executed_at < %s", [account.pk, start, end])
        total, failed = cursor.fetchone()
    return 100.0 * failed / total


def evaluate_minutes(account, first, last):
    AlertRule.objects.for_account(account).update(next_check_at=T + minutes(first - 1))
    for k in range(first, last + 1):
        alerts_evaluate_due(T + minutes(k))


@pytest.fixture
def detectors(account):
    rule_services.alerts_ensure_defaults(account)
    return {r.detector: r for r in AlertRule.objects.for_account(account).filter(kind=RuleKind.ANOMALY)}


def test_steady_traffic_stays_quiet(account, detectors):
    history(account)
    now_items = traffic("now", T - minutes(80), 100, 2, latency=200.0, cost=0.01)
    ingest(account, now_items)
    with_ratings(account, now_items, 5)
    roll_all()
    evaluate_minutes(account, 0, 6)
    assert not AlertEvent.objects.for_account(account).exists()
    states = dict(AlertRule.objects.for_account(account).filter(kind=RuleKind.ANOMALY)
                  .values_list("detector", "last_state"))
    assert states == {d: "ok" for d in detectors}
    spike = AlertRule.objects.for_account(account).get(detector="traffic_spike")
    assert spike.last_value == 30.0  # 15 minutes × 2


def test_a_generated_spike_fires_every_detector(account, detectors):
    history(account)
    steady = traffic("steady", T - minutes(80), 60, 2, latency=200.0, cost=0.01)
    ingest(account, steady)
    with_ratings(account, steady, 5)
    # From T-20 min on: three times the traffic, three times slower, a quarter failing, rated 1.
    spike = traffic("spike", T - minutes(20), 30, 6, latency=600.0, cost=0.01, fail_every=4)
    ingest(account, spike)
    with_ratings(account, spike, 1)
    roll_all()

    traffic_rule = detectors["traffic_spike"]
    base = baseline_value(traffic_rule, T)
    independent = sum(requests_from_rows(account, T - timedelta(weeks=k) - minutes(15), T - timedelta(weeks=k))
                      for k in range(1, 5)) / 4
    assert base == pytest.approx(independent) == pytest.approx(30.0)

    evaluate_minutes(account, 0, 5)
    events = {e.detector: e for e in AlertEvent.objects.for_account(account)}
    assert set(events) == set(detectors), set(detectors) - set(events)
    # Immediate detectors fire at once; those that must hold five minutes fire at T+5.
    assert events["cost_anomaly"].fired_at == T and events["quality_drop"].fired_at == T
    for name in ("traffic_spike", "latency_spike", "error_rate_high", "success_rate_drop"):
        assert events[name].fired_at == T + minutes(5), name
    ev = events["traffic_spike"]
    assert ev.value == requests_from_rows(account, T + minutes(5) - minutes(15), T + minutes(5)) == 90
    assert ev.baseline_value == pytest.approx(30.0) and ev.threshold == pytest.approx(60.0)
    assert events["latency_spike"].value == pytest.approx(600.0, rel=0.01)
    assert events["latency_spike"].baseline_value == pytest.approx(200.0, rel=0.01)
    at = T + minutes(5)
    assert events["error_rate_high"].value == pytest.approx(failure_pct_from_rows(account, at - minutes(5), at),
                                                                 abs=1e-4)  # rates keep 4 decimals
    assert events["success_rate_drop"].value == pytest.approx(
        100 - failure_pct_from_rows(account, at - minutes(15), at), abs=1e-4)
    assert 20 < events["error_rate_high"].value < 30
    # Cost over the hour: 40 steady minutes and 20 spiking ones, against 1.20 USD the weeks before.
    assert events["cost_anomaly"].value == pytest.approx((40 * 2 + 20 * 6) * 0.01)
    assert events["cost_anomaly"].baseline_value == pytest.approx(1.2)
    assert events["quality_drop"].value == pytest.approx((20 * 5 + 30 * 1) / 50)


def test_thresholds_are_tunable_and_detectors_mutable(account, detectors):
    history(account)
    ingest(account, traffic("steady", T - minutes(80), 60, 2, latency=200.0, cost=0.01))
    ingest(account, traffic("spike", T - minutes(20), 30, 6, latency=200.0, cost=0.01))
    roll_all()
    actor = Actor.system()
    rule_services.rule_update(account, actor, detectors["traffic_spike"], threshold=4.0)  # 3× is no longer a spike
    rule_services.rule_update(account, actor, detectors["cost_anomaly"], muted=True)
    evaluate_minutes(account, 0, 5)
    fired = set(AlertEvent.objects.for_account(account).values_list("detector", flat=True))
    assert "traffic_spike" not in fired
    assert fired == {"cost_anomaly"}  # muted: recorded, not sent
    assert not AlertEvent.objects.get(detector="cost_anomaly").deliveries.exists()


def test_without_history_relative_detectors_have_no_baseline(account, detectors):
    ingest(account, traffic("spike", T - minutes(20), 30, 6))
    roll_all()
    evaluate_minutes(account, 0, 1)
    states = dict(AlertRule.objects.for_account(account).filter(kind=RuleKind.ANOMALY)
                  .values_list("detector", "last_state"))
    assert states["traffic_spike"] == "no_data" and states["latency_spike"] == "no_data"
    assert states["error_rate_high"] == "ok"
