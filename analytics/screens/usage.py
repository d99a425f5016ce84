"""Usage and Quality (seed 004, D7)."""
from analytics.selectors import metrics_breakdown
from analytics.selectors.metrics import metrics_grouped, metrics_summary

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def heatmap(sel) -> list[dict]:
    """Requests per local weekday × hour (ISO weekday 1 = Monday); cells without requests are absent."""
    grouped = metrics_grouped(sel, ("weekhour",), sketches=False, users=False)
    cells = []
    for (code,), m in sorted(grouped.items()):
        cells.append({"weekday": code // 100, "weekday_name": WEEKDAYS[code // 100 - 1], "hour": code % 100,
                      "requests": m["total_requests"]})
    return cells


def usage(sel) -> dict:
    m = metrics_summary(sel, peak=True)
    n, users = m["total_requests"], m["active_users"]
    seconds = (sel.end - sel.start).total_seconds()
    features = metrics_breakdown(sel, "feature", sketches=False)
    models = metrics_breakdown(sel, "model", sketches=False, users=False)
    return {
        "active_users": users,
        "total_requests": n,
        "queries_per_user": round(n / users, 4) if users else None,
        "feature_adoption": [{"feature": r["feature"], "users": r["active_users"], "requests": r["total_requests"],
                              "adoption_pct": round(100.0 * r["active_users"] / users, 4) if users else None}
                             for r in sorted(features, key=lambda r: -r["active_users"])],
        "heatmap": heatmap(sel),
        "ttft": {"avg_ms": m["avg_ttft_ms"], "p50_ms": m["p50_ttft_ms"], "p95_ms": m["p95_ttft_ms"]},
        "latency": {"p50_ms": m["p50_latency_ms"], "p95_ms": m["p95_latency_ms"], "p99_ms": m["p99_latency_ms"]},
        "throughput": {"requests_per_second": round(n / seconds, 6) if seconds else 0.0,
                       "peak_requests_per_minute": m["peak_rpm"]},
        "error_rate": m["error_rate"],
        "timeout_rate": m["timeout_rate"],
        "ratings": {"average": m["avg_rating"], "count": m["ratings"], "thumbs_up": m["thumbs_up"],
                    "thumbs_down": m["thumbs_down"]},
        "acceptance_rate": m["acceptance_rate"], "edit_rate": m["edit_rate"],
        "regeneration_rate": m["regeneration_rate"], "task_success_rate": m["task_success_rate"],
        "feedback_count": m["feedback_count"],
        "tokens_per_query": m["total_tokens"] / n if n else None,
        "cost_per_query_usd": m["cost_per_request_usd"],
        "cost_per_user_usd": round(m["total_cost_usd"] / users, 6) if users else None,
        "total_cost_usd": m["total_cost_usd"],
        "model_distribution": [{"model": r["model"], "model_id": r["model_id"], "requests": r["total_requests"],
                                "share_pct": round(100.0 * r["total_requests"] / n, 4) if n else None}
                               for r in models],
        "cache_hit_rate": m["cache_hit_rate"],
    }
