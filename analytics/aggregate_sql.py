"""The measures of a rollup row as SQL over raw traces (SUMS, built on COUNTED, which the
rollup build reads too) and the aggregation that reads the partial hours at the edges of
a range. The account id is always an explicit parameter."""
from analytics.sketch import SQL_BUCKET

DIMS = ("model_id", "model_type", "provider", "deployment_id", "version_id", "connection_id", "source_type",
        "source", "module", "feature", "prompt", "prompt_version")
NULLABLE = ("deployment_id", "version_id", "connection_id")
_DIMS = ", ".join(DIMS)

# Count columns and the condition under which a trace counts, over the base rows of a
# trace with its feedback (status … cache_hit from the trace; fid, rating … from feedback).
# The rollup build reads the same conditions (analytics.day_fetch).
COUNTED = {
    "successes": "status = 'success'",
    "failures": "status = 'failure'",
    "fail_timeout": "status = 'failure' AND error_type = 'timeout'",
    "fail_rate_limit": "status = 'failure' AND error_type = 'rate_limit'",
    "fail_llm_error": "status = 'failure' AND error_type = 'llm_error'",
    "fail_validation": "status = 'failure' AND error_type = 'validation'",
    "fail_system": "status = 'failure' AND error_type = 'system'",
    "fail_network": "status = 'failure' AND error_type = 'network'",
    "http_4xx": "http_status BETWEEN 400 AND 499",
    "http_5xx": "http_status BETWEEN 500 AND 599",
    "cache_hits": "cache_hit",
    "ratings_count": "rating IS NOT NULL",
    "thumbs_up": "thumbs = 'up'",
    "thumbs_down": "thumbs = 'down'",
    "accepted": "accepted",
    "edited": "edited",
    "regenerated": "regenerated",
    "task_success": "task_success",
    "task_total": "task_success IS NOT NULL",
    "feedback_count": "fid IS NOT NULL",
}
_OTHER = {
    "requests": "count(*)",
    "latency_sum": "coalesce(sum(response_time_ms), 0)",
    "latency_min": "min(response_time_ms)",
    "latency_max": "max(response_time_ms)",
    "ttft_count": "count(ttft_ms)",
    "ttft_sum": "coalesce(sum(ttft_ms), 0)",
    "queue_sum": "coalesce(sum(queue_time_ms), 0)",
    "network_sum": "coalesce(sum(network_time_ms), 0)",
    "input_tokens": "coalesce(sum(input_tokens), 0)",
    "output_tokens": "coalesce(sum(output_tokens), 0)",
    "cost_usd": "coalesce(sum(cost_usd), 0)",
    "credits": "coalesce(sum(credits), 0)",
    "ratings_sum": "coalesce(sum(rating), 0)",
}
_ORDER = ("requests", "successes", "failures", "fail_timeout", "fail_rate_limit", "fail_llm_error", "fail_validation",
          "fail_system", "fail_network", "http_4xx", "http_5xx", "latency_sum", "latency_min", "latency_max",
          "ttft_count", "ttft_sum", "queue_sum", "network_sum", "input_tokens", "output_tokens", "cost_usd", "credits",
          "cache_hits", "ratings_count", "ratings_sum", "thumbs_up", "thumbs_down", "accepted", "edited",
          "regenerated", "task_success", "task_total", "feedback_count")
SUMS = {c: _OTHER[c] if c in _OTHER else f"count(*) FILTER (WHERE {COUNTED[c]})" for c in _ORDER}
SUM_COLUMNS = tuple(SUMS)


def output_columns(dims=DIMS) -> tuple:
    return ("bucket", *dims, *SUM_COLUMNS, "latency_sketch", "ttft_sketch", "peak_minute_requests", "minute_counts")



def _sketch_cte(name: str, column: str) -> str:
    """A CTE of {gid: {bucket: count}} for a value column of the base rows (NULLs left out)."""
    return f""", {name} AS (
    SELECT gid, jsonb_object_agg(k, c) AS sketch FROM (
        SELECT gid, {SQL_BUCKET.format(col=column)} AS k, count(*) AS c
        FROM base WHERE {column} IS NOT NULL GROUP BY 1, 2) x
    GROUP BY gid
)"""


def raw_aggregate_sql(bucket_sql: str, extra_where: str = "", dims=DIMS, sketches=("latency", "ttft"),
                      minutes=True) -> str:
    """Rows of output_columns(dims) per (bucket, dimensions) over the account's traces in
    [start, end); with dims=() one row per bucket (the account's totals). Readers that
    need fewer sketches, or no per-minute map, leave them out (the columns stay, empty).

    Parameters: %(account)s, %(start)s, %(end)s, plus whatever extra_where uses. Each
    group gets an integer id first, so the sketch and peak-minute subqueries join back
    on one column (a hash join) rather than on thirteen.
    """
    lead = lambda parts: "".join(f", {p}" for p in parts)  # noqa: E731 - dims may be empty
    order_dims = lead(f"coalesce(t.{d}, 0)" if d in NULLABLE else f"t.{d}" for d in dims)
    base_dims = lead(f"coalesce(t.{d}, 0) AS {d}" if d in NULLABLE else f"t.{d}" for d in dims)
    group_dims = lead(f"min({d}) AS {d}" for d in dims)
    sums = ", ".join(f"{expr} AS {name}" for name, expr in SUMS.items())
    out_dims = lead(f"nullif(g.{d}, 0)" if d in NULLABLE else f"g.{d}" for d in dims)
    lat = _sketch_cte("lat", "response_time_ms") if "latency" in sketches else ""
    tt = _sketch_cte("tt", "ttft_ms") if "ttft" in sketches else ""
    pm = ""
    if minutes:
        # Requests per minute (keyed by Unix minute) so the busiest minute of any set of
        # groups is exact: sum the maps, take the maximum.
        pm = """, pm AS (
    SELECT gid, max(c) AS peak, jsonb_object_agg(m, c) AS minutes FROM (
        SELECT gid, floor(extract(epoch FROM executed_at) / 60)::bigint::text AS m, count(*) AS c
        FROM base GROUP BY 1, 2) y
    GROUP BY gid
)"""
    # Without dimensions the bucket itself identifies the group: numbering the groups would
    # sort every row of the edges for nothing.
    gid = f"dense_rank() OVER (ORDER BY {bucket_sql}{order_dims})" if dims else bucket_sql
    return f"""
WITH base AS MATERIALIZED (
    SELECT {gid} AS gid,
           {bucket_sql} AS bucket{base_dims}, t.status, t.error_type, t.http_status, t.response_time_ms,
           t.ttft_ms, t.queue_time_ms, t.network_time_ms, t.input_tokens, t.output_tokens, t.cost_usd, t.credits,
           t.cache_hit, t.executed_at, f.id AS fid, f.rating, f.thumbs, f.accepted, f.edited, f.regenerated,
           f.task_success
    FROM traces_trace t
    LEFT JOIN traces_feedback f ON f.account_id = t.account_id AND f.request_id = t.request_id
    WHERE t.account_id = %(account)s AND t.executed_at >= %(start)s AND t.executed_at < %(end)s {extra_where}
), g AS (
    SELECT gid, min(bucket) AS bucket{group_dims}, {sums}
    FROM base GROUP BY gid
){lat}{tt}{pm}
SELECT g.bucket{out_dims}, {", ".join(f"g.{c}" for c in SUM_COLUMNS)},
       {"coalesce(lat.sketch, '{}'::jsonb)" if lat else "'{}'::jsonb"},
       {"coalesce(tt.sketch, '{}'::jsonb)" if tt else "'{}'::jsonb"},
       {"pm.peak" if pm else "0"}, {"pm.minutes" if pm else "'{}'::jsonb"}
FROM g{" LEFT JOIN lat USING (gid)" if lat else ""}{" LEFT JOIN tt USING (gid)" if tt else ""}
     {" JOIN pm USING (gid)" if pm else ""}
"""
