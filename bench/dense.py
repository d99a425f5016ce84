"""One busy account: N traces over the last 7 days through the REST API, then every call a
person's screens make, each timed against the same call on a whole-day range in the same run.

    .venv/bin/python bench/dense.py [--traces 1000000] [--big] [--clients 4] [--workers 2] [--repeat 5]

--big loads 10M traces. Uses its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/mp_bench_dense), migrated here and emptied first.
Traffic: 4 models, 5 features, 3 modules, 3 prompts, 400 users, in time order, account
timezone Asia/Kolkata (half-hour offset).

1. REST ingest by `--clients` clients into gunicorn, the first half of the traces (the
   first million at 2M and more); rollups built by the worker's code path; idle read
   latencies; then the second half while a reader repeats the same reads: rate of the
   second part ÷ the first, read p95 during ingest ÷ idle.
2. The explorer's first page right after the bulk load (no ANALYZE), with and without
   filters, and a search by request id.
3. The rollup build of the second half, timed: traces/s ÷ COPY traces/s.
4. COPY of N/5 traces into the same table (another account): REST ÷ COPY.
5. Every metrics and screen endpoint for ranges that cut hours and days (the default
   last 7 days, 24 h, 30 d, 90 d, a range cutting days on whole hours), with no, one and
   two filters: median server time, and ratio to the same call on whole local days.

Figures are printed and appended to bench/RESULTS.md.
"""
import argparse
import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_bench_dense")

from bench.ingest import drop_accounts, post_batches, prepare_environment, serve  # noqa: E402

MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "mistral-large"]
FEATURES = ["Chatbot", "Ticket Summarizer", "Answer Generation", "Email Drafting", "Search"]
MODULES = ["Support", "Sales", "Internal"]
PROMPTS = ["answer", "summarize", "classify"]
USERS = 400
BATCH = 1000
TZ = "Asia/Kolkata"


def batch_bodies(start_index, count, end, span, seed):
    """JSON bodies of `count` traces starting at start_index, spread over [end - span, end) in
    time order (the second half of the load follows the first in time)."""
    rng = random.Random(seed)
    step = span / max(count, 1)
    t0 = end - span
    bodies = []
    for b in range(0, count, BATCH):
        items = []
        for i in range(b, min(b + BATCH, count)):
            n = start_index + i
            failed = rng.random() < 0.04
            at = t0 + (i + rng.random()) * step
            items.append({
                "request_id": f"d-{n}", "executed_at": at.isoformat(), "model": MODELS[rng.randrange(4)],
                "provider": "openai", "source_type": "workflow", "source": "app",
                "module": MODULES[rng.randrange(3)], "feature": FEATURES[rng.randrange(5)],
                "prompt": PROMPTS[rng.randrange(3)], "prompt_version": "1", "user_id": f"u-{rng.randrange(USERS)}",
                "status": "failure" if failed else "success", "error_type": "timeout" if failed else "",
                "http_status": 504 if failed else 200, "response_time_ms": round(rng.lognormvariate(6.5, 0.7), 3),
                "ttft_ms": round(rng.uniform(20, 300), 3), "input_tokens": rng.randrange(100, 2000),
                "output_tokens": rng.randrange(20, 800), "cost_usd": round(rng.uniform(0, 0.02), 6),
                "cache_hit": rng.random() < 0.2,
            })
        bodies.append(json.dumps({"traces": items}).encode())
    return bodies


def reset():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE traces_trace, traces_requestid, traces_dirtybucket, traces_feedback, analytics_hourlyrollup, "
                       "analytics_dailyrollup, analytics_usermonth, analytics_hourlytotal, analytics_dailytotal, "
                       "analytics_dailyslice, analytics_hourlyslice, analytics_minutetotal, analytics_minuteslice, analytics_slicemonthusers, analytics_rollupstate")
    drop_accounts("dense", "dense-copy")


def drain(_=None):
    from django.db import connection

    from analytics.rollups import rollup_process_dirty

    while rollup_process_dirty(limit=2000):
        pass
    connection.close()


def build_rollups(workers):
    import multiprocessing

    from django.db import connection

    connection.close()
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(drain, range(workers))
    return time.perf_counter() - started


class Reader:
    """HTTP GETs with a read key; returns server round-trip seconds."""

    def __init__(self, port, key):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.key = key

    def get(self, path, params=None):
        url = path + ("?" + urlencode(params) if params else "")
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.conn.request("GET", url, headers={"Authorization": f"Bearer {self.key}"})
                response = self.conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionError):
                # gunicorn's threads close a kept-alive connection idle for a few seconds.
                self.conn.close()
                if attempt == 2:
                    raise
                continue
            break
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {body[:300]!r}")
        return elapsed, body


LIVE_READS = [("/api/v1/metrics", {}), ("/api/v1/metrics/timeseries", {}),
              ("/api/v1/traces", {"page_size": 50}), ("/api/v1/analytics/overview", {})]


def live_reads(reader, stop=None, rounds=5):
    """Latencies of LIVE_READS repeated `rounds` times, or until `stop` is set."""
    times = []
    done = 0
    while (stop is None and done < rounds) or (stop is not None and not stop.is_set()):
        for path, params in LIVE_READS:
            times.append(reader.get(path, params)[0])
        done += 1
    return times


def p95(values):
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


ENDPOINTS = [
    ("metrics", "/api/v1/metrics", {}),
    ("timeseries", "/api/v1/metrics/timeseries", {}),
    ("breakdown model", "/api/v1/metrics/breakdown", {"by": "model"}),
    ("breakdown feature", "/api/v1/metrics/breakdown", {"by": "feature"}),
    ("overview", "/api/v1/analytics/overview", {}),
    ("performance", "/api/v1/analytics/performance", {}),
    ("models", "/api/v1/analytics/models", {"tab": "external"}),
    ("production", "/api/v1/analytics/production", {}),
    ("cohorts", "/api/v1/analytics/cohorts", {"by": "day"}),
    ("usage", "/api/v1/analytics/usage", {}),
    ("compare", "/api/v1/analytics/compare", {"dimension": "prompt", "items": ",".join(PROMPTS[:2])}),
]
FILTER_SETS = [("none", {}), ("feature", {"feature": "Chatbot"}), ("model+feature", {"model": "gpt-4o",
                                                                                       "feature": "Chatbot"})]


def ranges(now, tzinfo):
    """(label, params): ranges a person picks; 'whole days' is the baseline of the same call."""
    today = now.astimezone(tzinfo).date()
    iso = lambda d: d.isoformat()  # noqa: E731
    top = now.astimezone(tzinfo).replace(minute=0, second=0, microsecond=0).astimezone(timezone.utc)  # a local hour
    return [
        ("whole days", {"start": iso(today - timedelta(days=6)), "end": iso(today - timedelta(days=1))}),
        ("default 7 d", {}),
        ("24 h", {"start": iso(now - timedelta(hours=24)), "end": iso(now)}),
        ("whole hours, days cut", {"start": iso(top - timedelta(days=5, hours=7)), "end": iso(top - timedelta(hours=3))}),
        ("3 d 17 min cut", {"start": iso(now - timedelta(days=3, minutes=17)), "end": iso(now - timedelta(hours=2,
                                                                                                       minutes=41))}),
        ("30 d", {"start": iso(now - timedelta(days=30)), "end": iso(now)}),
        ("90 d", {"start": iso(now - timedelta(days=90)), "end": iso(now)}),
    ]


def time_screens(reader, now, tzinfo, repeat):
    """{(endpoint, filters, range): median seconds}."""
    out = {}
    for name, path, base in ENDPOINTS:
        for fname, filters in FILTER_SETS:
            for rname, rparams in ranges(now, tzinfo):
                params = {**base, **filters, **rparams}
                reader.get(path, params)  # warm
                out[(name, fname, rname)] = statistics.median(reader.get(path, params)[0] for _ in range(repeat))
    return out


def explorer_reads(reader, repeat):
    calls = [("first page", {"page_size": 50}), ("first page, feature", {"page_size": 50, "feature": "Chatbot"}),
             ("first page, model+status", {"page_size": 50, "model": "gpt-4o", "filter": "status:eq:failure"}),
             ("search request id", {"search": "d-123457"})]
    return [(label, [reader.get("/api/v1/traces", params)[0] for _ in range(repeat)]) for label, params in calls]


def copy_rate(account, count, end):
    """COPY `count` traces of the bench's shape into the same table, for another account."""
    from django.db import connection, transaction

    from models_registry.models import Model
    from traces.services.ingest import COLUMNS

    model = Model.objects.get_or_create(account=account, name="gpt-4o", defaults={"model_type": "external"})[0]
    rng = random.Random(7)
    rows = []
    for i in range(count):
        at = end - timedelta(seconds=rng.random() * 7 * 86400)
        rows.append((account.pk, f"c-{i}", at, at, model.pk, "external", "openai", None, None, None, "workflow",
                     "app", MODULES[i % 3], FEATURES[i % 5], PROMPTS[i % 3], "1", f"u-{rng.randrange(USERS)}", "",
                     "success", "", 200, rng.lognormvariate(6.5, 0.7), rng.uniform(20, 300), None, None,
                     rng.randrange(100, 2000), rng.randrange(20, 800), round(rng.uniform(0, 0.02), 6), None,
                     rng.random() < 0.2, None, None, None, None, None))
    rows.sort(key=lambda r: r[2])
    from traces.partitions import partitions_ensure

    partitions_ensure({row[2] for row in rows})  # COPY straight into the table: its months must exist
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY traces_trace ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return count / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--big", action="store_true", help="10M traces")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers and rollup processes")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reads-only", action="store_true",
                        help="time the explorer and screens on the account a previous run loaded, loading nothing")
    args = parser.parse_args()
    n = 10_000_000 if args.big else args.traces
    prepare_environment()
    if args.reads_only:
        return reads_only(args)
    from django.db import connection

    from accounts.models import Account
    from accounts.services import Actor, account_create, api_key_create

    reset()
    account, _, _ = account_create(slug="dense", name="Dense", owner_email="dense@bench.test")
    account.timezone = TZ
    account.save(update_fields=["timezone"])
    _, ingest_key = api_key_create(account, Actor.system(), scopes=["ingest"])
    _, read_key = api_key_create(account, Actor.system(), scopes=["read"])
    end = datetime.now(timezone.utc)
    first = min(n // 2, 1_000_000) if n >= 2_000_000 else n // 2
    span = timedelta(days=7)
    first_span = span * first / n
    lines = [f"account: {n:,} traces over 7 days, {TZ}, {len(MODELS)} models, {len(FEATURES)} features, "
             f"{len(MODULES)} modules, {len(PROMPTS)} prompts, {USERS} users; {args.clients} REST clients, "
             f"{args.workers} gunicorn workers × 4 threads, {os.cpu_count()} CPUs"]
    proc, port = serve(args.workers)
    try:
        bodies = batch_bodies(0, first, end - span + first_span, first_span, 1)
        rest_first = first / post_batches(port, "/api/v1/traces/ingest", ingest_key, bodies, args.clients,
                                          "application/json")
        del bodies
        reader = Reader(port, read_key)
        explorer = explorer_reads(reader, args.repeat)  # right after the bulk load, no ANALYZE
        build_first = build_rollups(args.workers)
        idle = live_reads(reader)
        bodies = batch_bodies(first, n - first, end, span - first_span, 2)
        stop = threading.Event()
        during = []
        live = threading.Thread(target=lambda: during.extend(live_reads(Reader(port, read_key), stop)))
        live.start()
        rest_second = (n - first) / post_batches(port, "/api/v1/traces/ingest", ingest_key, bodies, args.clients,
                                                 "application/json")
        stop.set()
        live.join()
        del bodies
        explorer_after = explorer_reads(reader, args.repeat)
        build_second = build_rollups(args.workers)
        copy_account = Account.objects.create(slug="dense-copy", name="Dense copy", timezone=TZ)
        copied = n // 5
        copy = copy_rate(copy_account, copied, end)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM traces_trace WHERE account_id = %s", [copy_account.pk])
            cursor.execute("DELETE FROM traces_requestid WHERE account_id = %s", [copy_account.pk])
        now = datetime.now(timezone.utc)
        screens = time_screens(reader, now, account.tzinfo, args.repeat)
    finally:
        proc.terminate()
        proc.wait()

    part = "million" if first == 1_000_000 else "half"
    build_rate = (n - first) / build_second
    lines += [
        f"REST ingest, first {part}   {rest_first:10,.0f} traces/s",
        f"REST ingest, second {part}  {rest_second:10,.0f} traces/s  {rest_second / rest_first:.2f} × first  "
        "(target ≥ 0.8)",
        f"COPY of {copied:,} into the same table {copy:10,.0f} traces/s; REST (second {part}) "
        f"{rest_second / copy:.2f} × COPY  (target ≥ 0.5)",
        f"rollup build, first {part}  {first / build_first:10,.0f} traces/s  {first / build_first / copy:.2f} × COPY",
        f"rollup build, second {part} {build_rate:10,.0f} traces/s  {build_rate / copy:.2f} × COPY  (target ≥ 3)",
        f"reads p95 idle {p95(idle) * 1000:.1f} ms, during ingest {p95(during) * 1000:.1f} ms: "
        f"{p95(during) / p95(idle):.2f} × idle  (target ≤ 1.5; {len(during)} reads)",
        "explorer, median ms (target ≤ 50)    after the first load (no ANALYZE)   after the second",
    ]
    for (label, times), (_, after) in zip(explorer, explorer_after):
        lines.append(f"  {label:<28} {statistics.median(times) * 1000:8.1f} {statistics.median(after) * 1000:12.1f}")
    lines += screen_lines(screens, now, account.tzinfo, args.repeat)
    report(lines)


def reads_only(args):
    """The read half of a run, on the account a previous run left in the bench database."""
    from accounts.models import Account
    from accounts.services import Actor, api_key_create
    from traces.models import Trace

    account = Account.objects.get(slug="dense")
    _, read_key = api_key_create(account, Actor.system(), scopes=["read"])
    n = Trace.objects.filter(account=account).count()
    lines = [f"reads only, on the account a previous run loaded: {n:,} traces, {TZ}; {args.workers} gunicorn "
             f"workers, {os.cpu_count()} CPUs",
             "explorer, median ms (target ≤ 50)"]
    proc, port = serve(args.workers)
    try:
        reader = Reader(port, read_key)
        for label, times in explorer_reads(reader, args.repeat):
            lines.append(f"  {label:<28} {statistics.median(times) * 1000:8.1f}")
        now = datetime.now(timezone.utc)
        screens = time_screens(reader, now, account.tzinfo, args.repeat)
    finally:
        proc.terminate()
        proc.wait()
    lines += screen_lines(screens, now, account.tzinfo, args.repeat)
    report(lines)


def screen_lines(screens, now, tzinfo, repeat):
    lines = []
    names = [r for r, _ in ranges(now, tzinfo)]
    lines.append(f"screens: median of {repeat}, ms (× same call on whole days); targets ≤ 50 ms and ≤ 3 ×")
    lines.append(f"{'call':<18} {'filters':<14}" + "".join(f"{r[:16]:>22}" for r in names))
    worst = 0.0
    for name, _, _ in ENDPOINTS:
        for fname, _ in FILTER_SETS:
            base = screens[(name, fname, "whole days")]
            cells = []
            for r in names:
                value = screens[(name, fname, r)]
                worst = max(worst, value / base)
                cells.append(f"{value * 1000:8.1f} ({value / base:5.2f}×)")
            lines.append(f"{name:<18} {fname:<14}" + "".join(f"{c:>22}" for c in cells))
    slowest = max(screens.values())
    lines.append(f"worst ratio {worst:.2f} ×, slowest call {slowest * 1000:.1f} ms")
    return lines


def report(lines):
    print("\n".join(lines))
    command = "python bench/dense.py " + " ".join(sys.argv[1:])
    with open(ROOT / "bench" / "RESULTS.md", "a") as results:
        results.write(f"\n### dense — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n\n`{command.strip()}`\n\n"
                      "```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
