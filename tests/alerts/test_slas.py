"""L5: SLAs — seed 003's worked example (99.9% availability over 30 days allows 43 minutes; 12 minutes
down leave 31), success-rate and p95 budgets against a hand computation over the raw rows, daily
compliance history, validation and tenancy."""
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from accounts.models import Role
from models_registry.models import Model
from tests.alerts.conftest import ingest, roll_all, traffic
from traces.models import Trace

UTC = timezone.utc
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def down_minutes_by_hand(account, start, end, threshold=50.0, **filters):
    """Minutes in [start, end) where at least threshold % of the requests failed, from the raw rows."""
    total, failed = Counter(), Counter()
    for t in Trace.objects.for_account(account).filter(executed_at__gte=start, executed_at__lt=end, **filters):
        minute = t.executed_at.replace(second=0, microsecond=0)
        total[minute] += 1
        failed[minute] += t.status == "failure"
    return sum(1 for m in total if 100.0 * failed[m] >= threshold * total[m])


@pytest.fixture
def client(account, member_of, session_client):
    return session_client(member_of(account, Role.MEMBER), account)


def test_seed_003_availability_example(account, client):
    model = Model.objects.create(account=account, name="support-bot")
    # Healthy traffic every day of the window, 3 requests a minute for an hour a day.
    for d in range(31):
        ingest(account, traffic(f"ok{d}", NOW - timedelta(days=d, hours=3), 60, 3, model="support-bot"))
    # 12 minutes down inside the window: 8 on one day, 4 on another (every request failing) …
    ingest(account, traffic("down1", NOW - timedelta(days=3, hours=5), 8, 4, fail_every=1, model="support-bot"))
    ingest(account, traffic("down2", NOW - timedelta(days=10, hours=5), 4, 4, fail_every=1, model="support-bot"))
    # … a minute where 40% failed (not down at the 50% line), one down minute before the window,
    ingest(account, [{**item, "request_id": f"half-{i}"} for i, item in enumerate(
        traffic("half", NOW - timedelta(days=5, hours=6), 1, 5, fail_every=1, model="support-bot")[:2]
        + traffic("half2", NOW - timedelta(days=5, hours=6), 1, 3, model="support-bot"))])
    ingest(account, traffic("old", NOW - timedelta(days=31), 1, 4, fail_every=1, model="support-bot"))
    # … and another model's outage, outside the SLA's scope.
    ingest(account, traffic("other", NOW - timedelta(days=2, hours=7), 30, 2, fail_every=1, model="other"))
    roll_all()

    response = client.post("/api/v1/slas", {"name": "Support availability", "objective": "availability",
                                            "target": 99.9, "model": model.pk}, format="json")
    assert response.status_code == 201, response.json()
    from alerts.models import Sla
    from alerts.services.slas import sla_report
    report = sla_report(Sla.objects.get(pk=response.json()["id"]), now=NOW)

    by_hand = down_minutes_by_hand(account, NOW - timedelta(days=30), NOW, model__name="support-bot")
    assert by_hand == 12
    assert report["downtime_minutes"] == by_hand
    assert report["budget_total"] == pytest.approx(30 * 24 * 60 * 0.001) == pytest.approx(43.2)
    assert report["budget_remaining"] == pytest.approx(31.2)
    assert (int(report["budget_total"]), report["downtime_minutes"], int(report["budget_remaining"])) == (43, 12, 31)
    assert report["status"] == "meeting"
    assert report["value"] == pytest.approx(100 * (1 - 12 / 43200))
    # Daily history: the two days with an outage miss 99.9%, the others comply.
    history = {h["day"]: h for h in report["history"]}
    assert len(report["history"]) == 31
    bad_days = {(NOW - timedelta(days=3, hours=5)).date().isoformat(),
                (NOW - timedelta(days=10, hours=5)).date().isoformat()}
    assert {d for d, h in history.items() if h["met"] is False} == bad_days
    assert history[min(bad_days)]["downtime_minutes"] == 4
    assert report["compliance_pct"] == pytest.approx(100 * 29 / 31)

    # Eight more bad minutes use the budget up: violating.
    ingest(account, traffic("down3", NOW - timedelta(hours=2), 32, 2, fail_every=1, model="support-bot"))
    roll_all()
    report = sla_report(Sla.objects.get(pk=response.json()["id"]), now=NOW)
    assert report["downtime_minutes"] == 44 and report["status"] == "violating"
    assert report["budget_remaining"] == pytest.approx(43.2 - 44)


def test_success_rate_and_latency_budgets(account, client):
    # One request a minute for 6 hours; every 25th fails; latency 300 ms, every 10th 2,500 ms.
    items = traffic("r", NOW - timedelta(hours=6), 360, 1, fail_every=25, prompt="checkout")
    for i, item in enumerate(items):
        if i % 10 == 0:
            item["response_time_ms"] = 2500.0
    ingest(account, items)
    ingest(account, traffic("x", NOW - timedelta(hours=6), 60, 1, fail_every=1, prompt="search"))
    roll_all()
    rows = Trace.objects.for_account(account).filter(prompt="checkout")
    total, failed = rows.count(), rows.filter(status="failure").count()
    slow = rows.filter(response_time_ms__gt=2000).count()

    sla = client.post("/api/v1/slas", {"name": "Checkout success", "objective": "success_rate", "target": 95,
                                       "prompt": "checkout"}, format="json").json()
    from alerts.models import Sla
    from alerts.services.slas import sla_report
    report = sla_report(Sla.objects.get(pk=sla["id"]), now=NOW)
    assert report["total_requests"] == total == 360
    assert report["value"] == pytest.approx(100.0 * (total - failed) / total, abs=1e-4)
    assert report["budget_total"] == pytest.approx(0.05 * total) and report["budget_used"] == failed
    assert report["budget_remaining"] == pytest.approx(0.05 * total - failed)
    assert report["status"] == "meeting"

    latency = client.post("/api/v1/slas", {"name": "Checkout p95", "objective": "latency_p95", "target": 2000,
                                           "prompt": "checkout"}, format="json").json()
    report = client.get(f"/api/v1/slas/{latency['id']}/status").json()
    # 10% of requests take 2.5 s, so p95 is above the bound: violating, budget overspent.
    assert report["status"] == "violating" and report["value"] == pytest.approx(2500, rel=0.01)
    report = sla_report(Sla.objects.get(pk=latency["id"]), now=NOW)
    assert report["slow_requests"] == slow == 36
    assert report["budget_remaining"] == pytest.approx(0.05 * total - slow)


@pytest.mark.parametrize("body, field", [
    ({"name": "a", "objective": "availability", "target": 100}, "target"),
    ({"name": "a", "objective": "availability", "target": 0}, "target"),
    ({"name": "a", "objective": "latency_p95", "target": -5}, "target"),
    ({"name": "a", "objective": "uptime", "target": 99}, "objective"),
    ({"name": "a", "objective": "availability", "target": 99.9, "window_days": 0}, "window_days"),
    ({"name": "a", "objective": "availability", "target": 99.9, "model": 999999}, "model"),
    ({"name": "a", "objective": "availability", "target": "x"}, "target"),
])
def test_bad_slas_are_400(account, client, body, field):
    response = client.post("/api/v1/slas", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()


def test_another_accounts_sla_and_model(account, other_account, client):
    theirs = Model.objects.create(account=other_account, name="theirs")
    response = client.post("/api/v1/slas", {"name": "x", "objective": "availability", "target": 99,
                                            "model": theirs.pk}, format="json")
    assert response.status_code == 400 and "model" in response.json()["errors"]
    from alerts.models import Sla
    sla = Sla.objects.create(account=other_account, name="theirs", objective="availability", target=99)
    assert client.get(f"/api/v1/slas/{sla.pk}/status").status_code == 404
