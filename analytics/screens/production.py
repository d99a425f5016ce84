"""Production Metrics (seed 003, D4) and the executive overview."""
from dataclasses import replace
from datetime import timedelta

from analytics.screens.health import change_pct, success_band, trend
from analytics.selectors import metrics_breakdown, metrics_summary, metrics_timeseries

DAYS_PER_MONTH = 30
RECENT = timedelta(minutes=5)


def failure_breakdown(m: dict) -> dict:
    """Seed 003's four kinds: LLM errors include rate limits, system errors include network."""
    f = m["failures_by_type"]
    return {"timeout": f["timeout"], "llm_error": f["llm_error"] + f["rate_limit"],
            "validation": f["validation"], "system": f["system"] + f["network"]}


FAILURE_TYPES = (("timeout", "Timeout", "timeout"), ("rate_limit", "Rate limit", "llm_error"),
                 ("llm_error", "LLM error", "llm_error"), ("validation", "Validation", "validation"),
                 ("system", "System", "system"), ("network", "Network", "system"))


def failure_types(m: dict) -> list[dict]:
    """Every failure type with its count, the seed's kind it belongs to, and the failures that
    carry no type: the counts add up to the failed requests."""
    f = m["failures_by_type"]
    rows = [{"type": key, "label": label, "kind": kind, "count": f[key]} for key, label, kind in FAILURE_TYPES]
    untyped = m["failed_requests"] - sum(f.values())
    rows.append({"type": "unspecified", "label": "No type given", "kind": "unspecified", "count": untyped})
    return rows


def latency_breakdown(m: dict) -> dict:
    """Average response time split into queue, network and LLM processing (the rest)."""
    avg = m["avg_latency_ms"]
    if avg is None:
        return {"avg_response_ms": None, "queue_ms": None, "network_ms": None, "llm_processing_ms": None}
    queue, network = m["avg_queue_time_ms"], m["avg_network_time_ms"]
    return {"avg_response_ms": avg, "queue_ms": queue, "network_ms": network,
            "llm_processing_ms": max(0.0, avg - queue - network)}


def projected_monthly_cost(sel, cost: float) -> float:
    days = (sel.end - sel.start).total_seconds() / 86400
    return round(cost / days * DAYS_PER_MONTH, 6) if days else 0.0


def kpis(sel, peak_rpm: int) -> dict:
    """peak_rpm: the busiest minute of the selection (the highest of its periods' peaks, as a
    minute lies in exactly one period)."""
    m = metrics_summary(sel, sketches="latency")
    m["peak_rpm"] = peak_rpm
    minutes = (sel.end - sel.start).total_seconds() / 60
    middle = sel.start + (sel.end - sel.start) / 2
    first = metrics_summary(replace(sel, end=middle), sketches=False, users=False)["total_requests"]
    second = m["total_requests"] - first
    recent = metrics_summary(replace(sel, start=max(sel.start, sel.end - RECENT)), sketches=False,
                             users=False)["total_requests"]
    recent_minutes = min(RECENT, sel.end - sel.start).total_seconds() / 60
    return {
        **m,
        "rpm": round(m["total_requests"] / minutes, 4) if minutes else 0.0,
        "current_rpm": round(recent / recent_minutes, 4) if recent_minutes else 0.0,
        "trend": trend(first, second),
        "success_band": success_band(m["success_rate"], m["total_requests"]),
        "failure_breakdown": failure_breakdown(m),
        "failure_types": failure_types(m),
        "latency_breakdown": latency_breakdown(m),
        "avg_tokens_per_request": m["total_tokens"] / m["total_requests"] if m["total_requests"] else None,
        "projected_monthly_cost_usd": projected_monthly_cost(sel, m["total_cost_usd"]),
    }


def _pct(part, n):
    return round(100.0 * part / n, 4) if n else 0.0


def production(sel) -> dict:
    series = metrics_timeseries(sel, peak=True, sketches="latency", users=False)
    points = series["points"]
    prompts = metrics_breakdown(sel, "prompt", sketches="latency", users=False)
    return {
        "kpis": kpis(sel, max((p["peak_rpm"] for p in points), default=0)),
        "granularity": series["granularity"],
        "requests": [{"period": p["period"], "requests": p["total_requests"], "peak_rpm": p["peak_rpm"]}
                     for p in points],
        "success_rate": [{"period": p["period"], "success_rate": p["success_rate"],
                          "band": success_band(p["success_rate"], p["total_requests"])} for p in points],
        "latency": [{"period": p["period"], "p50_ms": p["p50_latency_ms"], "p95_ms": p["p95_latency_ms"],
                     "p99_ms": p["p99_latency_ms"]} for p in points],
        "latency_breakdown": [{"period": p["period"], **latency_breakdown(p)} for p in points],
        "error_rate": [{"period": p["period"], "http_4xx": _pct(p["http_4xx"], p["total_requests"]),
                        "http_5xx": _pct(p["http_5xx"], p["total_requests"]),
                        "llm": _pct(p["failures_by_type"]["llm_error"] + p["failures_by_type"]["rate_limit"],
                                    p["total_requests"]), "total": p["error_rate"]} for p in points],
        "tokens": [{"period": p["period"], "input_tokens": p["input_tokens"], "output_tokens": p["output_tokens"],
                    "avg_tokens_per_request": p["total_tokens"] / p["total_requests"]} for p in points],
        "cost": [{"period": p["period"], "cost_usd": p["total_cost_usd"]} for p in points],
        "cost_by_prompt": [{"prompt": r["prompt"], "cost_usd": r["total_cost_usd"]}
                           for r in sorted(prompts, key=lambda r: -r["total_cost_usd"])],
        "prompts": [{"prompt": r["prompt"], "requests": r["total_requests"], "success_rate": r["success_rate"],
                     "p95_latency_ms": r["p95_latency_ms"],
                     "avg_tokens": r["total_tokens"] / r["total_requests"],
                     "cost_per_request_usd": r["cost_per_request_usd"], "cost_usd": r["total_cost_usd"],
                     "error_rate": r["error_rate"]} for r in prompts],
    }


OVERVIEW_METRICS = ("total_requests", "success_rate", "error_rate", "p50_latency_ms", "p95_latency_ms",
                    "p99_latency_ms", "total_tokens", "total_cost_usd", "active_users", "avg_latency_ms",
                    "cost_per_request_usd")


def overview(sel) -> dict:
    current = metrics_summary(sel)
    previous = metrics_summary(sel.previous())
    return {
        "current": current, "previous": previous,
        "previous_period": {"start": sel.previous().start.isoformat(), "end": sel.previous().end.isoformat()},
        "change": {k: change_pct(current[k], previous[k]) for k in OVERVIEW_METRICS},
        "success_band": success_band(current["success_rate"], current["total_requests"]),
        "projected_monthly_cost_usd": projected_monthly_cost(sel, current["total_cost_usd"]),
    }
