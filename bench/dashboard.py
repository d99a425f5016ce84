"""Dashboard benchmark: rollup build rate against COPY, and metrics queries against naive SQL.

    .venv/bin/python bench/dashboard.py [--traces 1000000] [--accounts 50] [--days 90] [--big] [--workers 2]
                                        [--independent]

--big loads 10M traces. Uses its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/mp_bench_dash), migrated here and emptied first.

1. COPY N traces (spread over the accounts and days, in time order as they arrive) into
   the product's traces table: the baseline rate.
2. Build every rollup from those traces (the worker's own code path): traces/s ÷ COPY traces/s.
3. For the busiest account, time the summary and the time series for the last 24 h, 7 d,
   30 d and 90 d (ranges cut inside hours, as a user's "now" does) against a naive
   query with percentile_cont over the raw rows of the same range: the ratio of times.

Figures are printed and appended to bench/RESULTS.md.
"""
import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_bench_dash")
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "support-llama-ft", "mistral-os"]
FEATURES = ["Chatbot", "Ticket Summarizer", "Answer Generation", "Email Drafting", "Search"]


def prepare_environment():
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    with psycopg.connect(BENCH_DB.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(DATABASE_URL=BENCH_DB, SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret"),
                      DJANGO_SETTINGS_MODULE="config.settings")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    import subprocess
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()


def reset(n_accounts):
    from django.db import connection

    from accounts.models import Account
    from models_registry.models import Model

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE traces_trace, traces_requestid, traces_dirtybucket, traces_feedback, analytics_hourlyrollup, "
                       "analytics_dailyrollup, analytics_usermonth, analytics_hourlytotal, "
                       "analytics_dailytotal, analytics_dailyslice, analytics_hourlyslice, analytics_minutetotal, analytics_minuteslice, analytics_slicemonthusers, analytics_rollupstate")
    accounts = []
    for i in range(n_accounts):
        account, _ = Account.objects.get_or_create(slug=f"bench-{i}", defaults={
            "name": f"Bench {i}", "timezone": "Asia/Kolkata" if i % 2 else "America/New_York"})
        models = {}
        for name in MODELS:
            models[name] = Model.objects.get_or_create(account=account, name=name, defaults={
                "model_type": "fine_tuned" if name.endswith("-ft") else "external"})[0].pk
        accounts.append((account, models))
    return accounts


def rows(accounts, n, days, end, independent=False, seed=1):
    """Traces for the accounts in arrival (time) order, the first account 4× as busy (it
    is the one queried). As in an application, each of the 20 prompts belongs to one
    feature and calls one model, with 1 request in 10 going to a fallback model;
    independent=True draws model, feature and prompt independently instead (500
    combinations an hour: nearly every trace its own rollup row, the worst case)."""
    rng = random.Random(seed)
    weights = [4] + [1] * (len(accounts) - 1)
    span = days * 86400
    out = []
    for i in range(n):
        account, models = rng.choices(accounts, weights)[0]
        prompt = rng.randrange(20)
        if independent:
            model, feature = MODELS[i % len(MODELS)], FEATURES[rng.randrange(5)]
        else:
            primary = (prompt + prompt // 5) % len(MODELS)
            model = MODELS[(primary + 1) % len(MODELS) if rng.random() < 0.1 else primary]
            feature = FEATURES[prompt % 5]
        failed = rng.random() < 0.04
        at = end - timedelta(seconds=rng.random() * span)
        out.append((account.pk, f"b{i}", at, at, models[model], "external", "openai", None, None, None, "workflow",
                    "bench", "Support", feature, f"p-{prompt}", "1", f"u-{rng.randrange(2000)}",
                    "", "failure" if failed else "success", "timeout" if failed else "", 504 if failed else 200,
                    rng.lognormvariate(6.5, 0.7), rng.uniform(20, 300), None, None, rng.randrange(100, 2000),
                    rng.randrange(20, 800), round(rng.uniform(0, 0.02), 6), None, rng.random() < 0.2, None, None,
                    None, None, None))
    out.sort(key=lambda row: row[2])
    return out


def copy_traces(accounts, n, days, end, independent=False):
    from django.db import connection, transaction

    from traces.services.ingest import COLUMNS

    from traces.partitions import partitions_ensure

    data = rows(accounts, n, days, end, independent)  # generated before timing
    partitions_ensure({row[2] for row in data})  # COPY straight into the table: its months must exist
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY traces_trace ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
    return n / (time.perf_counter() - started)


def drain(_=None):
    from django.db import connection

    from analytics.rollups import rollup_process_dirty

    while rollup_process_dirty(limit=2000):
        pass
    connection.close()


def build_rollups(n, workers):
    """Mark every hour dirty, as ingestion does, then drain with `workers` processes — the
    worker's default concurrency is one process per CPU, and on a backlog each beat tick
    starts another drain while the last one runs."""
    import multiprocessing

    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:  # what ingestion records, in one statement
        cursor.execute("INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at) "
                       "SELECT DISTINCT account_id, date_trunc('hour', executed_at AT TIME ZONE 'UTC') "
                       "AT TIME ZONE 'UTC', now() FROM traces_trace ON CONFLICT DO NOTHING")
    connection.close()  # each forked process opens its own
    if workers == 1:
        drain()
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(drain, range(workers))
    return n / (time.perf_counter() - started)


NAIVE = """SELECT count(*), count(*) FILTER (WHERE status = 'success'), avg(response_time_ms),
  percentile_cont(ARRAY[0.5, 0.9, 0.95, 0.99]) WITHIN GROUP (ORDER BY response_time_ms),
  sum(input_tokens), sum(output_tokens), sum(cost_usd), count(DISTINCT user_id)
FROM traces_trace WHERE account_id = %s AND executed_at >= %s AND executed_at < %s"""
NAIVE_SERIES = """SELECT (executed_at AT TIME ZONE %s)::date, count(*), avg(response_time_ms),
  percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY response_time_ms), sum(cost_usd)
FROM traces_trace WHERE account_id = %s AND executed_at >= %s AND executed_at < %s GROUP BY 1"""


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)


def time_queries(account, end):
    from django.db import connection

    from analytics.selectors import Selection, metrics_summary, metrics_timeseries

    out = []
    for label, length in (("24 h", timedelta(hours=24)), ("7 d", timedelta(days=7)), ("30 d", timedelta(days=30)),
                          ("90 d", timedelta(days=90))):
        sel = Selection(account=account, start=end - length, end=end)

        def naive(sql=NAIVE, series=False):
            with connection.cursor() as cursor:
                args = [account.timezone, account.pk, sel.start, sel.end] if series else [account.pk, sel.start,
                                                                                         sel.end]
                cursor.execute(sql, args)
                cursor.fetchall()

        product, _ = best_of(lambda: metrics_summary(sel))
        baseline, _ = best_of(naive)
        series, _ = best_of(lambda: metrics_timeseries(sel, "day"))
        series_base, _ = best_of(lambda: naive(NAIVE_SERIES, True))
        out.append((label, product, baseline, series, series_base))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--big", action="store_true", help="10M traces")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="rollup worker processes")
    parser.add_argument("--independent", action="store_true",
                        help="draw model, feature and prompt independently (worst case for rollups)")
    args = parser.parse_args()
    n = 10_000_000 if args.big else args.traces
    prepare_environment()
    from django.db import connection

    accounts = reset(args.accounts)
    # "Now" a little past an hour boundary so every range cuts hours at both ends.
    end = datetime.now(timezone.utc).replace(minute=37, second=12, microsecond=0) - timedelta(hours=1)
    copy_rate = copy_traces(accounts, n, args.days, end, args.independent)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE traces_trace")
    rollup_rate = build_rollups(n, args.workers)
    with connection.cursor() as cursor:  # what autovacuum does after a bulk build
        for table in ("analytics_hourlyrollup", "analytics_dailyrollup", "analytics_usermonth",
                      "analytics_hourlytotal", "analytics_dailytotal", "analytics_dailyslice"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("SELECT count(*) FROM traces_trace WHERE account_id = %s", [accounts[0][0].pk])
        busiest = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM analytics_hourlyrollup")
        hourly_rows = cursor.fetchone()[0]
    lines = [f"COPY baseline      {copy_rate:10,.0f} traces/s  1.00",
             f"rollup build       {rollup_rate:10,.0f} traces/s  {rollup_rate / copy_rate:.2f} × COPY  (target ≥ 3), "
             f"{args.workers} worker process(es)",
             f"hourly rollup rows {hourly_rows:10,}  ({hourly_rows / n:.2f} per trace)",
             f"queried account: {busiest:,} traces over {args.days} days; best of 5, ms",
             "range   summary  naive    ratio   series   naive    ratio   (target ≤ 0.05 for 30 d and 90 d)"]
    for label, product, baseline, series, series_base in time_queries(accounts[0][0], end):
        lines.append(f"{label:<6} {product * 1000:8.1f} {baseline * 1000:8.1f} {product / baseline:7.3f}  "
                     f"{series * 1000:8.1f} {series_base * 1000:8.1f} {series / series_base:7.3f}")
    print("\n".join(lines))
    command = "python bench/dashboard.py " + " ".join(sys.argv[1:])
    with open(ROOT / "bench" / "RESULTS.md", "a") as results:
        results.write(f"\n### dashboard — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
                      f"`{command.strip()}` — {n:,} traces, {args.accounts} accounts, {args.days} days, "
                      f"{os.cpu_count()} CPUs\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
