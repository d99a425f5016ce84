"""L5: SLAs — seed 003's worked example (99.9% availability over 30 days of traffic allows 43 minutes;
12 minutes down leave 31), the same objective on sparse traffic (only minutes with traffic are
judged, so the budget is 0.1% of them), success-rate and p95 budgets against a hand computation over the raw rows, daily
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


def down_minutes_by_hand(account, start, end, threshold=50.0, with_traffic=False, **filters):
    """Minutes in [start, end) where at least threshold % of the requests failed, from the raw
    rows; with_traffic: (that, the minutes with at least one request)."""
    total, failed = Counter(), Counter()
    for t in Trace.objects.for_account(account).filter(executed_at__gte=start, executed_at__lt=end, **filters):
        minute = t.executed_at.replace(second=0, microsecond=0)
        total[minute] += 1
        failed[minute] += t.status == "failure"
    down = sum(1 for m in total if 100.0 * failed[m] >= threshold * total[m])
    return (down, len(total)) if with_traffic else down


@pytest.fixture
def client(account, member_of, session_client):
    return session_client(member_of(account, Role.MEMBER), account)


def test_seed_003_availability_example(account, client):
    model = Model.objects.create(account=account, name="support-bot")
    # Healthy traffic in every minute of the window (and the day before it), one request a minute.
    healthy = traffic("ok", NOW - timedelta(days=31), 31 * 24 * 60, 1, model="support-bot")
    for i in range(0, len(healthy), 1000):
        ingest(account, healthy[i:i + 1000])
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

    by_hand, seen = down_minutes_by_hand(account, NOW - timedelta(days=30), NOW, with_traffic=True,
                                         model__name="support-bot")
    assert by_hand == 12 and seen == 30 * 24 * 60
    assert report["downtime_minutes"] == by_hand and report["traffic_minutes"] == seen == report["window_minutes"]
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
    assert report["value"] < 99.9  # availability below the target exactly when the budget is overspent


def test_availability_on_sparse_traffic_judges_minutes_with_traffic(account, client):
    """Demo-like traffic: one request in one minute of ten, about 4% of them failing on their
    own. Idle minutes are not counted as up: the budget is 0.1% of the minutes with traffic,
    the console says it in minutes, and availability agrees with the budget."""
    import random
    rng = random.Random(3)
    items = []
    for m in range(0, 3 * 24 * 60, 10):
        at = NOW - timedelta(days=3) + timedelta(minutes=m, seconds=rng.randint(0, 59))
        failed = rng.random() < 0.04
        items.append({"request_id": f"sp-{m}", "executed_at": at.isoformat(), "model": "gpt-4o",
                      "status": "failure" if failed else "success", "response_time_ms": 300.0,
                      **({"error_type": "llm_error"} if failed else {})})
    ingest(account, items)
    roll_all()
    sla = client.post("/api/v1/slas", {"name": "Sparse", "objective": "availability", "target": 99},
                      format="json").json()
    body = client.get(f"/api/v1/slas/{sla['id']}/status").json()
    from alerts.models import Sla
    from alerts.services.slas import sla_report
    report = sla_report(Sla.objects.get(pk=sla["id"]), now=NOW)
    down, seen = down_minutes_by_hand(account, NOW - timedelta(days=30), NOW, with_traffic=True)
    failures = sum(i["status"] == "failure" for i in items)
    assert seen == len(items) == 432 and down == failures > 0
    assert (report["traffic_minutes"], report["downtime_minutes"]) == (seen, down)
    assert report["budget_total"] == pytest.approx(0.01 * seen)
    assert report["budget_remaining"] == pytest.approx(0.01 * seen - down)
    assert report["value"] == pytest.approx(100.0 * (seen - down) / seen)
    assert (report["value"] >= 99) == (report["budget_remaining"] >= 0)
    assert body["traffic_minutes"] == seen and body["budget_unit"] == "minutes"
    # Per day: that day's minutes with traffic, its down minutes and what it was allowed.
    for day in report["history"]:
        if day["traffic_minutes"]:
            assert day["value"] == pytest.approx(100.0 * (1 - day["downtime_minutes"] / day["traffic_minutes"]))
            assert day["allowed_minutes"] == pytest.approx(0.01 * day["traffic_minutes"])
    assert sum(d["traffic_minutes"] for d in report["history"]) == seen
    from alerts.views.slas import budget_words
    words = budget_words(Sla.objects.get(pk=sla["id"]), report)
    remaining = 0.01 * seen - down
    expected = (f"{abs(remaining):.1f}".rstrip("0").rstrip(".") + " min")
    assert words["budget_headline"] == (f"{expected} left" if remaining >= 0 else f"Overspent by {expected}")
    assert words["budget_line"].startswith(f"{down} min down of 4.3 min allowed — 1% of the 432 minutes with "
                                           f"traffic (of 43,200 in the window)")


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
