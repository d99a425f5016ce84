"""Summary, time series and breakdown over any range, exact (A3).

A range [start, end) is split into whole local days (daily rollups), whole local hours
(hourly rollups) and at most two partial hours at the edges. Those are whole minutes
(minute totals or slices, when the selection needs no more than one sliced dimension and
the minutes are rolled up: analytics.selectors.minutes) and raw traces (aggregated by the
same SQL that builds rollups). Counts and sums are exact; percentiles merge the
sketches of every piece.
"""
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from analytics import sketch
from analytics.aggregate_sql import NULLABLE, SUM_COLUMNS, output_columns, raw_aggregate_sql
from analytics.buckets import day_bucket_sql, day_start, hour_bucket_sql, hour_ceil, hour_floor, local_day
from analytics.models import MINUTE_SLICES, SLICE_COLUMNS, SLICED, SLICES, MinuteSketches
from analytics.selectors.aggregate import Agg
from analytics.selectors.minutes import EdgeSplitter, built_from
from config.replica_reads import read_connection
from models_registry.models import Connection, Deployment, DeploymentVersion, Model

FILTERS = ("model", "deployment", "version", "connection", "provider", "model_type", "source_type", "source",
           "module", "feature", "prompt", "prompt_version")
BY_NAME = {"model": (Model, "name", "model_id"), "deployment": (Deployment, "name", "deployment_id"),
           "version": (DeploymentVersion, "version", "version_id"), "connection": (Connection, "name", "connection_id")}
BREAKDOWN_DIMENSIONS = ("model", "deployment", "version", "connection", "provider", "model_type", "source_type",
                        "source", "module", "feature", "prompt", "prompt_version")
COLUMN_OF = {name: column for name, (_, _, column) in BY_NAME.items()}
ID_FILTERS = tuple(COLUMN_OF.values())  # filter by id: model_id, deployment_id, …


@dataclass
class Selection:
    account: object
    start: datetime
    end: datetime
    filters: dict = field(default_factory=dict)
    preset: str | None = None

    def previous(self) -> "Selection":
        """The period of the same length just before, with the same filters."""
        length = self.end - self.start
        return Selection(self.account, self.start - length, self.start, dict(self.filters))


def _where(sel: Selection, prefix: str) -> tuple[str, dict]:
    clauses, params = [], {}
    for name, value in sel.filters.items():
        if name in ID_FILTERS:
            clauses.append(f"{prefix}{name} = ANY(%(f_{name})s)")
            params[f"f_{name}"] = [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]
        elif name in BY_NAME:
            model, attr, column = BY_NAME[name]
            ids = list(model.objects.for_account(sel.account).filter(**{attr: value}).values_list("id", flat=True))
            clauses.append(f"{prefix}{column} = ANY(%(f_{name})s)")
            params[f"f_{name}"] = ids or [-1]
        else:
            clauses.append(f"{prefix}{name} = %(f_{name})s")
            params[f"f_{name}"] = value
    return "".join(f" AND {c}" for c in clauses), params


def _plan(sel: Selection, daily_allowed: bool, splitter: EdgeSplitter | None = None):
    """[(source, start, end)] covering [start, end): 'raw', 'minute', 'hourly' or 'daily'.
    Without a splitter the partial hours are raw."""
    account, start, end = sel.account, sel.start, sel.end
    edge = splitter.split if splitter else lambda lo, hi: [("raw", lo, hi)] if lo < hi else []
    h0, h1 = hour_ceil(account, start), hour_floor(account, end)
    if h0 >= h1:
        return edge(start, end)
    pieces = edge(start, h0)
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
    return pieces + edge(h1, end)


PERIODS = ("hour", "day", "week", "weekhour")
HOURLY_ONLY = ("hour", "weekhour")  # need hour resolution: no daily rows


def _period_sql(sel, source, period):
    tz = sel.account.timezone  # validated IANA name
    local = {"raw": f"(t.executed_at AT TIME ZONE '{tz}')", "hourly": f"(hour_start AT TIME ZONE '{tz}')",
             "minute": f"(minute_start AT TIME ZONE '{tz}')", "daily": "day::timestamp",
             "users": "day::timestamp"}[source]
    if period == "hour":
        return {"raw": hour_bucket_sql(sel.account), "hourly": "hour_start",
                "minute": hour_bucket_sql(sel.account, "minute_start")}[source]
    if period == "day":
        return {"raw": day_bucket_sql(sel.account), "daily": "day", "users": "day"}.get(source, f"{local}::date")
    if period == "week":
        return f"date_trunc('week', {local})::date"
    # weekhour: ISO weekday (1 = Monday) × 100 + local hour, for the hour × weekday pattern
    return f"(extract(isodow FROM {local})::int * 100 + extract(hour FROM {local})::int)"


def _key_exprs(sel, source, keys):
    exprs = []
    for key in keys:
        if key in PERIODS:
            exprs.append(_period_sql(sel, source, key))
        else:
            column = COLUMN_OF.get(key, key)
            exprs.append(f"t.{column}" if source == "raw" else column)
    return exprs


SUMMABLE = [c for c in SUM_COLUMNS if c not in ("latency_min", "latency_max")]


def _check_keys(keys):
    periods = [k for k in keys if k in PERIODS]
    assert len(periods) <= 1 and all(k in PERIODS or k in BREAKDOWN_DIMENSIONS for k in keys), keys
    return periods[0] if periods else None


SKETCHES = {True: (("latency_sketch", "latency"), ("ttft_sketch", "ttft")), "latency": (("latency_sketch", "latency"),),
            False: ()}


def _collect(sel: Selection, keys=(), sketches=True, edges: EdgeSplitter | None = None) -> dict:
    """{key tuple: Agg} for the selection grouped by keys (periods and/or dimensions).
    sketches=False skips merging the percentile sketches of rollup rows (percentiles are
    then unknown) for callers that show only counts and sums; "latency" merges latency only.

    Every rollup piece (minutes, hours, days) is read by one statement for the sums and one
    for the sketches, a UNION ALL over the pieces; each raw edge by the rollups' aggregation."""
    period = _check_keys(keys)
    aggs = defaultdict(Agg)
    pieces = _plan(sel, daily_allowed=period not in HOURLY_ONLY, splitter=_edge_splitter(sel, keys, edges))
    with read_connection().cursor() as cursor:
        for _, start, end in (piece for piece in pieces if piece[0] == "raw"):
            where, params = _where(sel, "t.")
            bucket = _period_sql(sel, "raw", period) if period else "'all'::text"
            # Only the keys' columns: the filters apply to the rows, not the groups.
            dims = tuple(COLUMN_OF.get(k, k) for k in keys if k not in PERIODS)
            sql = raw_aggregate_sql(bucket, where, dims=dims, minutes=False,
                                    sketches=tuple(target for _, target in SKETCHES[sketches]))
            cursor.execute(sql, {"account": sel.account.pk, "start": start, "end": end, **params})
            for row in cursor.fetchall():
                values = dict(zip(output_columns(dims), row))
                key = tuple(values["bucket"] if k in PERIODS else values[COLUMN_OF.get(k, k)] for k in keys)
                _add_row(aggs[key], values, sketches)
        rollups = [piece for piece in pieces if piece[0] != "raw"]
        # Hourly totals and slices keep each day's running sketches (RunningSketches).
        running = (_totals_suffice(sel, keys) or bool(_slice_of(sel, keys))) and period not in HOURLY_ONLY
        if _totals_suffice(sel, keys):
            # A row per day: its jsonb sketches merge faster here than in SQL.
            in_rows = ("daily",) if running else ("daily", "hourly")
            _collect_rows(cursor, sel, keys, sketches, [p for p in rollups if p[0] in in_rows], aggs)
            rollups = [p for p in rollups if p[0] not in in_rows]
        if rollups:
            _collect_union(cursor, sel, keys, sketches, rollups, aggs, running)
    return aggs


def _collect_rows(cursor, sel, keys, sketches, pieces, aggs):
    """The rows of rollup pieces in one statement, merged into aggs here."""
    if not pieces:
        return
    columns = (*SUMMABLE, "latency_min", "latency_max", "peak_minute_requests",
               *(name for name, _ in SKETCHES[sketches]))
    parts, params = [], {}
    for i, (source, start, end) in enumerate(pieces):
        table, scope, p = _rollup_scope(sel, source, start, end, keys, tag=f"_{i}")
        params.update(p)
        exprs = _key_exprs(sel, source, keys) or ["'all'::text"]
        parts.append(f"SELECT {', '.join(exprs)}, {', '.join(columns)} FROM {table} WHERE {scope}")
    cursor.execute(" UNION ALL ".join(parts), params)
    n = max(len(keys), 1)
    for row in cursor.fetchall():
        _add_row(aggs[tuple(row[:len(keys)])], dict(zip(columns, row[n:])), sketches)


def _collect_union(cursor, sel, keys, sketches, pieces, aggs, running=False):
    """Rollup pieces (minutes, hours, days) summed by one statement, their sketches merged
    by another: a UNION ALL over the pieces each. running: the sketches of hourly pieces
    come from the running sketches of each day (two rows per value and day)."""
    n = max(len(keys), 1)
    names = [f"k{i}" for i in range(n)]
    sums_parts, sketch_parts, params = [], [], {}
    for i, (source, start, end) in enumerate(pieces):
        table, scope, p = _rollup_scope(sel, source, start, end, keys, tag=f"_{i}")
        params.update(p)
        exprs = ", ".join(f"{e} AS {k}" for e, k in zip(_key_exprs(sel, source, keys) or ["'all'::text"], names))
        sums_parts.append(f"SELECT {exprs}, {', '.join(SUMMABLE)}, latency_min, latency_max FROM {table} "
                          f"WHERE {scope}")
        if running and source == "hourly":
            sketch_parts += _running_parts(sel, keys, sketches, start, end, names, params, tag=f"_{i}")
            continue
        for which, (name, target) in enumerate(SKETCHES[sketches]):
            sketch_parts.append(f"SELECT {exprs}, {which} AS which, e.b, e.v FROM {table} r, "
                                f"{_sketch_entries(source, name, target)} WHERE {scope}")
    group = ", ".join(names)
    sums = ", ".join(f"sum({c})" for c in SUMMABLE)
    cursor.execute(f"SELECT {group}, {sums}, min(latency_min), max(latency_max) FROM "
                   f"({' UNION ALL '.join(sums_parts)}) AS u GROUP BY {group}", params)
    for row in cursor.fetchall():
        values = dict(zip(SUMMABLE, row[n:]))
        values.update(latency_min=row[-2], latency_max=row[-1])
        aggs[tuple(row[:len(keys)])].add_sums(values)
    if sketch_parts:
        targets = [target for _, target in SKETCHES[sketches]]
        cursor.execute(f"SELECT {group}, which, b, sum(v) FROM ({' UNION ALL '.join(sketch_parts)}) AS u "
                       f"GROUP BY {group}, which, b", params)
        for row in cursor.fetchall():
            key = _ARRAY_KEY.get(row[n + 1]) or str(row[n + 1])
            getattr(aggs[tuple(row[:len(keys)])], targets[row[n]])[key] += int(row[n + 2])


def _sketch_entries(source, name, target) -> str:
    """A rollup row r's sketch as rows e(b, v): bucket keys as integers, from jsonb's text
    keys ('z': values <= 0) or from the minute rows' arrays."""
    if source == "minute":
        return f"unnest(r.{target}_keys, r.{target}_counts) AS e(b, v)"
    return (f"LATERAL (SELECT CASE WHEN k = 'z' THEN {MinuteSketches.ZERO_KEY} ELSE k::int END, v::bigint "
            f"FROM jsonb_each_text(r.{name}) AS j(k, v)) AS e(b, v)")


def _running_parts(sel, keys, sketches, start, end, names, params, tag):
    """SQL parts (keys, which, bucket, count) of the sketches of the whole hours [start, end)
    of totals or a slice: per local day, the running sketch of the day's last row before the
    span's end minus that of its last row before the span's start. Days whose rows a
    retention cut left as they were (they may lack running sketches) add up their hours."""
    account = sel.account
    first_built = built_from(account)
    exprs = ", ".join(f"{e} AS {k}" for e, k in zip(_key_exprs(sel, "hourly", keys) or ["'all'::text"], names))
    slice_name = _slice_of(sel, keys)
    values = ", ".join(SLICE_COLUMNS[slice_name]) if slice_name else "account_id"
    parts, day = [], local_day(account, start)
    while (day_lo := day_start(account, day)) < end:
        day_hi = day_start(account, day + timedelta(days=1))
        lo, hi = max(start, day_lo), min(end, day_hi)
        day += timedelta(days=1)
        if first_built and day_lo < first_built:
            table, scope, p = _rollup_scope(sel, "hourly", lo, hi, keys, tag=f"{tag}_{len(parts)}")
            params.update(p)
            for which, (name, target) in enumerate(SKETCHES[sketches]):
                parts.append(f"SELECT {exprs}, {which} AS which, e.b, e.v FROM {table} r, "
                             f"{_sketch_entries('hourly', name, target)} WHERE {scope}")
            continue
        for sign, until in ((1, hi), (-1, lo)):
            if until <= day_lo:
                continue
            table, scope, p = _rollup_scope(sel, "hourly", day_lo, until, keys, tag=f"{tag}_{len(parts)}")
            params.update(p)
            last = f"(SELECT DISTINCT ON ({values}) * FROM {table} WHERE {scope} ORDER BY {values}, hour_start DESC)"
            for which, (_, target) in enumerate(SKETCHES[sketches]):
                parts.append(f"SELECT {exprs}, {which} AS which, e.b AS b, {sign} * e.v AS v FROM {last} AS r, "
                             f"unnest(r.{target}_cum_keys, r.{target}_cum_counts) AS e(b, v)")
    return parts


# Sketch bucket keys read as integers, back to the sketches' text keys (analytics.sketch).
_ARRAY_KEY = {MinuteSketches.ZERO_KEY: sketch.ZERO_BUCKET}


def _add_row(agg, values, sketches=True):
    agg.add_sums(values)
    for name, target in SKETCHES[sketches]:
        sketch = values[name]
        # Django leaves jsonb undecoded on raw cursors.
        sketch = json.loads(sketch) if isinstance(sketch, str) else sketch
        getattr(agg, target).update({k: int(v) for k, v in sketch.items()})


def _totals_suffice(sel, keys) -> bool:
    """No filter and no dimension: the per-account totals hold the answer in far fewer rows."""
    return not sel.filters and all(k in PERIODS for k in keys)


def _slice_of(sel, keys) -> str | None:
    """The slice (analytics.models.SLICES) whose columns are exactly those of the keys and
    filters, if any: one of model, deployment, feature, prompt, or model and feature."""
    columns = {COLUMN_OF.get(k, k) for k in (*keys, *sel.filters) if k not in PERIODS}
    return next((name for name in SLICES if set(SLICE_COLUMNS[name]) == columns), None)


def _edge_splitter(sel, keys, edges: EdgeSplitter | None = None) -> EdgeSplitter | None:
    """Whole minutes at the edges come from minute totals (no filter, no dimension) or
    minute slices (one sliced dimension); any other selection reads its edges raw. edges:
    the splitter of the call, so the dirty marks are read once per call."""
    if not (_totals_suffice(sel, keys) or _slice_of(sel, keys) in MINUTE_SLICES):
        return None
    return edges or EdgeSplitter(sel.account)


def _split_raw(splitter, spans):
    """(raw spans, minute spans) of raw spans, whole minutes taken out when a splitter is given."""
    if splitter is None:
        return spans, []
    pieces = [piece for lo, hi in spans for piece in splitter.split(lo, hi)]
    return ([(lo, hi) for source, lo, hi in pieces if source == "raw"],
            [(lo, hi) for source, lo, hi in pieces if source == "minute"])


# Each daily row's users, one row per user: user_id, user_request_count, user_cost_usd; and
# only their ids, for distinct users (a third of the unnesting).
USERS_OF_DAILY_ROWS = ("analytics_dailyrollup CROSS JOIN LATERAL unnest(user_ids, user_requests, user_cost) "
                       "AS u(user_id, user_request_count, user_cost_usd)")
USER_IDS_OF_DAILY_ROWS = "analytics_dailyrollup CROSS JOIN LATERAL unnest(user_ids) AS u(user_id)"


def _rollup_scope(sel, source, start, end, keys=(), tag=""):
    """(table, WHERE clause, parameters) of the rollup rows of a source over [start, end);
    tag names the range parameters (lo{tag}, hi{tag}) when several scopes share one query."""
    table, column = {"daily": ("analytics_dailyrollup", "day"), "hourly": ("analytics_hourlyrollup", "hour_start"),
                     "users": (USERS_OF_DAILY_ROWS, "day"), "minute": (None, "minute_start")}[source]
    sliced = ""
    if source != "users" and _totals_suffice(sel, keys):
        table = {"daily": "analytics_dailytotal", "hourly": "analytics_hourlytotal",
                 "minute": "analytics_minutetotal"}[source]
    elif source in ("daily", "hourly", "minute") and (name := _slice_of(sel, keys)):
        table = {"daily": "analytics_dailyslice", "hourly": "analytics_hourlyslice",
                 "minute": "analytics_minuteslice"}[source]
        sliced = f" AND slice = '{name}'"  # a SLICES name
    assert table, "minute rows answer only for totals and one sliced dimension"
    dated = source in ("daily", "users")
    lo = start.astimezone(sel.account.tzinfo).date() if dated else start
    hi = end.astimezone(sel.account.tzinfo).date() if dated else end
    where, params = _where(sel, "")
    params.update({"account": sel.account.pk, f"lo{tag}": lo, f"hi{tag}": hi})
    return (table, f"account_id = %(account)s AND {column} >= %(lo{tag})s AND {column} < %(hi{tag})s{sliced}{where}",
            params)


def _whole_days(sel):
    """[d0, d1): the whole local days inside the selection, as UTC instants (d0 >= d1: none)."""
    account = sel.account
    d0 = day_start(account, local_day(account, sel.start))
    if d0 < sel.start:
        d0 = day_start(account, local_day(account, sel.start) + timedelta(days=1))
    d1 = day_start(account, local_day(account, sel.end))
    return d0, d1


def _user_pieces_sql(sel, keys, extra_users="", extra_raw="", edges: EdgeSplitter | None = None):
    """SQL of (key..., user_id[, extra]) rows over the selection: whole days from the
    users of the daily rows (USERS_OF_DAILY_ROWS names their columns), the rest from raw traces. Parameters are returned alongside."""
    period = _check_keys(keys)
    d0, d1 = _whole_days(sel)
    pieces, params = [], {"account": sel.account.pk}
    spans = [(sel.start, sel.end)]
    if period not in HOURLY_ONLY and d0 < d1:
        spans = [(sel.start, d0), (d1, sel.end)]
        sliced = not extra_users and not period and _slice_of(sel, keys)
        if (not sel.filters and not keys and not extra_users) or sliced:
            # Whole days from the users' month bitmaps: a row per user and month, or per value and month.
            months, masks = _month_masks(sel.account, d0, d1)
            params.update(months=months, masks=masks)
            where, p = _where(sel, "um.")
            params.update(p)
            by_month = "JOIN unnest(%(months)s::date[], %(masks)s::int[]) AS r(month, mask) ON r.month = um.month"
            if sliced:
                key = "".join(f"nullif(um.{c}, 0), " if c in NULLABLE else f"um.{c}, "  # stored 0: none
                              for c in (COLUMN_OF.get(k, k) for k in keys))
                pieces.append(f"SELECT {key}x.user_id FROM analytics_slicemonthusers um "
                              f"{by_month} CROSS JOIN LATERAL unnest(um.user_ids, um.days) AS x(user_id, days) "
                              f"WHERE um.account_id = %(account)s AND um.slice = '{sliced}' "  # a SLICES name
                              f"AND x.days & r.mask <> 0{where}")
            else:
                pieces.append(f"SELECT um.user_id FROM analytics_usermonth um {by_month} "
                              f"WHERE um.account_id = %(account)s AND um.days & r.mask <> 0{where}")
        else:
            table, scope, p = _rollup_scope(sel, "users", d0, d1)
            table = table if extra_users else USER_IDS_OF_DAILY_ROWS
            params.update(p)
            exprs = _key_exprs(sel, "users", keys)
            pieces.append(f"SELECT {''.join(e + ', ' for e in exprs)}user_id{extra_users} "
                          f"FROM {table} WHERE {scope}")
    hour_sliced = not extra_users and _slice_of(sel, keys)
    if not extra_users and (hour_sliced or (not sel.filters and all(k in PERIODS for k in keys))):
        # The whole hours of the partial days from the users of the hourly totals (no
        # filter) or of the hourly slices (one sliced dimension), their whole minutes
        # likewise from the minute rows.
        spans, hourly = _hour_spans(sel.account, spans)
        spans, minutes = _split_raw(_edge_splitter(sel, keys, edges), spans)
        if period not in HOURLY_ONLY:
            # Whole hours as masks over each day's users and their hours (DayUserHours).
            sliced = hour_sliced or ""
            where, p = _where(sel, "d.")
            params.update(p)
            exprs = [f"d.{e}" if e in SLICED else e for e in _key_exprs(sel, "daily", keys)]
            for i, (day, mask) in enumerate(_day_hour_masks(sel.account, hourly)):
                params.update({f"dh{i}": day, f"mh{i}": mask})
                pieces.append(f"SELECT {''.join(e + ', ' for e in exprs)}x.user_id FROM analytics_dayuserhours d "
                              f"CROSS JOIN LATERAL unnest(d.user_ids, d.hours) AS x(user_id, hours) "
                              f"WHERE d.account_id = %(account)s AND d.slice = '{sliced}' AND d.day = %(dh{i})s "
                              f"AND x.hours & %(mh{i})s <> 0{where}")  # sliced: a SLICES name
            hourly = []
        for source, tag, spans_of in (("hourly", "_u", hourly), ("minute", "_m", minutes)):
            exprs = _key_exprs(sel, source, keys)
            for i, (lo, hi) in enumerate(spans_of):
                table, scope, p = _rollup_scope(sel, source, lo, hi, keys, tag=f"{tag}{i}")
                params.update(p)
                pieces.append(f"SELECT {''.join(e + ', ' for e in exprs)}u.user_id FROM {table} "
                              f"CROSS JOIN LATERAL unnest(user_ids) AS u(user_id) WHERE {scope}")
    where, p = _where(sel, "t.")
    params.update(p)
    exprs = _key_exprs(sel, "raw", keys)
    for i, (lo, hi) in enumerate(spans):
        if lo >= hi:
            continue
        params.update({f"r{i}a": lo, f"r{i}b": hi})
        pieces.append(f"SELECT {''.join(e + ', ' for e in exprs)}t.user_id{extra_raw} "
                      f"FROM traces_trace t WHERE t.account_id = %(account)s AND t.executed_at >= %(r{i}a)s "
                      f"AND t.executed_at < %(r{i}b)s AND t.user_id <> ''{where}")
    return " UNION ALL ".join(pieces) or "SELECT NULL WHERE false", params


def _hour_spans(account, spans):
    """The spans split into their whole local hours and the partial hours at their edges:
    (raw spans, hourly spans)."""
    raw, hourly = [], []
    for lo, hi in spans:
        if lo >= hi:
            continue
        h0, h1 = hour_ceil(account, lo), hour_floor(account, hi)
        if h0 >= h1:
            raw.append((lo, hi))
            continue
        raw += [(lo, h0), (h1, hi)]
        hourly.append((h0, h1))
    return raw, hourly


def _day_hour_masks(account, spans):
    """[(local day, bit mask of its hours)] covering hour-aligned spans (DayUserHours bits:
    hour i of the day counted from its start)."""
    masks = {}
    for lo, hi in spans:
        at = lo
        while at < hi:
            day = local_day(account, at)
            start = day_start(account, day)
            bit = max(0, int((at - start).total_seconds() // 3600))
            masks[day] = masks.get(day, 0) | 1 << bit
            at += timedelta(hours=1)
    return list(masks.items())


def _month_masks(account, d0, d1):
    """Local months of the whole days [d0, d1) with the bit mask of their days in it."""
    masks = {}
    day, last = local_day(account, d0), local_day(account, d1)
    while day < last:
        month = day.replace(day=1)
        masks[month] = masks.get(month, 0) | 1 << (day.day - 1)
        day += timedelta(days=1)
    return list(masks), list(masks.values())


def _daily_active_users(sel: Selection, edges: EdgeSplitter | None = None) -> dict:
    """Distinct users per local day, unfiltered: whole days from the daily totals, the
    partial days at the edges from raw traces."""
    d0, d1 = _whole_days(sel)
    spans = [(sel.start, d0), (d1, sel.end)] if d0 < d1 else [(sel.start, sel.end)]
    found = {}
    with read_connection().cursor() as cursor:
        if d0 < d1:
            cursor.execute("SELECT day, active_users FROM analytics_dailytotal WHERE account_id = %s AND day >= %s "
                           "AND day < %s", [sel.account.pk, local_day(sel.account, d0), local_day(sel.account, d1)])
            found.update({(day,): n for day, n in cursor.fetchall()})
        for lo, hi in spans:
            if lo < hi:
                # A partial day: its whole hours from the hourly totals' users, its partial hours raw.
                partial = Selection(sel.account, lo, hi)
                sql, params = _user_pieces_sql(partial, ("day",), edges=edges)
                cursor.execute(f"SELECT k0, count(*) FROM (SELECT DISTINCT k0, user_id FROM ({sql}) AS u(k0, user_id)) "
                               "AS d GROUP BY 1", params)
                found.update({(day,): n for day, n in cursor.fetchall()})
    return found


def _active_users(sel: Selection, keys=(), edges: EdgeSplitter | None = None) -> dict:
    """Exact distinct users per key tuple."""
    if not sel.filters and tuple(keys) == ("day",):
        return _daily_active_users(sel, edges)
    sql, params = _user_pieces_sql(sel, keys, edges=edges)
    cols = ", ".join(f"k{i}" for i in range(len(keys)))
    names = ", ".join([*(f"k{i}" for i in range(len(keys))), "user_id"])
    with read_connection().cursor() as cursor:
        # DISTINCT then count: a hash of (key, user) rather than a sort per key.
        cursor.execute(f"SELECT {cols + ', ' if cols else ''}count(*) FROM (SELECT DISTINCT {names} FROM ({sql}) "
                       f"AS u({names})) AS d{' GROUP BY ' + cols if cols else ''}", params)
        return {tuple(row[:-1]): row[-1] for row in cursor.fetchall()}


def _peaks(sel: Selection, keys=(), edges: EdgeSplitter | None = None) -> dict:
    """Exact busiest-minute request count per key tuple: minute maps of hourly rows summed
    across groups (or, unfiltered, the hourly totals' own peaks), plus raw minutes at the edges."""
    _check_keys(keys)
    h0, h1 = hour_ceil(sel.account, sel.start), hour_floor(sel.account, sel.end)
    pieces, params = [], {"account": sel.account.pk}
    raw_spans = [(sel.start, sel.end)]
    if h0 < h1:
        raw_spans = [(sel.start, h0), (h1, sel.end)]
        exprs = _key_exprs(sel, "hourly", keys)
        hourly_spans = [(h0, h1)]
        d0, d1 = _whole_days(sel)
        if _slice_of(sel, keys) and _check_keys(keys) not in HOURLY_ONLY and d0 < d1:
            # A daily slice's peak is its value's busiest minute of the day: one row per day
            # and value, under a negative id so it never sums with a minute of another piece.
            hourly_spans = [(h0, d0), (d1, h1)]
            table, scope, p = _rollup_scope(sel, "daily", d0, d1, keys)
            params.update(p)
            pieces.append(f"SELECT {''.join(e + ', ' for e in _key_exprs(sel, 'daily', keys))}"
                          f"-floor(extract(epoch FROM day::timestamp))::bigint, peak_minute_requests::bigint "
                          f"FROM {table} WHERE {scope}")
        for i, (lo, hi) in enumerate(hourly_spans):
            if lo >= hi:
                continue
            table, scope, p = _rollup_scope(sel, "hourly", lo, hi, keys, tag=f"_h{i}")
            params.update(p)
            if _totals_suffice(sel, keys):
                # An hourly total's peak is already its busiest minute over every group: one
                # row per hour, under a negative id so it never sums with a minute of another piece.
                pieces.append(f"SELECT {''.join(e + ', ' for e in exprs)}"
                              f"-floor(extract(epoch FROM hour_start))::bigint, peak_minute_requests::bigint "
                              f"FROM {table} WHERE {scope}")
            else:
                pieces.append(f"SELECT {''.join(e + ', ' for e in exprs)}e.k::bigint, e.v::bigint FROM {table} r, "
                              f"jsonb_each_text(r.minute_counts) AS e(k, v) WHERE {scope}")
    raw_spans, minute_spans = _split_raw(_edge_splitter(sel, keys, edges), raw_spans)
    exprs = _key_exprs(sel, "minute", keys)
    for i, (lo, hi) in enumerate(minute_spans):
        # A minute row's requests are that minute's count for its key.
        table, scope, p = _rollup_scope(sel, "minute", lo, hi, keys, tag=f"_m{i}")
        params.update(p)
        pieces.append(f"SELECT {''.join(e + ', ' for e in exprs)}floor(extract(epoch FROM minute_start) / 60)"
                      f"::bigint, requests FROM {table} WHERE {scope}")
    where, p = _where(sel, "t.")
    params.update(p)
    exprs = _key_exprs(sel, "raw", keys)
    for i, (lo, hi) in enumerate(raw_spans):
        if lo >= hi:
            continue
        params.update({f"r{i}a": lo, f"r{i}b": hi})
        pieces.append(f"SELECT {''.join(e + ', ' for e in exprs)}floor(extract(epoch FROM t.executed_at) / 60)"
                      f"::bigint, 1::bigint FROM traces_trace t WHERE t.account_id = %(account)s "
                      f"AND t.executed_at >= %(r{i}a)s AND t.executed_at < %(r{i}b)s{where}")
    cols = [f"k{i}" for i in range(len(keys))]
    group = ", ".join([*cols, "m"])
    outer = ", ".join(cols)
    sql = (f"SELECT {outer + ', ' if outer else ''}max(c) FROM (SELECT {group}, sum(n) AS c FROM "
           f"({' UNION ALL '.join(pieces)}) AS p({', '.join([*cols, 'm', 'n'])}) GROUP BY {group}) AS per_minute"
           f"{' GROUP BY ' + outer if outer else ''}")
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return {tuple(row[:-1]): int(row[-1]) for row in cursor.fetchall() if row[-1] is not None}


# When the range holds at most this many of the account's traces, percentiles come exactly
# from the raw rows (the value at rank ⌊q·(n−1)⌋, numpy's method="lower"); above it, from
# the merged sketches interpolated by rank (docs/percentiles.md). The bound is on the rows
# the exact read would scan (whatever the filters: only the account and time lead the
# index), so a busy account's week never turns a dashboard call into a pass over its traces.
EXACT_PERCENTILES_MAX = 20_000


def _exact_is_cheap(sel: Selection, requests: int, edges: EdgeSplitter | None = None) -> bool:
    if requests > EXACT_PERCENTILES_MAX:
        return False
    if not sel.filters:
        return True
    # The account's traces in the range, from the totals of its whole days and of the hours
    # around them (a row per day or hour); counting them in the traces' index read up to
    # 20,000 entries and their heap pages (100 ms on a fresh load).
    d0, d1 = _whole_days(sel)
    days = (local_day(sel.account, d0), local_day(sel.account, d1)) if d0 < d1 else (None, None)
    with read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT coalesce(sum(requests), 0) FROM analytics_dailytotal WHERE account_id = %(a)s "
            "AND day >= %(d0)s AND day < %(d1)s) + (SELECT coalesce(sum(requests), 0) FROM analytics_hourlytotal "
            "WHERE account_id = %(a)s AND hour_start >= %(h0)s AND hour_start < %(h1)s "
            "AND NOT (hour_start >= %(s0)s AND hour_start < %(s1)s))",
            {"a": sel.account.pk, "d0": days[0], "d1": days[1], "h0": hour_floor(sel.account, sel.start),
             "h1": hour_ceil(sel.account, sel.end), "s0": d0 if days[0] else sel.end, "s1": d1 if days[0] else sel.end})
        if cursor.fetchone()[0] > EXACT_PERCENTILES_MAX:
            return False
        if (edges or EdgeSplitter(sel.account)).rolled_up_before >= sel.end:
            return True
        # Traffic not rolled up yet: count it, stopping at the bound.
        cursor.execute("SELECT count(*) FROM (SELECT 1 FROM traces_trace WHERE account_id = %s AND executed_at >= %s "
                       "AND executed_at < %s LIMIT %s) AS x",
                       [sel.account.pk, sel.start, sel.end, EXACT_PERCENTILES_MAX + 1])
        return cursor.fetchone()[0] <= EXACT_PERCENTILES_MAX


PERCENTILES = {"latency": ("response_time_ms", (0.5, 0.9, 0.95, 0.99)), "ttft": ("ttft_ms", (0.5, 0.95))}


def _exact_percentiles(sel: Selection, keys=(), which=("latency", "ttft")) -> dict:
    """{key tuple: {"p50_latency_ms": …}} over the selection's raw traces, exact: the value
    at rank ⌊q·(n−1)⌋ (numpy method="lower"; float8 arithmetic, as sketch.quantile's)."""
    exprs = _key_exprs(sel, "raw", keys)
    where, params = _where(sel, "t.")
    params.update({"account": sel.account.pk, "start": sel.start, "end": sel.end})
    names = [f"k{i}" for i in range(len(exprs))]
    inner = [f"array_agg(t.{PERCENTILES[w][0]} ORDER BY t.{PERCENTILES[w][0]}) "
             f"FILTER (WHERE t.{PERCENTILES[w][0]} IS NOT NULL) AS a_{w}" for w in which]
    outer = [f"a_{w}[floor({q}::float8 * (cardinality(a_{w}) - 1))::int + 1]"
             for w in which for q in PERCENTILES[w][1]]
    group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(exprs)))}" if exprs else ""
    sql = (f"SELECT {''.join(n + ', ' for n in names)}{', '.join(outer)} FROM ("
           f"SELECT {''.join(f'{e} AS {n}, ' for e, n in zip(exprs, names))}{', '.join(inner)} FROM traces_trace t "
           f"WHERE t.account_id = %(account)s AND t.executed_at >= %(start)s AND t.executed_at < %(end)s{where}"
           f"{group}) AS s")
    columns = [f"p{round(q * 100)}_{w}_ms" for w in which for q in PERCENTILES[w][1]]
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return {tuple(row[:len(exprs)]): dict(zip(columns, row[len(exprs):])) for row in cursor.fetchall()}


def metrics_grouped(sel: Selection, keys=(), peak=False, sketches=True, users=True) -> dict:
    """{key tuple: metrics} for the selection grouped by keys; groups without requests are absent.
    sketches=False: counts and sums only (percentiles None), "latency": no TTFT percentiles;
    users=False: active_users None."""
    edges = EdgeSplitter(sel.account)  # one read of the dirty marks for every piece of the call
    aggs = _collect(sel, keys, sketches=sketches, edges=edges)
    exact = {}
    if sketches and _exact_is_cheap(sel, sum(agg.sums["requests"] for agg in aggs.values()), edges):
        exact = _exact_percentiles(sel, keys, ("latency", "ttft") if sketches is True else ("latency",))
    counted = _active_users(sel, keys, edges) if users else None
    peaks = _peaks(sel, keys, edges) if peak else {}
    out = {}
    for key, agg in aggs.items():
        metrics = agg.metrics(active_users=counted.get(key, 0) if counted is not None else None)
        metrics.update(exact.get(key, {}))
        if sketches is not True:
            unknown = ("p50_", "p90_", "p95_", "p99_") if not sketches else ("p50_ttft", "p95_ttft")
            metrics.update({k: None for k in metrics if k.startswith(unknown)})
        if peak:
            metrics["peak_rpm"] = peaks.get(key, 0)
        else:
            metrics.pop("peak_rpm")
        out[key] = metrics
    return out


def metrics_summary(sel: Selection, peak=False, sketches=True, users=True) -> dict:
    found = metrics_grouped(sel, (), peak=peak, sketches=sketches, users=users).get(())
    if found is None:
        found = Agg().metrics(active_users=0)
        if peak:
            found["peak_rpm"] = 0
        else:
            found.pop("peak_rpm")
    return found


def series_granularity(sel: Selection) -> str:
    """Hourly points for a single day, daily points for longer ranges (D1)."""
    return "hour" if sel.end - sel.start <= timedelta(days=1) else "day"


def period_label(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def metrics_timeseries(sel: Selection, granularity: str | None = None, by: str | None = None,
                       peak=False, sketches=True, users=True) -> dict:
    """Points per period (sorted; periods without requests are absent, not zero), optionally
    one series per value of a dimension."""
    period = granularity or series_granularity(sel)
    keys = (period, by) if by else (period,)
    grouped = metrics_grouped(sel, keys, peak=peak, sketches=sketches, users=users)
    if not by:
        points = [{"period": period_label(k[0]), **grouped[k]} for k in sorted(grouped)]
        return {"granularity": period, "points": points}
    labels = _labels(sel, by, [k[1] for k in grouped])
    series = defaultdict(list)
    for key in sorted(grouped, key=lambda k: k[0]):
        series[key[1]].append({"period": period_label(key[0]), **grouped[key]})
    return {"granularity": period, "by": by,
            "series": [{"key": labels.get(k, k), "points": pts} for k, pts in series.items()]}


def metrics_breakdown(sel: Selection, by: str | tuple, peak=False, sketches=True, users=True) -> list[dict]:
    keys = (by,) if isinstance(by, str) else tuple(by)
    grouped = metrics_grouped(sel, keys, peak=peak, sketches=sketches, users=users)
    labels = {k: _labels(sel, k, [key[i] for key in grouped]) for i, k in enumerate(keys)}
    rows = []
    for key, metrics in grouped.items():
        named = {k: labels[k].get(v, v) for k, v in zip(keys, key)}
        row = {"key": named[keys[0]] if len(keys) == 1 else named, **named, **metrics}
        for k, v in zip(keys, key):
            if k in BY_NAME:
                row[f"{k}_id"] = v
        rows.append(row)
    return sorted(rows, key=lambda r: -r["total_requests"])


def _labels(sel, by, keys):
    if by not in BY_NAME:
        return {}
    model, attr, _ = BY_NAME[by]
    found = dict(model.objects.for_account(sel.account).filter(pk__in=[k for k in keys if k]).values_list("id", attr))
    return {k: found.get(k, "") if k else "" for k in keys}


def selection_where(sel: Selection, prefix: str = "t.") -> tuple[str, dict]:
    """The selection's filters as SQL (' AND …') with parameters, for raw-trace readers."""
    return _where(sel, prefix)
