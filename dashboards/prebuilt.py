"""The pre-built dashboards every account starts with (003 "Pre-built Dashboards", D8)."""


def _w(title, kind, metrics, group_by="", width=1, limit=8, preset=""):
    return {"title": title, "kind": kind, "metrics": list(metrics), "group_by": group_by, "width": width,
            "limit": limit, "preset": preset, "filters": {}}


PREBUILT = {
    "executive": {
        "name": "Executive", "position": 0,
        "description": "High-level KPIs, cost summary, traffic overview and the top issues.",
        "widgets": [
            _w("Requests", "metric", ["total_requests"]),
            _w("Success rate", "metric", ["success_rate"]),
            _w("p95 latency", "metric", ["p95_latency_ms"]),
            _w("Cost", "metric", ["total_cost_usd"]),
            _w("Active users", "metric", ["active_users"]),
            _w("Credits", "metric", ["total_credits"]),
            _w("Traffic", "line", ["total_requests", "failed_requests"], "time", width=2),
            _w("Cost by model", "pie", ["total_cost_usd"], "model", limit=6),
            _w("Top issues: failures by model", "table", ["failed_requests", "error_rate", "p95_latency_ms"],
               "model", width=3, limit=10),
        ],
    },
    "performance": {
        "name": "Performance", "position": 1,
        "description": "Latency percentiles, success rates, the error breakdown and throughput.",
        "widgets": [
            _w("p50 latency", "metric", ["p50_latency_ms"]),
            _w("p95 latency", "metric", ["p95_latency_ms"]),
            _w("p99 latency", "metric", ["p99_latency_ms"]),
            _w("Latency percentiles", "line", ["p50_latency_ms", "p95_latency_ms", "p99_latency_ms"], "time",
               width=2),
            _w("Peak requests per minute", "metric", ["peak_rpm"]),
            _w("Success rate", "line", ["success_rate"], "time", width=2),
            _w("Errors by model", "bar", ["failed_requests"], "model"),
            # Seed 003: the alert events open during the range, latest first.
            _w("Alerts", "alerts", [], limit=6),
            _w("Throughput by feature", "table", ["total_requests", "peak_rpm", "avg_latency_ms", "error_rate"],
               "feature", width=2, limit=10),
        ],
    },
    "cost": {
        "name": "Cost", "position": 2,
        "description": "Spend by prompt and over time, cost trends and credits.",
        "widgets": [
            _w("Cost", "metric", ["total_cost_usd"]),
            _w("Cost per request", "metric", ["cost_per_request_usd"]),
            _w("Credits", "metric", ["total_credits"]),
            _w("Spend over time", "bar", ["total_cost_usd"], "time", width=2),
            _w("Spend by prompt", "pie", ["total_cost_usd"], "prompt", limit=8),
            _w("Tokens over time", "bar", ["input_tokens", "output_tokens"], "time", width=2),
            _w("Credits by deployment", "pie", ["total_credits"], "deployment"),
            _w("Cost by model", "table", ["total_cost_usd", "cost_per_request_usd", "total_tokens", "total_requests"],
               "model", width=3, limit=10),
        ],
    },
    "quality": {
        "name": "Quality", "position": 3,
        "description": "User feedback, acceptance and task success, by model and over time.",
        "widgets": [
            _w("Average rating", "metric", ["avg_rating"]),
            _w("Acceptance rate", "metric", ["acceptance_rate"]),
            _w("Task success rate", "metric", ["task_success_rate"]),
            _w("Feedback over time", "bar", ["thumbs_up", "thumbs_down"], "time", width=2),
            _w("Ratings by model", "bar", ["avg_rating"], "model"),
            _w("Acceptance and task success", "line", ["acceptance_rate", "task_success_rate"], "time", width=2),
            _w("Cache hit rate", "metric", ["cache_hit_rate"]),
            _w("Quality by model", "table", ["avg_rating", "acceptance_rate", "task_success_rate", "ratings"],
               "model", width=3, limit=10),
        ],
    },
}
