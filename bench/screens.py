"""Server time of every analytics screen on the demo traffic, against a naive raw query.

    .venv/bin/python bench/screens.py [--days 30] [--per-day 3000]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mp_bench_screens),
loads the demo traffic of `manage.py start` for one Asia/Kolkata account, builds the rollups,
then times each screen's metrics-layer call (best of 5) for the last 7 and 30 days, next to a
naive summary (count, percentile_cont, sums, distinct users) over the raw rows of the same
range, and prints the ratio. Figures are appended to bench/RESULTS.md.
"""
import argparse
import os
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_bench_screens")

from bench.dashboard import NAIVE, best_of, prepare_environment  # noqa: E402
from bench.ingest import drop_accounts  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=3000)
    args = parser.parse_args()
    prepare_environment()
    from django.db import connection

    from accounts.models import Account
    from analytics.rollups import rollup_process_dirty
    from analytics.screens.cohorts import cohorts
    from analytics.screens.compare import compare
    from analytics.screens.models_tab import model_analytics
    from analytics.screens.performance import performance_table
    from analytics.screens.production import overview, production
    from analytics.screens.usage import usage
    from analytics.selectors import Selection, metrics_breakdown
    from traces import demo

    with connection.cursor() as cursor:  # traces protect their models: empty the bench database first
        cursor.execute("TRUNCATE traces_trace, traces_requestid, traces_feedback, traces_dirtybucket, analytics_hourlyrollup, "
                       "analytics_dailyrollup, analytics_hourlytotal, analytics_dailytotal, analytics_dailyslice, analytics_hourlyslice, analytics_minutetotal, analytics_minuteslice, "
                       "analytics_slicemonthusers, analytics_usermonth")
    drop_accounts("bench-screens")
    account = Account.objects.create(slug="bench-screens", name="Bench screens", timezone="Asia/Kolkata")
    end = datetime.now(timezone.utc)
    # Stand in for autovacuum (off on some development machines) while the demo loads, as a
    # production server would keep the planner's statistics current.
    import threading

    import psycopg
    loading = threading.Event()

    def analyze_while_loading():
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            while not loading.wait(5):
                conn.execute("ANALYZE traces_trace; ANALYZE traces_feedback")
    analyzer = threading.Thread(target=analyze_while_loading, daemon=True)
    analyzer.start()
    demo.generate(account, days=args.days, per_day=args.per_day, end=end)
    loading.set()
    analyzer.join()
    while rollup_process_dirty(limit=2000):
        pass
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM traces_trace WHERE account_id = %s", [account.pk])
        traces = cursor.fetchone()[0]
        cursor.execute("SELECT prompt FROM traces_trace WHERE account_id = %s GROUP BY 1 ORDER BY count(*) DESC "
                       "LIMIT 2", [account.pk])
        prompts = [r[0] for r in cursor.fetchall()]

    screens = {
        "overview": overview,
        "performance": performance_table,
        "models (fine-tuned)": lambda sel: model_analytics(sel, "fine_tuned"),
        "models (external)": lambda sel: model_analytics(sel, "external"),
        "production": production,
        "compare (2 prompts)": lambda sel: compare(sel, "prompt", prompts),
        "cohorts (users)": lambda sel: cohorts(sel, "users"),
        "usage": usage,
        # What a custom dashboard's pie, bar or table widget asks of /api/v1/metrics/breakdown.
        "breakdown by model": lambda sel: metrics_breakdown(sel, "model", peak=True),
        "breakdown by prompt": lambda sel: metrics_breakdown(sel, "prompt", peak=True),
        "breakdown by deploym.": lambda sel: metrics_breakdown(sel, "deployment", peak=True),
    }
    lines = [f"{traces:,} demo traces over {args.days} days; best of 5, ms; ratio = screen ÷ naive raw summary",
             "screen                   7 d     ratio    30 d     ratio"]
    naive = {}
    for days in (7, 30):
        sel = Selection(account=account, start=end - timedelta(days=days), end=end)

        def run_naive(sel=sel):
            with connection.cursor() as cursor:
                cursor.execute(NAIVE, [account.pk, sel.start, sel.end])
                cursor.fetchall()
        naive[days] = best_of(run_naive)[0]
    lines.append(f"{'naive raw summary':<22} {naive[7] * 1000:6.1f}  {1:7.2f}  {naive[30] * 1000:6.1f}  {1:7.2f}")
    for name, screen in screens.items():
        figures = []
        for days in (7, 30):
            sel = Selection(account=account, start=end - timedelta(days=days), end=end)
            figures.append(best_of(lambda: screen(sel))[0])
        lines.append(f"{name:<22} {figures[0] * 1000:6.1f}  {figures[0] / naive[7]:7.2f}  "
                     f"{figures[1] * 1000:6.1f}  {figures[1] / naive[30]:7.2f}")
    print("\n".join(lines))
    command = "python bench/screens.py " + " ".join(sys.argv[1:])
    with open(ROOT / "bench" / "RESULTS.md", "a") as results:
        results.write(f"\n### screens — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
                      f"`{command.strip()}` — {os.cpu_count()} CPUs\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
