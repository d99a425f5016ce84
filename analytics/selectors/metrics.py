"""Summary, time series and breakdown over any range, exact (A3).

A range [start, end) is split into whole local days (daily rollups), whole local hours
(hourly rollups) and at most two partial hours at the edges (raw traces, aggregated by
the same SQL that builds rollups). Counts and sums are exact; percentiles merge the
sketches of every piece.
"""
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection

from analytics.aggregate_sql import OUTPUT, SUM_COLUMNS, raw_aggregate_sql
from analytics.buckets import HOUR, day_bucket_sql, day_start, hour_bucket_sql, hour_ceil, hour_floor, local_day
from analytics.selectors.aggregate import Agg
from models_registry.models import Connection, Deployment, DeploymentVersion, Model

FILTERS = ("model", "deployment", "version", "connection", "provider", "model_type", "source_type", "source",
           "module", "feature", "prompt", "prompt_version")
BY_NAME = {"model": (Model, "name", "model_id"), "deployment": (Deployment, "name", "deployment_id"),
           "version": (DeploymentVersion, "version", "version_id"), "connection": (Connection, "name", "connection_id")}
BREAKDOWN_DIMENSIONS = ("model", "deployment", "version", "connection", "provider", "model_type", "source_type",
                        "source", "module", "feature", "prompt", "prompt_version")
COLUMN_OF = {"model": "model_id", "deployment": "deployment_id", "version": "version_id",
             "connection": "connection_id"}


@dataclass
class Selection:
    account: object
    start: datetime
    end: datetime
    filters: dict = field(default_factory=dict)


def _where(sel: Selection, prefix: str) -> tuple[str, dict]:
    clauses, params = [], {}
    for name, value in sel.filters.items():
        if name in BY_NAME:
            model, attr, column = BY_NAME[name]
            ids = list(model.objects.for_account(sel.account).filter(**{attr: value}).values_list("id", flat=True))
            clauses.append(f"{prefix}{column} = ANY(%(f_{name})s)")
            params[f"f_{name}"] = ids or [-1]
        else:
            clauses.append(f"{prefix}{name} = %(f_{name})s")
            params[f"f_{name}"] = value
    return "".join(f" AND {c}" for c in clauses), params


def _plan(sel: Selection, daily_allowed: bool):
    """[(source, start, end)] covering [start, end): 'raw', 'hourly' or 'daily'."""
    account, start, end = sel.account, sel.start, sel.end
    h0, h1 = hour_ceil(account, start), hour_floor(account, end)
    if h0 >= h1:
        return [("raw", start, end)]
    pieces = []
    if start < h0:
        pieces.append(("raw", start, h0))
    d0 = day_start(account, local_day(account, h0))
    if d0 < h0:
        d0 = day_start(account, local_day(account, h0) + timedelta(days=1))
    d1 = day_start(account, local_day(account, h1))
    if daily_allowed and d0 < d1:
        if h0 < d0:
            pieces.append(("hourly", h0, d0))
        pieces.append(("daily", d0, d1))
        if d1 < h1:
            pieces.append(("hourly", d1, h1))
    else:
        pieces.append(("hourly", h0, h1))
    if h1 < end:
        pieces.append(("raw", h1, end))
    return pieces


def _key_sql(sel, source, by):
    tz = sel.account.timezone
    if by == "hour":
        return {"raw": hour_bucket_sql(sel.account), "hourly": "hour_start"}[source]
    if by == "day":
        return {"raw": day_bucket_sql(sel.account), "hourly": f"(hour_start AT TIME ZONE '{tz}')::date",
                "daily": "day"}[source]
    if by is None:
        return "'all'::text"
    column = COLUMN_OF.get(by, by)
    return f"t.{column}" if source == "raw" else column


SUMMABLE = [c for c in SUM_COLUMNS if c not in ("latency_min", "latency_max")]


def _collect(sel: Selection, by=None) -> dict:
    """{key: Agg} for the selection, keyed by period or dimension (None: one total)."""
    aggs = defaultdict(Agg)
    with connection.cursor() as cursor:
        for source, start, end in _plan(sel, daily_allowed=by != "hour"):
            key_sql = _key_sql(sel, source, by)
            if source == "raw":
                where, params = _where(sel, "t.")
                cursor.execute(raw_aggregate_sql(key_sql, where),
                               {"account": sel.account.pk, "start": start, "end": end, **params})
                for row in cursor.fetchall():
                    values = dict(zip(OUTPUT, row))
                    agg = aggs[values["bucket"]]
                    agg.add_sums(values)
                    # Django leaves jsonb undecoded on raw cursors.
                    agg.latency.update({k: int(v) for k, v in json.loads(values["latency_sketch"]).items()})
                    agg.ttft.update({k: int(v) for k, v in json.loads(values["ttft_sketch"]).items()})
                continue
            table, column = ("analytics_dailyrollup", "day") if source == "daily" else ("analytics_hourlyrollup",
                                                                                        "hour_start")
            lo = start.astimezone(sel.account.tzinfo).date() if source == "daily" else start
            hi = end.astimezone(sel.account.tzinfo).date() if source == "daily" else end
            where, params = _where(sel, "")
            params.update(account=sel.account.pk, lo=lo, hi=hi)
            scope = f"account_id = %(account)s AND {column} >= %(lo)s AND {column} < %(hi)s{where}"
            sums = ", ".join(f"sum({c})" for c in SUMMABLE)
            cursor.execute(f"SELECT {key_sql} AS key, {sums}, min(latency_min), max(latency_max), "
                           f"max(peak_minute_requests) FROM {table} WHERE {scope} GROUP BY 1", params)
            for row in cursor.fetchall():
                values = dict(zip(SUMMABLE, row[1:]))
                values.update(latency_min=row[-3], latency_max=row[-2], peak_minute_requests=row[-1])
                aggs[row[0]].add_sums(values)
            for name, target in (("latency_sketch", "latency"), ("ttft_sketch", "ttft")):
                cursor.execute(f"SELECT {key_sql} AS key, e.k, sum(e.v::bigint) FROM {table} r, "
                               f"jsonb_each_text(r.{name}) AS e(k, v) WHERE {scope} GROUP BY 1, 2", params)
                for key, bucket, count in cursor.fetchall():
                    getattr(aggs[key], target)[bucket] += int(count)
    return aggs


def _active_users(sel: Selection, by=None) -> dict:
    """Exact distinct users per key, from raw traces (index on account, executed_at)."""
    key_sql = {"hour": hour_bucket_sql(sel.account), "day": day_bucket_sql(sel.account),
               None: "'all'::text"}.get(by) or f"t.{COLUMN_OF.get(by, by)}"
    where, params = _where(sel, "t.")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key_sql}, count(DISTINCT t.user_id) FROM traces_trace t "
                       f"WHERE t.account_id = %(account)s AND t.executed_at >= %(start)s AND t.executed_at < %(end)s "
                       f"AND t.user_id <> ''{where} GROUP BY 1",
                       {"account": sel.account.pk, "start": sel.start, "end": sel.end, **params})
        return dict(cursor.fetchall())


def metrics_summary(sel: Selection) -> dict:
    agg = _collect(sel).get("all") or Agg()
    return agg.metrics(active_users=_active_users(sel).get("all", 0))


def series_granularity(sel: Selection) -> str:
    """Hourly points for a single day, daily points for longer ranges (D1)."""
    return "hour" if sel.end - sel.start <= timedelta(days=1) else "day"


def metrics_timeseries(sel: Selection, granularity: str | None = None) -> dict:
    by = granularity or series_granularity(sel)
    aggs = _collect(sel, by)
    users = _active_users(sel, by)
    points = []
    for key in sorted(aggs):  # periods without requests are absent, not zero
        at = key if by == "hour" else key.isoformat()
        points.append({"period": at, **aggs[key].metrics(active_users=users.get(key, 0))})
    return {"granularity": by, "points": points}


def metrics_breakdown(sel: Selection, by: str) -> list[dict]:
    aggs = _collect(sel, by)
    users = _active_users(sel, by)
    labels = _labels(sel, by, list(aggs))
    rows = [{"key": labels.get(k, k), by: labels.get(k, k), **agg.metrics(active_users=users.get(k, 0))}
            for k, agg in aggs.items()]
    return sorted(rows, key=lambda r: -r["total_requests"])


def _labels(sel, by, keys):
    if by not in BY_NAME:
        return {}
    model, attr, _ = BY_NAME[by]
    found = dict(model.objects.for_account(sel.account).filter(pk__in=[k for k in keys if k]).values_list("id", attr))
    return {k: found.get(k, "") if k else "" for k in keys}
