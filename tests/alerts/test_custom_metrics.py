"""L6: seed 003's custom metric — Customer Satisfaction = (positive feedback / total feedback) × 100,
alert if below 80% for 1 hour — computed through the metrics layer, equal to the raw feedback rows,
and the formula parser refuses anything but arithmetic on base metrics."""
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from accounts.models import Role
from accounts.services import Actor
from alerts.models import AlertEvent, AlertRule
from alerts.services import rules as rule_services
from alerts.services.evaluation import alerts_evaluate_due
from alerts.services.metrics import FormulaError, formula_evaluate, formula_parse
from tests.alerts.conftest import ingest, roll_all, traffic
from traces.services import feedback_record

UTC = timezone.utc
T = datetime(2026, 10, 7, 9, 20, tzinfo=UTC)


def satisfaction_from_rows(account, start, end):
    """Independent: thumbs up / thumbs given × 100 over the feedback of the traces in [start, end)."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FILTER (WHERE f.thumbs = 'up'), count(*) FILTER (WHERE f.thumbs <> '')
                          FROM traces_trace t JOIN traces_feedback f
                            ON f.account_id = t.account_id AND f.request_id = t.request_id
                          WHERE t.account_id = %s AND t.executed_at >= %s AND t.executed_at < %s""",
                       [account.pk, start, end])
        up, given = cursor.fetchone()
    return 100.0 * up / given


def test_the_parser_evaluates_arithmetic_only():
    values = {"thumbs_up": 14.0, "thumbs_down": 6.0, "total_requests": 0.0}
    assert formula_evaluate("(thumbs_up / (thumbs_up + thumbs_down)) × 100", values) == pytest.approx(70.0)
    assert formula_evaluate("-thumbs_up + 2 * 3 - 4 / 2", values) == pytest.approx(-10.0)
    assert formula_evaluate("thumbs_up / total_requests", values) is None  # division by zero: no value
    assert formula_evaluate("thumbs_up + avg_rating", {"thumbs_up": 1.0, "avg_rating": None}) is None
    for bad in ("open('x')", "thumbs_up.real", "[1][0]", "thumbs_up % 2", "lambda: 1", "x := 1", "1 < 2",
                "thumbs_up and 1", "True", "1e400 ** 2", "'1'", "thumbs_up[0]", "__class__"):
        with pytest.raises(FormulaError):
            formula_parse(bad)


def test_customer_satisfaction_alert_from_seed_003(account, member_of, session_client):
    client = session_client(member_of(account, Role.MEMBER), account)
    metric = client.post("/api/v1/custom-metrics", {
        "name": "customer_satisfaction", "label": "Customer Satisfaction", "unit": "percent",
        "formula": "(thumbs_up / (thumbs_up + thumbs_down)) × 100"}, format="json").json()
    # Two hours of traffic; in the last hour 14 of 20 thumbs are up (70%), before that 19 of 20 (95%).
    items = traffic("r", T - timedelta(hours=2), 120, 2, feature="support")
    ingest(account, items)
    for i, item in enumerate(items):
        recent = item["executed_at"] >= (T - timedelta(hours=1)).isoformat()
        if i % 6 == 0:
            up = (i // 6) % 10 < 7 if recent else (i // 6) % 20 != 0
            feedback_record(account, {"request_id": item["request_id"], "thumbs": "up" if up else "down"})
    roll_all()
    expected_recent = satisfaction_from_rows(account, T - timedelta(hours=1), T)
    expected_before = satisfaction_from_rows(account, T - timedelta(hours=2), T - timedelta(hours=1))
    assert expected_recent == pytest.approx(70.0) and expected_before == pytest.approx(95.0)

    value = client.get(f"/api/v1/custom-metrics/{metric['id']}/value",
                       {"start": (T - timedelta(hours=1)).isoformat(), "end": T.isoformat()}).json()
    assert value["value"] == pytest.approx(expected_recent) and value["total_requests"] == 120
    value = client.get(f"/api/v1/custom-metrics/{metric['id']}/value",
                       {"start": (T - timedelta(hours=2)).isoformat(), "end": (T - timedelta(hours=1)).isoformat(),
                        "feature": "support"}).json()
    assert value["value"] == pytest.approx(expected_before)

    rule = client.post("/api/v1/alert-rules", {
        "name": "CSAT below 80%", "custom_metric": metric["id"], "operator": "lt", "threshold": 80,
        "window_minutes": 60, "duration_minutes": 60, "severity": "warning"}, format="json").json()
    AlertRule.objects.filter(pk=rule["id"]).update(next_check_at=T - timedelta(hours=1))
    # Satisfaction has been below 80% only since the last hour began; it must hold for an hour.
    ingest(account, traffic("later", T, 61, 2, feature="support"))
    for i, item in enumerate(traffic("later", T, 61, 2)):
        if i % 6 == 0:
            feedback_record(account, {"request_id": item["request_id"], "thumbs": "up" if (i // 6) % 10 < 7
                                      else "down"})
    roll_all()
    for minute in (0, 30, 59):
        alerts_evaluate_due(T + timedelta(minutes=minute))
        assert not AlertEvent.objects.for_account(account).exists()
    alerts_evaluate_due(T + timedelta(minutes=60))
    event = AlertEvent.objects.for_account(account).get()
    assert event.metric == "custom:customer_satisfaction" and event.started_at == T
    assert event.value == pytest.approx(satisfaction_from_rows(account, T, T + timedelta(minutes=60)))
    assert event.value < 80


def test_custom_metric_of_another_account_is_not_found(account, other_account, member_of, session_client):
    theirs = rule_services.custom_metric_create(other_account, Actor.system(), name="csat",
                                                formula="thumbs_up / (thumbs_up + thumbs_down) * 100")
    client = session_client(member_of(account, Role.MEMBER), account)
    assert client.get(f"/api/v1/custom-metrics/{theirs.pk}/value").status_code == 404
    response = client.get("/api/v1/custom-metrics/999999/value", {"start": "not-a-date"})
    assert response.status_code == 404
