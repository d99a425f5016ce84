"""An accumulator of rollup-shaped rows and the metrics derived from it."""
from collections import Counter
from decimal import Decimal

from analytics import sketch
from analytics.aggregate_sql import SUM_COLUMNS

DECIMALS = ("cost_usd", "credits")


class Agg:
    __slots__ = ("sums", "latency", "ttft", "latency_min", "latency_max", "peak")

    def __init__(self):
        self.sums = {c: (Decimal(0) if c in DECIMALS else 0) for c in SUM_COLUMNS if c not in ("latency_min",
                                                                                              "latency_max")}
        self.latency, self.ttft = Counter(), Counter()
        self.latency_min = self.latency_max = None
        self.peak = 0

    def add_sums(self, values: dict):
        for name in self.sums:
            value = values.get(name)
            if value is not None:
                # PostgreSQL's sum(bigint) is numeric: counts come back as Decimal.
                self.sums[name] += value if name in DECIMALS or isinstance(value, float) else int(value)
        if values.get("latency_min") is not None:
            lo = values["latency_min"]
            self.latency_min = lo if self.latency_min is None else min(self.latency_min, lo)
        if values.get("latency_max") is not None:
            hi = values["latency_max"]
            self.latency_max = hi if self.latency_max is None else max(self.latency_max, hi)
        self.peak = max(self.peak, values.get("peak_minute_requests") or 0)

    def metrics(self, active_users=None) -> dict:
        s = self.sums
        n = s["requests"]
        pct = lambda part: round(100.0 * part / n, 4) if n else 0.0  # noqa: E731
        q = lambda counter, p: sketch.quantile(  # noqa: E731
            counter, p, *((self.latency_min, self.latency_max) if counter is self.latency else ()))
        return {
            "total_requests": n, "successful_requests": s["successes"], "failed_requests": s["failures"],
            "success_rate": pct(s["successes"]), "error_rate": pct(s["failures"]),
            "avg_latency_ms": s["latency_sum"] / n if n else None,
            "min_latency_ms": self.latency_min, "max_latency_ms": self.latency_max,
            "p50_latency_ms": q(self.latency, 0.5), "p90_latency_ms": q(self.latency, 0.9),
            "p95_latency_ms": q(self.latency, 0.95), "p99_latency_ms": q(self.latency, 0.99),
            "avg_ttft_ms": s["ttft_sum"] / s["ttft_count"] if s["ttft_count"] else None,
            # Per request; a trace without the part counts it as 0 ms (003's latency breakdown).
            "avg_queue_time_ms": s["queue_sum"] / n if n else None,
            "avg_network_time_ms": s["network_sum"] / n if n else None,
            "p50_ttft_ms": q(self.ttft, 0.5), "p95_ttft_ms": q(self.ttft, 0.95),
            "input_tokens": s["input_tokens"], "output_tokens": s["output_tokens"],
            "total_tokens": s["input_tokens"] + s["output_tokens"],
            "total_cost_usd": float(s["cost_usd"]),
            "cost_per_request_usd": float(s["cost_usd"] / n) if n else 0.0,
            "total_credits": float(s["credits"]),
            "credits_per_request": float(s["credits"] / n) if n else 0.0,
            "active_users": active_users,
            "failures_by_type": {k: s[f"fail_{k}"] for k in ("timeout", "rate_limit", "llm_error", "validation",
                                                             "system", "network")},
            "http_4xx": s["http_4xx"], "http_5xx": s["http_5xx"],
            "timeout_rate": pct(s["fail_timeout"]), "cache_hit_rate": pct(s["cache_hits"]),
            "peak_rpm": self.peak,
            "avg_rating": s["ratings_sum"] / s["ratings_count"] if s["ratings_count"] else None,
            "ratings": s["ratings_count"], "thumbs_up": s["thumbs_up"], "thumbs_down": s["thumbs_down"],
            "feedback_count": s["feedback_count"],
            "acceptance_rate": round(100.0 * s["accepted"] / s["feedback_count"], 4) if s["feedback_count"] else None,
            "edit_rate": round(100.0 * s["edited"] / s["feedback_count"], 4) if s["feedback_count"] else None,
            "regeneration_rate": (round(100.0 * s["regenerated"] / s["feedback_count"], 4) if s["feedback_count"]
                                  else None),
            "task_success_rate": round(100.0 * s["task_success"] / s["task_total"], 4) if s["task_total"] else None,
        }
