"""Recompute rollups from raw traces for the buckets ingestion marked dirty (A1, A2).

Claims dirty UTC hours with FOR UPDATE SKIP LOCKED, maps them to the account's local
days, and replaces every row of those days (and of their hours) from the raw traces: one
read per run of days (analytics.day_fetch), array arithmetic (analytics.day_build) and
one binary COPY per table (analytics.day_write) — all in one transaction under a
per-account advisory lock, so two workers never interleave on one account and running
twice gives the same rows.
"""
import json
from datetime import timedelta

import psycopg

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from analytics.buckets import HOUR, day_start, hour_shift_minutes, local_day
from analytics.day_build import build
from analytics.day_fetch import fetch
from analytics.day_write import write, write_months
from analytics.models import RollupState
from traces.statistics import statistics_refresh_stale

LOCK_NAMESPACE = 7302
TABLES_BY_HOUR = ("analytics_hourlyrollup", "analytics_hourlytotal", "analytics_hourlyslice")
TABLES_BY_MINUTE = ("analytics_minutetotal", "analytics_minuteslice")
TABLES_BY_DAY = ("analytics_dailyrollup", "analytics_dailytotal", "analytics_dailyslice", "analytics_dayuserhours")
TABLES_BY_MONTH = ("analytics_usermonth", "analytics_slicemonthusers")


def rollup_recompute(account, hours_utc) -> None:
    """Recompute the local days overlapping the given UTC hours (in a transaction): every
    row of those days and of their hours is replaced from raw traces, each trace read once,
    and the users' month bitmaps of those days are updated."""
    days = sorted({local_day(account, h) for h in hours_utc}
                  | {local_day(account, h + HOUR - timedelta(microseconds=1)) for h in hours_utc})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account.pk])
        # Read under the lock retention takes to move it (traces.retention): a day that
        # began before it has lost raw traces, and its rows stay as they are.
        cursor.execute("SELECT traces_deleted_before FROM accounts_account WHERE id = %s", [account.pk])
        deleted_before = cursor.fetchone()[0]
        days = [d for d in days if deleted_before is None or day_start(account, d) >= deleted_before]
        if not days:
            return
        # NOTE: the read groups a run's traces on some twenty columns. Hashing is linear in
        # the traces, where sorting them on those keys (or a nested loop per trace into the
        # feedback) is not; the hash table, holding the per-trace arrays, gets room.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")  # the one plan shape, planned once
        for first, last, run in _day_runs(days, _traces_per_day(cursor, account, days)):
            scope = {"account": account.pk, "lo": day_start(account, first),
                     "hi": day_start(account, last + timedelta(days=1))}
            for table in TABLES_BY_HOUR:
                cursor.execute(f"DELETE FROM {table} WHERE account_id = %(account)s AND hour_start >= %(lo)s "
                               "AND hour_start < %(hi)s", scope)
            for table in TABLES_BY_MINUTE:
                cursor.execute(f"DELETE FROM {table} WHERE account_id = %(account)s AND minute_start >= %(lo)s "
                               "AND minute_start < %(hi)s", scope)
            for table in TABLES_BY_DAY:
                cursor.execute(f"DELETE FROM {table} WHERE account_id = %s AND day = ANY(%s)", [account.pk, run])
            data = fetch(connection.connection, account.pk, scope["lo"], scope["hi"], hour_shift_minutes(account))
            built = build(data, account) if data.combo.size else None
            with psycopg.Cursor(connection.connection) as raw:
                if built:
                    write(raw, account.pk, built)
                write_months(raw, account.pk, first.replace(day=1), sum(1 << (d.day - 1) for d in run), built)


MAX_RUN_TRACES = 250_000  # about 200 MB in the worker at the peak of a build (0.8 kB a trace)


def _traces_per_day(cursor, account, days) -> dict:
    """The planner's estimate of traces per local day, spread evenly over the days, when
    there are several days to group (a rebuild or a backlog). Counting them exactly would
    read every trace's heap page once more; the bound only needs the order of magnitude."""
    if len(days) < 2:
        return {}
    cursor.execute("EXPLAIN (FORMAT JSON) SELECT 1 FROM traces_trace t WHERE t.account_id = %s "
                   "AND t.executed_at >= %s AND t.executed_at < %s",
                   [account.pk, day_start(account, days[0]), day_start(account, days[-1] + timedelta(days=1))])
    plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    span = (days[-1] - days[0]).days + 1
    return dict.fromkeys(days, plan[0]["Plan"]["Plan Rows"] / span)


def _day_runs(days, traces_per_day, most=None):
    """Contiguous runs of local days inside one month and of at most `most` traces (unless
    one day has more): (first, last, [days]). A run costs a few statements whatever its
    size, so runs are long, and a month's user bitmaps are rewritten once per run."""
    most = MAX_RUN_TRACES if most is None else most
    run, held = [], 0
    for day in days:
        count = traces_per_day.get(day, 0)
        if run and (day != run[-1] + timedelta(days=1) or day.month != run[-1].month or held + count > most):
            yield run[0], run[-1], run
            run, held = [], 0
        run.append(day)
        held += count
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
    if processed:
        # The traffic just rolled up has changed the tables the reads plan on (traces.statistics).
        statistics_refresh_stale()
    return processed


def rollup_rebuild_account(account) -> None:
    """Rebuild every rollup row of the account (after a timezone change)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account.pk])
        for table in (*TABLES_BY_HOUR, *TABLES_BY_MINUTE, *TABLES_BY_DAY, *TABLES_BY_MONTH):
            cursor.execute(f"DELETE FROM {table} WHERE account_id = %s", [account.pk])
        cursor.execute(
            "INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at) "
            "SELECT DISTINCT %s, date_trunc('hour', executed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now() "
            "FROM traces_trace WHERE account_id = %s ON CONFLICT (account_id, hour_start) DO NOTHING",
            [account.pk, account.pk])
