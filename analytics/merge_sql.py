"""SQL that merges rollup rows into coarser rows: hourly totals from hourly rows, daily
rows from hourly rows, daily totals from hourly totals. Raw traces are aggregated once
(into hourly rows); everything coarser is exact arithmetic on those rows — counts and
sums add, minima and maxima combine, sketches and minute maps add their counts, and a
day's busiest minute is the busiest of its hours (a minute never spans two hours).

The account id is always an explicit parameter (%(account)s).
"""
from analytics.aggregate_sql import NULLABLE, SUM_COLUMNS

_EXTREMES = {"latency_min": "min", "latency_max": "max"}


def _map_merge(column: str) -> str:
    """{gid: merged map} of a jsonb {key: count} column over the base rows."""
    return (f"SELECT gid, jsonb_object_agg(k, c) AS merged, max(c) AS peak FROM ("
            f"SELECT gid, e.key AS k, sum(e.value::bigint) AS c FROM base, jsonb_each_text(base.{column}) AS e "
            f"GROUP BY 1, 2) x GROUP BY gid")


def merged_rows_sql(table: str, bucket_sql: str, where: str, dims=(), minutes=False) -> str:
    """Rows of (bucket, *dims, *SUM_COLUMNS, latency_sketch, ttft_sketch,
    peak_minute_requests[, minute_counts]) merging the rows of `table` that match
    `where`, one per bucket and combination of dims. With minutes=True the per-minute
    maps are merged too and the peak is the busiest merged minute (rows of different
    dimensions share minutes); otherwise the peak is the largest of the rows' peaks."""
    lead = lambda parts: "".join(f", {p}" for p in parts)  # noqa: E731 - dims may be empty
    order_dims = lead(f"coalesce(r.{d}, 0)" if d in NULLABLE else f"r.{d}" for d in dims)
    measures = (*SUM_COLUMNS, "latency_sketch", "ttft_sketch", "peak_minute_requests",
                *(("minute_counts",) if minutes else ()))
    sums = ", ".join(f"{_EXTREMES.get(c, 'sum')}({c}) AS {c}" for c in SUM_COLUMNS)
    peak = "pm.peak" if minutes else "g.peak"
    return f"""
WITH base AS MATERIALIZED (
    SELECT dense_rank() OVER (ORDER BY {bucket_sql}{order_dims}) AS gid, {bucket_sql} AS bucket
           {lead(f"r.{d}" for d in dims)}{lead(f"r.{m}" for m in measures)}
    FROM {table} r WHERE r.account_id = %(account)s AND {where}
), g AS (
    SELECT gid, min(bucket) AS bucket{lead(f"min({d}) AS {d}" for d in dims)}, {sums},
           max(peak_minute_requests) AS peak
    FROM base GROUP BY gid
), lat AS ({_map_merge("latency_sketch")}
), tt AS ({_map_merge("ttft_sketch")}
){f", pm AS ({_map_merge('minute_counts')})" if minutes else ""}
SELECT g.bucket{lead(f"g.{d}" for d in dims)}{lead(f"g.{c}" for c in SUM_COLUMNS)},
       coalesce(lat.merged, '{{}}'::jsonb), coalesce(tt.merged, '{{}}'::jsonb), coalesce({peak}, 0)
       {", coalesce(pm.merged, '{}'::jsonb)" if minutes else ""}
FROM g LEFT JOIN lat USING (gid) LEFT JOIN tt USING (gid){" LEFT JOIN pm USING (gid)" if minutes else ""}
"""
