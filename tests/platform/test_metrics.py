"""GET /metrics: Prometheus text with request latency, ingestion counts and state read at scrape time."""
from datetime import datetime, timedelta, timezone

from django.utils import timezone as dj_timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Delivery
from tests.factories import FACTORIES
from traces.models import DirtyBucket, ExportJob


def samples(client, **headers):
    response = client.get("/metrics", **headers)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode()) for s in family.samples}


def value(data, name, **labels):
    return data.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_and_traces_and_read_state(account, key_client, client, settings):
    before = samples(client)
    ingest = key_client(account, scopes=["ingest"])
    at = datetime.now(timezone.utc).isoformat()
    body = {"traces": [{"request_id": f"m-{i}", "executed_at": at, "model": "gpt-4o", "status": "success",
                        "response_time_ms": 100} for i in range(3)] + [{"request_id": "bad"}]}
    assert ingest.post("/api/v1/traces/ingest", body, format="json").status_code == 207
    ingest.post("/api/v1/traces/ingest", {"traces": body["traces"][:2]}, format="json")  # two duplicates
    after = samples(client)
    path = "/api/v1/traces/ingest"
    for outcome, n in (("accepted", 3), ("duplicate", 2), ("error", 1)):
        name = "modelpulse_traces_ingested_total"
        assert value(after, name, path=path, outcome=outcome) - value(before, name, path=path, outcome=outcome) == n
    route = dict(route="/api/v1/traces/ingest", method="POST", status="207")
    assert value(after, "modelpulse_http_request_duration_seconds_count", **route) == \
        value(before, "modelpulse_http_request_duration_seconds_count", **route) + 1

    # State: the ingest left dirty hours; an export job and a failed delivery are counted.
    oldest = DirtyBucket.objects.for_account(account).order_by("marked_at").first()
    DirtyBucket.objects.filter(pk=oldest.pk).update(marked_at=dj_timezone.now() - timedelta(minutes=10))
    FACTORIES[ExportJob](account, "MARK")
    FACTORIES[Delivery](account, "MARK")
    data = samples(client)
    assert 600 <= value(data, "modelpulse_rollup_lag_seconds") < 700
    assert value(data, "modelpulse_rollup_dirty_hours") == DirtyBucket.objects.count()
    for status in set(ExportJob.objects.values_list("status", flat=True)):
        assert value(data, "modelpulse_export_jobs", state=status) == ExportJob.objects.filter(status=status).count()
    assert value(data, "modelpulse_alert_deliveries_failed") == Delivery.objects.filter(status="failed").count()
    assert value(data, "modelpulse_database_up") == 1 and value(data, "modelpulse_redis_up") == 1
    for queue in settings.JOB_QUEUES:
        assert ("modelpulse_celery_queue_depth", (("queue", queue),)) in data


def test_metrics_token(client, settings, db):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
