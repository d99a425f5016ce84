"""Recompute rollups from raw traces for the buckets ingestion marked dirty (A1, A2).

Claims dirty UTC hours with FOR UPDATE SKIP LOCKED, maps them to the account's local
hours and days, recomputes those from raw with one GROUP BY each, and replaces their
rows — all in one transaction under a per-account advisory lock, so two workers never
interleave on one account and running twice gives the same rows.
"""
from collections import defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from analytics.aggregate_sql import DIMS, SUM_COLUMNS, output_columns, raw_aggregate_sql
from analytics.buckets import HOUR, day_bucket_sql, day_start, hour_bucket_sql, hour_floor, local_day
from analytics.models import RollupState

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


def rollup_recompute(account, hours_utc) -> None:
    """Recompute the local hours and days overlapping the given UTC hours (in a transaction)."""
    local_hours = set()
    for h in hours_utc:
        local_hours.add(hour_floor(account, h))
        local_hours.add(hour_floor(account, h + HOUR - timedelta(microseconds=1)))
    days = {local_day(account, h) for h in local_hours} | {local_day(account, h + HOUR - timedelta(microseconds=1))
                                                          for h in local_hours}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account.pk])
        # NOTE: the CTEs' row estimates are unknowable to the planner; a nested loop over
        # thousands of groups is quadratic, hash joins are linear.
        cursor.execute("SET LOCAL enable_nestloop = off")
        for run_start, run_end, keys in _runs(sorted(local_hours)):
            _replace(cursor, account, "analytics_hourlyrollup", "hour_start", keys, hour_bucket_sql(account),
                     run_start, run_end)
            _replace(cursor, account, "analytics_hourlytotal", "hour_start", keys, hour_bucket_sql(account),
                     run_start, run_end, dims=())
        for day in sorted(days):
            _replace(cursor, account, "analytics_dailyrollup", "day", [day], day_bucket_sql(account),
                     day_start(account, day), day_start(account, day + timedelta(days=1)))
            _replace(cursor, account, "analytics_dailytotal", "day", [day], day_bucket_sql(account),
                     day_start(account, day), day_start(account, day + timedelta(days=1)), dims=())
            _replace_users(cursor, account, day)


def _replace_users(cursor, account, day):
    """Requests per user and dimensions on one local day (GROUP BY treats NULLs as one value)."""
    dims = ", ".join(DIMS)
    cursor.execute("DELETE FROM analytics_dailyuser WHERE account_id = %s AND day = %s", [account.pk, day])
    cursor.execute(
        f"INSERT INTO analytics_dailyuser (account_id, day, user_id, {dims}, requests, cost_usd) "
        f"SELECT %(account)s, %(day)s, user_id, {dims}, count(*), coalesce(sum(cost_usd), 0) "
        f"FROM traces_trace WHERE account_id = %(account)s AND executed_at >= %(start)s AND executed_at < %(end)s "
        f"AND user_id <> '' GROUP BY user_id, {dims}",
        {"account": account.pk, "day": day, "start": day_start(account, day),
         "end": day_start(account, day + timedelta(days=1))})
    params = {"account": account.pk, "day": day, "month": day.replace(day=1), "bit": 1 << (day.day - 1)}
    cursor.execute("UPDATE analytics_dailytotal SET active_users = (SELECT count(DISTINCT user_id) "
                   "FROM analytics_dailyuser WHERE account_id = %(account)s AND day = %(day)s) "
                   "WHERE account_id = %(account)s AND day = %(day)s", params)
    cursor.execute("UPDATE analytics_usermonth SET days = days & ~%(bit)s WHERE account_id = %(account)s "
                   "AND month = %(month)s AND days & %(bit)s <> 0", params)
    cursor.execute(
        "INSERT INTO analytics_usermonth (account_id, user_id, month, days) "
        "SELECT %(account)s, user_id, %(month)s, %(bit)s FROM analytics_dailyuser "
        "WHERE account_id = %(account)s AND day = %(day)s GROUP BY user_id "
        "ON CONFLICT (account_id, month, user_id) DO UPDATE SET days = analytics_usermonth.days | EXCLUDED.days",
        params)


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
    """One pass of the rollup worker; returns the number of dirty hours processed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, account_id, hour_start FROM traces_dirtybucket ORDER BY account_id, hour_start "
            "LIMIT %s FOR UPDATE SKIP LOCKED", [limit])
        claimed = cursor.fetchall()
        if not claimed:
            return 0
        by_account = defaultdict(list)
        for _, account_id, hour in claimed:
            by_account[account_id].append(hour)
        accounts = Account.objects.in_bulk(list(by_account))
        for account_id, hours in by_account.items():
            account = accounts[account_id]
            rollup_recompute(account, hours)
            RollupState.objects.update_or_create(account=account, defaults={
                "as_of": timezone.now(), "timezone": account.timezone})
        cursor.execute("DELETE FROM traces_dirtybucket WHERE id = ANY(%s)", [[row[0] for row in claimed]])
    return len(claimed)


def rollup_rebuild_account(account) -> None:
    """Rebuild every rollup row of the account (after a timezone change)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account.pk])
        cursor.execute("DELETE FROM analytics_hourlyrollup WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_dailyrollup WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_dailyuser WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_usermonth WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_hourlytotal WHERE account_id = %s", [account.pk])
        cursor.execute("DELETE FROM analytics_dailytotal WHERE account_id = %s", [account.pk])
        cursor.execute(
            "INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at) "
            "SELECT DISTINCT %s, date_trunc('hour', executed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now() "
            "FROM traces_trace WHERE account_id = %s ON CONFLICT (account_id, hour_start) DO NOTHING",
            [account.pk, account.pk])
