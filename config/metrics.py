"""Prometheus metrics at GET /metrics (text exposition format).

Per-request figures (HTTP latency by route, traces accepted/duplicates/errors by path) are
counted in the process that served the request; under gunicorn each worker writes them to
PROMETHEUS_MULTIPROC_DIR (under the data folder; `manage.py start` sets it) and a scrape
merges them. State figures (Celery queue depth, rollup lag, export jobs by state, failed
deliveries, database and Redis health) are read from PostgreSQL and Redis at scrape time.
When MODELPULSE_METRICS_TOKEN is set, a scrape needs it as a bearer token.
"""
import hmac
import os
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from config.replica_reads import READ_UNITS

HTTP_LATENCY = Histogram("modelpulse_http_request_duration_seconds", "HTTP request latency by route.",
                         ["route", "method", "status"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
TRACES = Counter("modelpulse_traces_ingested", "Traces received, by ingestion path and outcome "
                 "(accepted, duplicate, error).", ["path", "outcome"])


def count_ingest(path: str, result) -> None:
    TRACES.labels(path, "accepted").inc(result.accepted)
    TRACES.labels(path, "duplicate").inc(result.duplicates)
    TRACES.labels(path, "error").inc(len(result.errors))


class MetricsMiddleware:
    """Times every request; the label is the URL pattern (never the raw path: ids would explode it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # DRF routers give regex routes (^outbox$): the label keeps the path's shape only.
        route = "/" + match.route.replace("^", "").rstrip("$") if match is not None and match.route else "unmatched"
        HTTP_LATENCY.labels(route, request.method, str(response.status_code)).observe(time.perf_counter() - started)
        return response


class StateCollector:
    """Figures read from the database and Redis when Prometheus scrapes."""

    def collect(self):
        db_up = GaugeMetricFamily("modelpulse_database_up", "1 when PostgreSQL answers.")
        redis_up = GaugeMetricFamily("modelpulse_redis_up", "1 when Redis answers.")
        try:
            yield from self._database()
            db_up.add_metric([], 1)
        except Exception:  # any driver error: the database is down, the scrape still answers
            db_up.add_metric([], 0)
        yield db_up
        try:
            yield self._queues()
            redis_up.add_metric([], 1)
        except Exception:
            redis_up.add_metric([], 0)
        yield redis_up

    def _database(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXTRACT(EPOCH FROM clock_timestamp() - min(marked_at)), count(*) FROM traces_dirtybucket")
            lag, dirty = cursor.fetchone()
            cursor.execute("SELECT status, count(*) FROM traces_exportjob GROUP BY status")
            exports = cursor.fetchall()
            cursor.execute("SELECT count(*) FROM alerts_delivery WHERE status = 'failed'")
            failed = cursor.fetchone()[0]
        rollup = GaugeMetricFamily("modelpulse_rollup_lag_seconds",
                                   "How long the oldest hour waiting for its rollup has waited (0: none waits).")
        rollup.add_metric([], max(float(lag or 0), 0.0))
        hours = GaugeMetricFamily("modelpulse_rollup_dirty_hours", "Hours waiting for their rollup.")
        hours.add_metric([], dirty)
        jobs = GaugeMetricFamily("modelpulse_export_jobs", "Export jobs by state.", labels=["state"])
        for status, count in exports:
            jobs.add_metric([status], count)
        deliveries = GaugeMetricFamily("modelpulse_alert_deliveries_failed", "Alert deliveries that gave up.")
        deliveries.add_metric([], failed)
        return [rollup, hours, jobs, deliveries]

    def _queues(self):
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        depth = GaugeMetricFamily("modelpulse_celery_queue_depth", "Tasks waiting in each Celery queue.",
                                  labels=["queue"])
        for queue in settings.JOB_QUEUES:
            depth.add_metric([queue], client.llen(queue))
        return depth


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(HTTP_LATENCY)
        registry.register(TRACES)
        registry.register(READ_UNITS)
    registry.register(StateCollector())
    return registry


def metrics_view(request):
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
