"""Recompute rollups from raw traces for the buckets ingestion marked dirty (A1, A2).

Claims dirty UTC hours with FOR UPDATE SKIP LOCKED, maps them to the account's local
hours and days, recomputes the hours from raw traces (and the coarser rows from the
hours, analytics.merge_sql), and replaces their rows — all in one transaction under a
per-account advisory lock, so two workers never interleave on one account and running
twice gives the same rows.
"""
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from analytics.aggregate_sql import DIMS, NULLABLE, SUM_COLUMNS, output_columns, raw_aggregate_sql
from analytics.buckets import HOUR, day_bucket_sql, day_start, hour_bucket_sql, hour_floor, local_day
from analytics.merge_sql import merged_rows_sql
from analytics.models import SLICES, RollupState

LOCK_NAMESPACE = 7302
MEASURE_COLUMNS = (*SUM_COLUMNS, "latency_sketch", "ttft_sketch", "peak_minute_requests")


def _replace(cursor, account, table, key_column, key_values, bucket_sql, start, end, dims=DIMS):
    """Replace the rows of the given buckets with a fresh aggregation of raw traces;
    dims=() writes the account's totals (one row per bucket)."""
    cursor.execute(f"DELETE FROM {table} WHERE account_id = %s AND {key_column} = ANY(%s)",
                   [account.pk, list(key_values)])
    # Only hourly rows keep the per-minute map; days read the busiest minute from hours.
    extra = ("minute_counts",) if key_column == "hour_start" else ()
    columns = (*dims, *MEASURE_COLUMNS, *extra)
    output = output_columns(dims)
    cols = ", ".join(("account_id", *columns))
    select = ", ".join(["%(account)s", *[f"a.{c}" for c in columns]])
    cursor.execute(
        f"INSERT INTO {table} ({key_column}, {cols}) "
        f"SELECT a.bucket, {select} FROM ({raw_aggregate_sql(bucket_sql, dims=dims)}) "
        f"AS a({', '.join(output)}) WHERE a.bucket = ANY(%(keys)s)",
        {"account": account.pk, "start": start, "end": end, "keys": list(key_values)},
    )


def _replace_merged(cursor, account, table, key_column, keys, source, bucket_sql, where, params, dims=(),
                    minutes=False, slice_name=None, delete=True):
    """Replace the rows of the given buckets with the merge of finer rollup rows.
    minutes=True merges the minute maps, so the peak is the busiest minute of the merged
    rows; slice_name: rows of analytics_dailyslice, which keep the peak but no map."""
    if delete:
        cursor.execute(f"DELETE FROM {table} WHERE account_id = %s AND {key_column} = ANY(%s)",
                       [account.pk, list(keys)])
    merged = (*dims, *MEASURE_COLUMNS, *(("minute_counts",) if minutes else ()))
    columns = merged if not slice_name else (*dims, *MEASURE_COLUMNS)
    named = ", slice" if slice_name else ""
    cursor.execute(
        f"INSERT INTO {table} ({key_column}, account_id{named}, {', '.join(columns)}) "
        f"SELECT m.bucket, %(account)s{', %(slice)s' if slice_name else ''}, {', '.join(f'm.{c}' for c in columns)} "
        f"FROM ({merged_rows_sql(source, bucket_sql, where, dims, minutes)}) AS m(bucket, {', '.join(merged)})",
        {"account": account.pk, "slice": slice_name, **params})


def rollup_recompute(account, hours_utc) -> None:
    """Recompute the local hours and days overlapping the given UTC hours (in a transaction).

    Raw traces are read twice: once into hourly rows, once into per-user daily rows.
    Hourly totals, daily rows, daily totals and the one-dimension daily slices are merged
    from the hourly rows.
    """
    local_hours = set()
    for h in hours_utc:
        local_hours.add(hour_floor(account, h))
        local_hours.add(hour_floor(account, h + HOUR - timedelta(microseconds=1)))
    days = sorted({local_day(account, h) for h in local_hours}
                  | {local_day(account, h + HOUR - timedelta(microseconds=1)) for h in local_hours})
    day_of_hour = f"(r.hour_start AT TIME ZONE '{account.timezone}')::date"  # validated IANA name
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account.pk])
        # NOTE: the CTEs' row estimates are unknowable to the planner; a nested loop over
        # thousands of groups is quadratic, hash joins are linear.
        cursor.execute("SET LOCAL enable_nestloop = off")
        for run_start, run_end, keys in _runs(sorted(local_hours)):
            _replace(cursor, account, "analytics_hourlyrollup", "hour_start", keys, hour_bucket_sql(account),
                     run_start, run_end)
            _replace_merged(cursor, account, "analytics_hourlytotal", "hour_start", keys, "analytics_hourlyrollup",
                            "r.hour_start", "r.hour_start = ANY(%(keys)s)", {"keys": keys}, minutes=True)
        for first, last, run in _day_runs(days):
            scope = {"lo": day_start(account, first), "hi": day_start(account, last + timedelta(days=1))}
            where = "r.hour_start >= %(lo)s AND r.hour_start < %(hi)s"
            _replace_merged(cursor, account, "analytics_dailyrollup", "day", run, "analytics_hourlyrollup",
                            day_of_hour, where, scope, dims=DIMS)
            _replace_merged(cursor, account, "analytics_dailytotal", "day", run, "analytics_hourlytotal",
                            day_of_hour, where, scope)
            cursor.execute("DELETE FROM analytics_dailyslice WHERE account_id = %s AND day = ANY(%s)",
                           [account.pk, run])
            for name in SLICES:
                # From the hourly rows' minute maps, so each value's peak is its exact busiest minute.
                _replace_merged(cursor, account, "analytics_dailyslice", "day", run, "analytics_hourlyrollup",
                                day_of_hour, where, scope, dims=(name,), minutes=True, slice_name=name, delete=False)
            _replace_users(cursor, account, run, scope)
        _update_active_users(cursor, account, days)


def _replace_users(cursor, account, days, scope):
    """Requests per user and dimensions on a run of local days (GROUP BY treats NULLs as one value)."""
    dims = ", ".join(DIMS)
    cursor.execute("DELETE FROM analytics_dailyuser WHERE account_id = %s AND day = ANY(%s)", [account.pk, days])
    cursor.execute(
        f"INSERT INTO analytics_dailyuser (account_id, day, user_id, {dims}, requests, cost_usd) "
        f"SELECT %(account)s, {day_bucket_sql(account)}, user_id, {dims}, count(*), coalesce(sum(cost_usd), 0) "
        f"FROM traces_trace t WHERE account_id = %(account)s AND executed_at >= %(lo)s AND executed_at < %(hi)s "
        f"AND user_id <> '' GROUP BY 2, user_id, {dims}",
        {"account": account.pk, **scope})


def _update_active_users(cursor, account, days):
    """Distinct users of each recomputed day, and the users' month bitmaps (UserMonth, and
    per sliced value SliceUserMonth)."""
    months = {}
    for day in days:
        month = day.replace(day=1)
        months[month] = months.get(month, 0) | 1 << (day.day - 1)
    params = {"account": account.pk, "days": days, "months": list(months), "masks": list(months.values())}
    cursor.execute("UPDATE analytics_dailytotal d SET active_users = u.n FROM (SELECT day, count(DISTINCT user_id) "
                   "AS n FROM analytics_dailyuser WHERE account_id = %(account)s AND day = ANY(%(days)s) GROUP BY day) "
                   "u WHERE d.account_id = %(account)s AND d.day = u.day", params)
    for table in ("analytics_usermonth", "analytics_sliceusermonth"):
        cursor.execute(f"UPDATE {table} um SET days = um.days & ~r.mask "
                       "FROM unnest(%(months)s::date[], %(masks)s::int[]) AS r(month, mask) "
                       "WHERE um.account_id = %(account)s AND um.month = r.month AND um.days & r.mask <> 0", params)
    bits = ("date_trunc('month', day)::date AS month, bit_or(1 << (extract(day FROM day)::int - 1)) AS days "
            "FROM analytics_dailyuser WHERE account_id = %(account)s AND day = ANY(%(days)s)")
    cursor.execute(
        f"INSERT INTO analytics_usermonth (account_id, user_id, month, days) SELECT %(account)s, user_id, {bits} "
        "GROUP BY user_id, month ON CONFLICT (account_id, month, user_id) "
        "DO UPDATE SET days = analytics_usermonth.days | EXCLUDED.days", params)
    for name in SLICES:
        # The bitmap's value columns are NOT NULL (part of its unique key): no value is 0.
        value = f"coalesce({name}, 0)" if name in NULLABLE else name
        cursor.execute(
            f"INSERT INTO analytics_sliceusermonth (account_id, slice, user_id, {name}, month, days) "
            f"SELECT %(account)s, %(slice)s, user_id, {value}, {bits} GROUP BY user_id, {value}, month "
            "ON CONFLICT (account_id, month, slice, model_id, deployment_id, feature, prompt, user_id) "
            "DO UPDATE SET days = analytics_sliceusermonth.days | EXCLUDED.days", {**params, "slice": name})


def _day_runs(days, longest=31):
    """Contiguous runs of local days: (first, last, [days])."""
    run = []
    for day in days:
        if run and (day != run[-1] + timedelta(days=1) or len(run) >= longest):
            yield run[0], run[-1], run
            run = []
        run.append(day)
    if run:
        yield run[0], run[-1], run


def _runs(hours):
    """Contiguous runs of hours, so each run is one scan of the trace index."""
    run = []
    for h in hours:
        if run and (h != run[-1] + HOUR or len(run) >= 48):
            yield run[0], run[-1] + HOUR, run
            run = []
        run.append(h)
    if run:
        yield run[0], run[-1] + HOUR, run


def rollup_process_dirty(limit: int = 500) -> int:
    """One pass of the rollup worker over up to `limit` dirty hours, account by account,
    skipping accounts another worker is recomputing (their advisory lock is held) so that
    concurrent workers spread over accounts instead of queueing on one. Returns the number
    of hours processed: 0 when nothing is left that this worker can take."""
    processed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT account_id FROM traces_dirtybucket ORDER BY account_id")
        for (account_id,) in cursor.fetchall():
            if processed >= limit:
                break
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account_id])
            if not cursor.fetchone()[0]:
                continue
            cursor.execute("SELECT id, hour_start FROM traces_dirtybucket WHERE account_id = %s ORDER BY hour_start "
                           "LIMIT %s FOR UPDATE SKIP LOCKED", [account_id, limit - processed])
            claimed = cursor.fetchall()
            account = Account.objects.filter(pk=account_id).first()
            if not claimed or account is None:
                continue
            rollup_recompute(account, [hour for _, hour in claimed])
            RollupState.objects.update_or_create(account=account, defaults={
                "as_of": timezone.now(), "timezone": account.timezone})
            cursor.execute("DELETE FROM traces_dirtybucket WHERE id = ANY(%s)", [[row[0] for row in claimed]])
            processed += len(claimed)
    return processed


def rollup_rebuild_account(account) -> None:
    """Rebuild every rollup row of the account (after a timezone change)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account.pk])
        cursor.execute("DELETE FROM analytics_hourlyrollup WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_dailyrollup WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_dailyuser WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_usermonth WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_sliceusermonth WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_hourlytotal WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_dailytotal WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_dailyslice WHERE account_id = %s", [account.pk])
        cursor.execute(
            "INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at) "
            "SELECT DISTINCT %s, date_trunc('hour', executed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now() "
            "FROM traces_trace WHERE account_id = %s ON CONFLICT (account_id, hour_start) DO NOTHING",
            [account.pk, account.pk])
