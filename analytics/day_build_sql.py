"""The one statement that rebuilds a run of an account's local days from raw traces.

Each trace is read once. Four aggregations of the raw rows — sums, latency buckets, TTFT
buckets and requests per minute, per local hour and combination of dimensions — feed
every table through data-modifying CTEs: hourly rows and hourly totals, daily rows and
daily totals, the one-dimension daily slices and the per-user daily rows. The coarser
levels aggregate those intermediate results, never the traces again: counts and sums
add, minima and maxima combine, sketch buckets and minute counts add, and a busiest
minute is the largest of the summed minutes (a minute lies inside one hour).

Parameters: %(account)s and %(lo)s, %(hi)s (the UTC instants bounding the run of days).
The caller deletes the run's old rows first in the same transaction; month bitmaps of
users are updated afterwards from the daily user rows (analytics.rollups).
"""
from analytics.aggregate_sql import DIMS, NULLABLE, SUMS, SUM_COLUMNS
from analytics.buckets import hour_bucket_sql
from analytics.models import SLICES
from analytics.sketch import SQL_BUCKET

_EXTREMES = {"latency_min": "min", "latency_max": "max"}
MERGED_SUMS = ", ".join(f"{_EXTREMES.get(c, 'sum')}({c}) AS {c}" for c in SUM_COLUMNS)
MEASURES = (*SUM_COLUMNS, "latency_sketch", "ttft_sketch", "peak_minute_requests")
# GROUPING(*SLICES) sets the bit of every column left out of the grouping set (first column
# highest): the set of slice i leaves out all but column i.
SLICE_OF_GROUPING = " ".join(
    f"WHEN {(1 << len(SLICES)) - 1 - (1 << (len(SLICES) - 1 - i))} THEN '{name}'" for i, name in enumerate(SLICES))
SLICE_NONE = {"model_id": "0", "deployment_id": "0", "feature": "''", "prompt": "''"}  # left out of a set


def _out(column: str, prefix: str = "") -> str:
    """Nullable dimensions are 0 inside the statement (so joins match); NULL again on output."""
    return f"nullif({prefix}{column}, 0)" if column in NULLABLE else f"{prefix}{column}"


def day_build_sql(account) -> str:
    dims = ", ".join(DIMS)
    tz = account.timezone  # a validated IANA name
    hour = hour_bucket_sql(account)
    base_dims = ", ".join(f"coalesce(t.{d}, 0) AS {d}" if d in NULLABLE else f"t.{d}" for d in DIMS)
    sums = ", ".join(f"{expr} AS {name}" for name, expr in SUMS.items())
    measures = ", ".join(MEASURES)
    sum_cols = ", ".join(f"s.{c}" for c in SUM_COLUMNS)
    empty = "'{}'::jsonb"

    def sums_by(keys, source):
        return f"SELECT {keys}, {MERGED_SUMS}, max(peak_minute_requests) AS peak FROM {source} GROUP BY {keys}"

    def via(level, source):
        """Bucket counts of a finer level (hl, ht) summed up to `level` keys of gd."""
        return f"(SELECT {level}, k, sum(c) AS c FROM {source} JOIN gd USING (gid) GROUP BY {level}, k)"

    def maps(level, source):
        return (f"SELECT {level}, jsonb_object_agg(k, c) AS s FROM {source} x GROUP BY {level}")

    # The four slices in one pass per source: GROUPING SETS, one hash table per sliced
    # dimension. A row's set is GROUPING(*SLICES); the columns left out of it read 0 or ''.
    values = ", ".join(SLICES)
    sk = f"gs, day, {values}"
    sliced = (f"GROUPING({values}) AS gs, day, "
              + ", ".join(f"coalesce({c}, {SLICE_NONE[c]}) AS {c}" for c in SLICES))
    sets = f"GROUPING SETS ({', '.join(f'({c})' for c in SLICES)})"
    # Ids left out of a set (and no deployment) are stored NULL, as in DailySlice.
    slice_values = ", ".join(f"nullif(s.{c}, 0)" if SLICE_NONE[c] == "0" else f"s.{c}" for c in SLICES)

    def slice_maps(source):
        return maps(sk, f"(SELECT {sliced}, k, sum(c) AS c FROM {source} JOIN dg USING (dgid) GROUP BY day, k, {sets})")

    slices = f"""ins_slices AS (
    INSERT INTO analytics_dailyslice (account_id, slice, day, {values}, {measures})
    SELECT %(account)s, CASE s.gs {SLICE_OF_GROUPING} END, s.day, {slice_values},
           {sum_cols}, coalesce(l.s, {empty}), coalesce(tt.s, {empty}), coalesce(p.peak, 0)
    FROM (SELECT {sliced}, {MERGED_SUMS} FROM d GROUP BY day, {sets}) s
    LEFT JOIN ({slice_maps("dl")}) l USING ({sk})
    LEFT JOIN ({slice_maps("dt")}) tt USING ({sk})
    LEFT JOIN (SELECT {sk}, max(c) AS peak FROM (SELECT {sliced}, k, sum(c) AS c FROM hmx GROUP BY day, k, {sets}) x
               GROUP BY {sk}) p USING ({sk})
)"""
    return f"""
WITH base AS MATERIALIZED (
    SELECT {hour} AS hour, {base_dims}, t.user_id,
           t.status, t.error_type, t.http_status, t.response_time_ms, t.ttft_ms, t.queue_time_ms, t.network_time_ms,
           t.input_tokens, t.output_tokens, t.cost_usd, t.credits, t.cache_hit,
           floor(extract(epoch FROM t.executed_at) / 60)::bigint AS minute,
           f.id AS fid, f.rating, f.thumbs, f.accepted, f.edited, f.regenerated, f.task_success
    FROM traces_trace t
    LEFT JOIN traces_feedback f ON f.account_id = t.account_id AND f.request_id = t.request_id
    WHERE t.account_id = %(account)s AND t.executed_at >= %(lo)s AND t.executed_at < %(hi)s
), g AS MATERIALIZED (
    -- One id per local hour and combination of dimensions: every later grouping is on ids.
    SELECT row_number() OVER () AS gid, hour, (hour AT TIME ZONE '{tz}')::date AS day, {dims}, {sums}
    FROM base GROUP BY hour, {dims}
), dg AS MATERIALIZED (
    SELECT row_number() OVER () AS dgid, day, {dims} FROM g GROUP BY day, {dims}
), gd AS MATERIALIZED (
    SELECT g.gid, g.hour, dg.dgid, dg.day, dg.model_id, dg.deployment_id, dg.feature, dg.prompt
    FROM g JOIN dg USING (day, {dims})
), bg AS MATERIALIZED (
    SELECT g.gid, {SQL_BUCKET.format(col="b.response_time_ms")} AS lb, b.response_time_ms IS NOT NULL AS has_lb,
           {SQL_BUCKET.format(col="b.ttft_ms")} AS tb, b.ttft_ms IS NOT NULL AS has_tb, b.minute, b.user_id,
           b.cost_usd
    FROM base b JOIN g USING (hour, {dims})
), hl AS MATERIALIZED (SELECT gid, lb AS k, count(*) AS c FROM bg WHERE has_lb GROUP BY gid, lb
), ht AS MATERIALIZED (SELECT gid, tb AS k, count(*) AS c FROM bg WHERE has_tb GROUP BY gid, tb
), hmx AS MATERIALIZED (
    SELECT m.gid, m.k, m.c, gd.hour, gd.day, gd.model_id, gd.deployment_id, gd.feature, gd.prompt
    FROM (SELECT gid, minute AS k, count(*) AS c FROM bg GROUP BY gid, minute) m JOIN gd USING (gid)
), h AS MATERIALIZED (
    SELECT g.*, coalesce(l.s, {empty}) AS latency_sketch, coalesce(tt.s, {empty}) AS ttft_sketch,
           m.peak AS peak_minute_requests, m.s AS minute_counts
    FROM g
    LEFT JOIN ({maps("gid", "hl")}) l USING (gid)
    LEFT JOIN ({maps("gid", "ht")}) tt USING (gid)
    JOIN (SELECT gid, max(c) AS peak, jsonb_object_agg(k::text, c) AS s FROM hmx GROUP BY gid) m USING (gid)
), ins_hourly AS (
    INSERT INTO analytics_hourlyrollup (account_id, hour_start, {dims}, {measures}, minute_counts)
    SELECT %(account)s, hour, {", ".join(_out(d) for d in DIMS)}, {measures}, minute_counts FROM h
), hour_minutes AS MATERIALIZED (
    SELECT hour, day, max(c) AS peak, jsonb_object_agg(k::text, c) AS s
    FROM (SELECT hour, day, k, sum(c) AS c FROM hmx GROUP BY hour, day, k) x GROUP BY hour, day
), ins_hourly_total AS (
    INSERT INTO analytics_hourlytotal (account_id, hour_start, {measures}, minute_counts)
    SELECT %(account)s, s.hour, {sum_cols}, coalesce(l.s, {empty}), coalesce(tt.s, {empty}), m.peak, m.s
    FROM ({sums_by('hour', 'h')}) s
    LEFT JOIN ({maps("hour", via("hour", "hl"))}) l USING (hour)
    LEFT JOIN ({maps("hour", via("hour", "ht"))}) tt USING (hour)
    JOIN hour_minutes m USING (hour)
), dl AS MATERIALIZED {via("dgid", "hl")}, dt AS MATERIALIZED {via("dgid", "ht")},
d AS MATERIALIZED (
    SELECT dg.*, {sum_cols}, coalesce(l.s, {empty}) AS latency_sketch, coalesce(tt.s, {empty}) AS ttft_sketch,
           s.peak AS peak_minute_requests
    FROM dg JOIN ({sums_by('dgid', 'h JOIN gd USING (gid)')}) s USING (dgid)
    LEFT JOIN ({maps("dgid", "dl")}) l USING (dgid)
    LEFT JOIN ({maps("dgid", "dt")}) tt USING (dgid)
), ins_daily AS (
    INSERT INTO analytics_dailyrollup (account_id, day, {dims}, {measures})
    SELECT %(account)s, day, {", ".join(_out(d) for d in DIMS)}, {measures} FROM d
), du AS MATERIALIZED (
    SELECT gd.dgid, bg.user_id, count(*) AS requests, coalesce(sum(bg.cost_usd), 0) AS cost_usd
    FROM bg JOIN gd USING (gid) WHERE bg.user_id <> '' GROUP BY gd.dgid, bg.user_id
), ins_users AS (
    INSERT INTO analytics_dailyuser (account_id, day, user_id, {dims}, requests, cost_usd)
    SELECT %(account)s, dg.day, du.user_id, {", ".join(_out(d, "dg.") for d in DIMS)}, du.requests, du.cost_usd
    FROM du JOIN dg USING (dgid)
), {slices}
INSERT INTO analytics_dailytotal (account_id, day, {measures}, active_users)
SELECT %(account)s, s.day, {sum_cols}, coalesce(l.s, {empty}), coalesce(tt.s, {empty}), p.peak, coalesce(u.n, 0)
FROM ({sums_by('day', 'd')}) s
LEFT JOIN ({maps("day", "(SELECT day, k, sum(c) AS c FROM dl JOIN dg USING (dgid) GROUP BY day, k)")}) l USING (day)
LEFT JOIN ({maps("day", "(SELECT day, k, sum(c) AS c FROM dt JOIN dg USING (dgid) GROUP BY day, k)")}) tt USING (day)
JOIN (SELECT day, max(peak) AS peak FROM hour_minutes GROUP BY day) p USING (day)
LEFT JOIN (SELECT day, count(*) AS n FROM (SELECT DISTINCT dg.day, du.user_id FROM du JOIN dg USING (dgid)) x
           GROUP BY day) u USING (day)
"""
