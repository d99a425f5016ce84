"""Performance Analytics (seed 000, D2): the model × feature table and a row's detail."""
from rest_framework.exceptions import ValidationError

from analytics.selectors import metrics_breakdown, metrics_timeseries

COLUMNS = ("model", "feature", "requests", "successful_requests", "failed_requests", "total_tokens",
           "request_tokens", "response_tokens", "avg_tokens_per_request", "avg_tokens_per_response",
           "avg_response_time_ms", "median_latency_ms")


def _row(m: dict) -> dict:
    n = m["total_requests"]
    return {
        "model": m["model"], "model_id": m["model_id"], "feature": m["feature"],
        "requests": n, "successful_requests": m["successful_requests"], "failed_requests": m["failed_requests"],
        "total_tokens": m["total_tokens"], "request_tokens": m["input_tokens"], "response_tokens": m["output_tokens"],
        "avg_tokens_per_request": m["total_tokens"] / n if n else None,
        "avg_tokens_per_response": m["output_tokens"] / n if n else None,
        "avg_response_time_ms": m["avg_latency_ms"], "median_latency_ms": m["p50_latency_ms"],
    }


def performance_table(sel, ordering: str = "-requests") -> list[dict]:
    column = ordering.lstrip("-")
    if column not in COLUMNS:
        raise ValidationError({"ordering": [f"must be one of {', '.join(COLUMNS)}, optionally prefixed by -"]})
    rows = [_row(m) for m in metrics_breakdown(sel, ("model", "feature"), sketches="latency", users=False)]
    descending = ordering.startswith("-")
    # Nulls sort last either way; text sorts case-insensitively.
    present = [r for r in rows if r[column] is not None]
    absent = [r for r in rows if r[column] is None]
    key = (lambda r: r[column].lower()) if column in ("model", "feature") else (lambda r: r[column])
    present.sort(key=lambda r: (r["model"].lower(), r["feature"].lower()))
    present.sort(key=key, reverse=descending)
    return present + absent


def performance_detail(sel) -> dict:
    """Request trend, token consumption and latency analysis of one model × feature."""
    series = metrics_timeseries(sel, sketches="latency", users=False)
    points = [{
        "period": p["period"], "requests": p["total_requests"], "successful_requests": p["successful_requests"],
        "failed_requests": p["failed_requests"], "request_tokens": p["input_tokens"],
        "response_tokens": p["output_tokens"], "avg_response_time_ms": p["avg_latency_ms"],
        "median_latency_ms": p["p50_latency_ms"], "p95_latency_ms": p["p95_latency_ms"],
    } for p in series["points"]]
    return {"granularity": series["granularity"], "points": points}
