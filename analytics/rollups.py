"""Recompute rollups from raw traces for the buckets ingestion marked dirty (A1, A2).

Claims dirty UTC hours with FOR UPDATE SKIP LOCKED, maps them to the account's local
days, and replaces every row of those days (and of their hours) with one aggregation of
the raw traces (analytics.day_build_sql) — all in one transaction under a per-account
advisory lock, so two workers never interleave on one account and running twice gives
the same rows.
"""
from datetime import timedelta

import psycopg

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from analytics.aggregate_sql import NULLABLE
from analytics.buckets import HOUR, day_start, local_day
from analytics.day_build_sql import SLICE_NONE, SLICE_OF_GROUPING, day_build_sql
from analytics.models import SLICES, RollupState

LOCK_NAMESPACE = 7302
TABLES_BY_HOUR = ("analytics_hourlyrollup", "analytics_hourlytotal")
TABLES_BY_DAY = ("analytics_dailyrollup", "analytics_dailytotal", "analytics_dailyslice", "analytics_dailyuser")
TABLES_BY_MONTH = ("analytics_usermonth", "analytics_slicemonthusers")


def rollup_recompute(account, hours_utc) -> None:
    """Recompute the local days overlapping the given UTC hours (in a transaction): every
    row of those days and of their hours is replaced from raw traces, each trace read once
    (analytics.day_build_sql), then the users' month bitmaps are updated."""
    days = sorted({local_day(account, h) for h in hours_utc}
                  | {local_day(account, h + HOUR - timedelta(microseconds=1)) for h in hours_utc})
    statement = day_build_sql(account)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account.pk])
        # Read under the lock retention takes to move it (traces.retention): a day that
        # began before it has lost raw traces, and its rows stay as they are.
        cursor.execute("SELECT traces_deleted_before FROM accounts_account WHERE id = %s", [account.pk])
        deleted_before = cursor.fetchone()[0]
        days = [d for d in days if deleted_before is None or day_start(account, d) >= deleted_before]
        if not days:
            return
        # NOTE: the CTEs' row estimates are unknowable to the planner. Hashing is linear in
        # the rows; a nested loop over thousands of groups is quadratic, and sorting tens of
        # thousands of rows on thirteen keys to merge them cost a third of the statement.
        # The hash tables get room to stay in memory.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")  # the one plan shape, planned once
        for first, last, run in _day_runs(days):
            scope = {"account": account.pk, "lo": day_start(account, first),
                     "hi": day_start(account, last + timedelta(days=1))}
            for table in TABLES_BY_HOUR:
                cursor.execute(f"DELETE FROM {table} WHERE account_id = %(account)s AND hour_start >= %(lo)s "
                               "AND hour_start < %(hi)s", scope)
            for table in TABLES_BY_DAY:
                cursor.execute(f"DELETE FROM {table} WHERE account_id = %s AND day = ANY(%s)", [account.pk, run])
            with psycopg.Cursor(connection.connection) as prepared:  # server-side binding, planned once
                prepared.execute(statement, scope, prepare=True)
        _update_user_months(cursor, account, days)


def _update_user_months(cursor, account, days):
    """The users' month bitmaps of the recomputed days: UserMonth, and per sliced value
    SliceMonthUsers (its rows of those months are rewritten: the recomputed days' bits
    cleared, the days' users from the daily user rows added)."""
    months = {}
    for day in days:
        month = day.replace(day=1)
        months[month] = months.get(month, 0) | 1 << (day.day - 1)
    params = {"account": account.pk, "days": days, "months": list(months), "masks": list(months.values())}
    day_bit = "date_trunc('month', day)::date AS month, 1 << (extract(day FROM day)::int - 1) AS bit"
    cursor.execute("UPDATE analytics_usermonth um SET days = um.days & ~r.mask "
                   "FROM unnest(%(months)s::date[], %(masks)s::int[]) AS r(month, mask) "
                   "WHERE um.account_id = %(account)s AND um.month = r.month AND um.days & r.mask <> 0", params)
    cursor.execute(
        f"INSERT INTO analytics_usermonth (account_id, user_id, month, days) SELECT %(account)s, user_id, month, "
        f"bit_or(bit) FROM (SELECT user_id, {day_bit} FROM analytics_dailyuser WHERE account_id = %(account)s "
        "AND day = ANY(%(days)s)) u GROUP BY user_id, month ON CONFLICT (account_id, month, user_id) "
        "DO UPDATE SET days = analytics_usermonth.days | EXCLUDED.days", params)
    values = ", ".join(SLICES)
    cursor.execute(f"""
WITH old AS (
    DELETE FROM analytics_slicemonthusers s WHERE s.account_id = %(account)s AND s.month = ANY(%(months)s::date[])
    RETURNING s.slice, {", ".join(f"s.{c}" for c in SLICES)}, s.month, s.user_ids, s.days
), kept AS (
    SELECT o.slice, {", ".join(f"o.{c}" for c in SLICES)}, o.month, x.user_id, x.days & ~r.mask AS days
    FROM old o JOIN unnest(%(months)s::date[], %(masks)s::int[]) AS r(month, mask) ON r.month = o.month
    CROSS JOIN LATERAL unnest(o.user_ids, o.days) AS x(user_id, days)
), fresh AS (
    -- One pass, one hash table per sliced dimension.
    SELECT CASE GROUPING({", ".join(SLICES)}) {SLICE_OF_GROUPING} END AS slice,
           {", ".join(f"coalesce({c}, {SLICE_NONE[c]})" for c in SLICES)}, month, user_id, bit_or(bit) AS days
    FROM (SELECT user_id, {", ".join(f"coalesce({c}, 0) AS {c}" if c in NULLABLE else c for c in SLICES)},
                 {day_bit} FROM analytics_dailyuser WHERE account_id = %(account)s AND day = ANY(%(days)s)) u
    GROUP BY month, user_id, GROUPING SETS ({", ".join(f"({c})" for c in SLICES)})
), merged AS (
    SELECT slice, {values}, month, user_id, bit_or(days) AS days
    FROM (SELECT * FROM kept UNION ALL SELECT * FROM fresh) x GROUP BY slice, {values}, month, user_id
)
INSERT INTO analytics_slicemonthusers (account_id, slice, {values}, month, user_ids, days)
SELECT %(account)s, slice, {values}, month, array_agg(user_id), array_agg(days)  -- in the same order
FROM merged WHERE days <> 0 GROUP BY slice, {values}, month""", params)


def _day_runs(days, longest=7):
    """Contiguous runs of local days: (first, last, [days]). Per trace, a statement's cost
    grows with its run (its hash tables outgrow the CPU caches: 24 µs a trace for a week
    of a busy account, 30 µs for two weeks), so runs are short and the statement is
    prepared once per connection instead of planned for each run."""
    run = []
    for day in days:
        if run and (day != run[-1] + timedelta(days=1) or len(run) >= longest):
            yield run[0], run[-1], run
            run = []
        run.append(day)
    if run:
        yield run[0], run[-1], run


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
        for table in (*TABLES_BY_HOUR, *TABLES_BY_DAY, *TABLES_BY_MONTH):
            cursor.execute(f"DELETE FROM {table} WHERE account_id = %s", [account.pk])
        cursor.execute(
            "INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at) "
            "SELECT DISTINCT %s, date_trunc('hour', executed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now() "
            "FROM traces_trace WHERE account_id = %s ON CONFLICT (account_id, hour_start) DO NOTHING",
            [account.pk, account.pk])
