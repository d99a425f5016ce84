"""What a widget may show: metrics of the metrics layer, groupings, kinds, ranges (D8).

The metric names are the keys of the metrics layer's summary (analytics.selectors), so a
widget asks the metrics endpoints for exactly what it names; the labels and units here
only describe them for people.
"""
from functools import lru_cache

from analytics import params
from analytics.selectors import FILTERS
from analytics.selectors.metrics import BREAKDOWN_DIMENSIONS

# "alerts" lists the alert events open during the range whose scope covers the widget's
# selection (GET /api/v1/analytics/alerts), latest first; it names no metric.
KINDS = ("line", "bar", "pie", "table", "metric", "alerts")

# D1, the dashboard default first.
PRESETS = ("last_7d", *(p for p in params.PRESETS if p != "last_7d"))
PRESET_LABELS = {
    "last_hour": "Last hour", "today": "Today", "yesterday": "Yesterday", "last_24h": "Last 24 hours",
    "this_week": "This week", "last_7d": "Last 7 days", "this_month": "This month", "last_month": "Last month",
    "last_30d": "Last 30 days", "last_90d": "Last 90 days", "this_year": "This year", "last_year": "Last year",
    "all_time": "All time",
}

# name -> (label, unit). Units: count, pct, ms, usd, credits, tokens, rating.
METRICS = {
    "total_requests": ("Requests", "count"),
    "successful_requests": ("Successful requests", "count"),
    "failed_requests": ("Failed requests", "count"),
    "success_rate": ("Success rate", "pct"),
    "error_rate": ("Error rate", "pct"),
    "timeout_rate": ("Timeout rate", "pct"),
    "avg_latency_ms": ("Average latency", "ms"),
    "p50_latency_ms": ("p50 latency", "ms"),
    "p90_latency_ms": ("p90 latency", "ms"),
    "p95_latency_ms": ("p95 latency", "ms"),
    "p99_latency_ms": ("p99 latency", "ms"),
    "min_latency_ms": ("Fastest response", "ms"),
    "max_latency_ms": ("Slowest response", "ms"),
    "avg_ttft_ms": ("Average time to first token", "ms"),
    "p50_ttft_ms": ("p50 time to first token", "ms"),
    "p95_ttft_ms": ("p95 time to first token", "ms"),
    "input_tokens": ("Input tokens", "tokens"),
    "output_tokens": ("Output tokens", "tokens"),
    "total_tokens": ("Total tokens", "tokens"),
    "total_cost_usd": ("Cost", "usd"),
    "cost_per_request_usd": ("Cost per request", "usd"),
    "total_credits": ("Credits", "credits"),
    "credits_per_request": ("Credits per request", "credits"),
    "active_users": ("Active users", "count"),
    "peak_rpm": ("Peak requests per minute", "count"),
    "http_4xx": ("4xx errors", "count"),
    "http_5xx": ("5xx errors", "count"),
    "cache_hit_rate": ("Cache hit rate", "pct"),
    "avg_rating": ("Average rating", "rating"),
    "ratings": ("Ratings", "count"),
    "thumbs_up": ("Thumbs up", "count"),
    "thumbs_down": ("Thumbs down", "count"),
    "acceptance_rate": ("Acceptance rate", "pct"),
    "task_success_rate": ("Task success rate", "pct"),
}

# "" = one figure (metric cards); "time" = one point per hour or day; else a dimension.
GROUPINGS = ("", "time", *BREAKDOWN_DIMENSIONS)
GROUPING_LABELS = {"": "None (one figure)", "time": "Time (hourly or daily)", "model": "Model",
                   "deployment": "Deployment", "version": "Version", "connection": "Connection",
                   "provider": "Provider", "model_type": "Model type", "source_type": "Source type",
                   "source": "Source", "module": "Module", "feature": "Feature", "prompt": "Prompt",
                   "prompt_version": "Prompt version"}
FILTER_NAMES = FILTERS
MAX_METRICS = 4
MAX_WIDGETS = 24


@lru_cache(maxsize=1)
def layer_metrics() -> frozenset:
    """The figure names the metrics layer answers with (its summary of no requests)."""
    from analytics.selectors.aggregate import Agg

    return frozenset(k for k, v in Agg().metrics().items() if not isinstance(v, dict))


def metric_choices() -> list[tuple[str, str, str]]:
    """[(name, label, unit)] of the metrics a widget may name: described here and answered by the layer."""
    available = layer_metrics()
    return [(name, label, unit) for name, (label, unit) in METRICS.items() if name in available]


def is_metric(name: str) -> bool:
    return name in METRICS and name in layer_metrics()


CUSTOM_PREFIX = "custom:"
CUSTOM_UNITS = {"percent": "pct", "ms": "ms", "usd": "usd", "count": "count", "": "number"}


def custom_metric_choices(account) -> list[tuple[str, str, str]]:
    """[(name, label, unit)] of the account's custom metrics (L6), for metric cards."""
    from alerts.models import CustomMetric

    return [(f"{CUSTOM_PREFIX}{m.pk}", m.label or m.name, CUSTOM_UNITS.get(m.unit, "number"))
            for m in CustomMetric.objects.for_account(account).order_by("name")]


def is_custom_metric(account, name: str) -> bool:
    from alerts.models import CustomMetric

    ident = name[len(CUSTOM_PREFIX):] if name.startswith(CUSTOM_PREFIX) else ""
    return ident.isascii() and ident.isdigit() and len(ident) < 19 and \
        CustomMetric.objects.for_account(account).filter(pk=int(ident)).exists()
