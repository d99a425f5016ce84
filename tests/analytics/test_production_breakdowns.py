"""Production's failure breakdown, latency breakdown and alerts (003, D4/D12) against the raw rows:
every failure type is shown and the bars add up to the failed count; queue, network and LLM
processing time equal numpy over the traces; the alerts list is the selection's events."""
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from alerts.models import AlertEvent
from tests.analytics.test_metrics_exact import _bounds, roll_all
from traces.models import Trace
from traces.services import trace_ingest_batch

UTC = timezone.utc
START = datetime(2026, 11, 10, 3, 10, tzinfo=UTC)
RANGES = [("2026-11-11", "2026-11-12"),                                  # whole local days (Kolkata)
          ("2026-11-10T05:17:00Z", "2026-11-12T13:45:30Z"),              # cutting hours
          ("2026-11-11T07:05:00+05:30", "2026-11-11T07:55:00+05:30")]    # inside one hour
TYPES = ["timeout", "rate_limit", "llm_error", "validation", "system", "network", ""]


@pytest.fixture
def traffic(make_account):
    account = make_account("prod", tz="Asia/Kolkata")
    rng = random.Random(5)
    items = []
    for i in range(1200):
        failed = rng.random() < 0.15
        item = {"request_id": f"r-{i}", "executed_at": (START + timedelta(seconds=rng.uniform(0, 3 * 86400))).isoformat(),
                "model": rng.choice(["gpt-4o", "claude"]), "prompt": rng.choice(["faq", "summary"]),
                "status": "failure" if failed else "success", "response_time_ms": round(rng.lognormvariate(6.5, 0.7), 3)}
        if rng.random() < 0.8:  # some traces do not report the parts
            item["queue_time_ms"] = round(rng.expovariate(1 / 20), 3)
        if rng.random() < 0.8:
            item["network_time_ms"] = round(rng.uniform(5, 60), 3)
        if failed and (kind := rng.choice(TYPES)):  # some failures carry no type
            item["error_type"] = kind
        items.append(item)
    assert not trace_ingest_batch(account, items, now=START + timedelta(days=4)).errors
    roll_all()
    return account


def rows(account, start, end, **filters):
    qs = Trace.objects.for_account(account).filter(executed_at__gte=start, executed_at__lt=end)
    if "model" in filters:
        qs = qs.filter(model__name=filters["model"])
    if "prompt" in filters:
        qs = qs.filter(prompt=filters["prompt"])
    return list(qs.values("status", "error_type", "response_time_ms", "queue_time_ms", "network_time_ms"))


@pytest.mark.parametrize("start,end", RANGES)
@pytest.mark.parametrize("filters", [{}, {"model": "claude"}, {"prompt": "faq"}])
def test_failure_types_and_latency_breakdown_equal_raw_rows(traffic, key_client, start, end, filters):
    client = key_client(traffic)
    body = client.get("/api/v1/analytics/production", {"start": start, "end": end, **filters}).json()
    raw = rows(traffic, *_bounds(traffic, start, end), **filters)
    failed = [r for r in raw if r["status"] == "failure"]
    k = body["kpis"]
    shown = {t["type"]: t["count"] for t in k["failure_types"]}
    assert shown == {(t or "unspecified"): sum(r["error_type"] == t for r in failed) for t in TYPES}
    assert sum(shown.values()) == k["failed_requests"] == len(failed)
    assert {t["type"]: t["kind"] for t in k["failure_types"]}["rate_limit"] == "llm_error"
    # The seed's four kinds plus the untyped failures add up too.
    assert sum(k["failure_breakdown"].values()) + shown["unspecified"] == len(failed)

    lb = k["latency_breakdown"]
    total = np.array([r["response_time_ms"] for r in raw])
    queue = np.array([r["queue_time_ms"] or 0.0 for r in raw])
    network = np.array([r["network_time_ms"] or 0.0 for r in raw])
    assert len(raw) > 0
    assert lb["avg_response_ms"] == pytest.approx(total.mean(), rel=1e-9)
    assert lb["queue_ms"] == pytest.approx(queue.mean(), rel=1e-9)
    assert lb["network_ms"] == pytest.approx(network.mean(), rel=1e-9)
    assert lb["llm_processing_ms"] == pytest.approx((total - queue - network).mean(), rel=1e-9)
    # Per period too: the parts of each point add up to its average response time.
    for p in body["latency_breakdown"]:
        assert p["queue_ms"] + p["network_ms"] + p["llm_processing_ms"] == pytest.approx(p["avg_response_ms"])


def event(account, name, fired, resolved=None, scope=None, severity="warning"):
    return AlertEvent.objects.create(
        account=account, rule_name=name, metric="error_rate", severity=severity,
        status="resolved" if resolved else "firing", operator="gt", threshold=5.0, value=9.0,
        started_at=fired, fired_at=fired, resolved_at=resolved, scope=scope or {})


def test_alerts_of_the_selection_latest_first(traffic, make_account, key_client):
    t = datetime(2026, 11, 11, 6, 0, tzinfo=UTC)
    before = event(traffic, "resolved before", t - timedelta(days=3), t - timedelta(days=2))
    overlapping = event(traffic, "open across the start", t - timedelta(days=2), t + timedelta(hours=2))
    everything = event(traffic, "all traffic", t + timedelta(hours=3), severity="critical")
    faq = event(traffic, "faq errors", t + timedelta(hours=4), scope={"prompt": "faq"})
    summary = event(traffic, "summary errors", t + timedelta(hours=5), scope={"prompt": "summary"})
    after = event(traffic, "after the range", t + timedelta(days=3))
    other = make_account("other", tz="Asia/Kolkata")
    event(other, "another account's", t + timedelta(hours=1))
    client = key_client(traffic)
    period = {"start": t.isoformat(), "end": (t + timedelta(days=1)).isoformat()}

    body = client.get("/api/v1/analytics/alerts", period).json()
    assert [e["id"] for e in body["events"]] == [summary.pk, faq.pk, everything.pk, overlapping.pk]
    assert (body["total"], body["open"]) == (4, 3)
    assert body["events"][0]["url"] == f"/a/prod/alerts/events/{summary.pk}/"
    # A prompt filter keeps that prompt's events and those on all traffic.
    body = client.get("/api/v1/analytics/alerts", {**period, "prompt": "faq"}).json()
    assert [e["rule"] for e in body["events"]] == ["faq errors", "all traffic", "open across the start"]
    assert client.get("/api/v1/analytics/alerts", {**period, "limit": 2}).json()["total"] == 4
    assert len(client.get("/api/v1/analytics/alerts", {**period, "limit": 2}).json()["events"]) == 2
    for bad in ("0", "51", "x", "-1"):
        response = client.get("/api/v1/analytics/alerts", {**period, "limit": bad})
        assert response.status_code == 400 and "limit" in response.json()["errors"]
    assert before.pk not in [e["id"] for e in client.get("/api/v1/analytics/alerts", period).json()["events"]]
    assert after.pk not in [e["id"] for e in client.get("/api/v1/analytics/alerts", period).json()["events"]]
    # Another account sees only its own.
    theirs = key_client(other).get("/api/v1/analytics/alerts", {"preset": "all_time"}).json()
    assert [e["rule"] for e in theirs["events"]] == ["another account's"]
