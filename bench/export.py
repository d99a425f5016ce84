"""Export and explorer benchmark (X5, X1), in one run:

    .venv/bin/python bench/export.py [--traces 1000000] [--small 100000] [--fresh]

- export rows/s through a real Celery worker (solo pool) against a raw `COPY … TO STDOUT` of
  the same rows and columns, measured in the same run (target ≥ 0.5 ×);
- the worker's peak RSS (VmHWM) exporting --small rows and all rows, each in a fresh worker
  process (target ≤ 1.2 ×);
- a filtered explorer page at depth (page 200, 50 rows a page) through the API, in ms.

Uses its own database (BENCH_EXPORT_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/mp_bench_export), migrated here, so the trace table has all of
the product's indexes. The traces are made in SQL once and kept between runs (--fresh remakes
them). Prints the figures and appends them to bench/RESULTS.md.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_EXPORT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_bench_export")
SLUG = "bench-export"
MEDIA = Path(tempfile.mkdtemp(prefix="mp-bench-export-"))


def prepare_environment():
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    with psycopg.connect(BENCH_DB.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(DATABASE_URL=BENCH_DB, SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret"),
                      DJANGO_SETTINGS_MODULE="config.settings", MEDIA_ROOT=str(MEDIA),
                      INGEST_RATE_LIMIT_PER_MINUTE="0", EXPORT_MAX_ACTIVE_PER_CREATOR="10",
                      ALLOWED_HOSTS="localhost,127.0.0.1,testserver")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()


def populate(n: int, fresh: bool):
    """n traces over the last 30 days: two hosted models (versions) and an external one, text of
    a few hundred characters, failures, several sources. Made in SQL, 100k rows a statement."""
    from django.db import connection

    from accounts.models import Account
    from accounts.services import account_create
    from bench.ingest import drop_accounts
    from models_registry.models import Connection, Deployment, DeploymentVersion, Model
    from traces.models import Trace

    account = Account.objects.filter(slug=SLUG).first()
    if account is not None and not fresh and Trace.objects.for_account(account).count() == n:
        return account
    if account is not None:
        with connection.cursor() as cur:
            cur.execute("DELETE FROM traces_exportjob WHERE account_id = %s", [account.pk])
            cur.execute("DELETE FROM traces_trace WHERE account_id = %s", [account.pk])
            cur.execute("DELETE FROM traces_requestid WHERE account_id = %s", [account.pk])
        drop_accounts(SLUG)
    account, _, _ = account_create(slug=SLUG, name="Bench export", owner_email="bench@export.test")
    now = datetime.now(timezone.utc)
    llama = Model.objects.create(account=account, name="support-llama-ft", model_type="fine_tuned",
                                 base_model="llama-3.1-8b")
    mistral = Model.objects.create(account=account, name="mistral-7b", model_type="open_source",
                                   base_model="mistral-7b")
    gpt = Model.objects.create(account=account, name="gpt-4o", model_type="external", provider="openai")
    dep = Deployment.objects.create(account=account, model=llama, name="support-prod", deployed_at=now - timedelta(days=60))
    dep2 = Deployment.objects.create(account=account, model=mistral, name="mistral-chat", deployed_at=now - timedelta(days=60))
    v1 = DeploymentVersion.objects.create(account=account, deployment=dep, version="v1")
    v2 = DeploymentVersion.objects.create(account=account, deployment=dep, version="v2")
    v3 = DeploymentVersion.objects.create(account=account, deployment=dep2, version="v1")
    conn = Connection.objects.create(account=account, name="openai-prod", provider="openai")
    from traces.partitions import months_between, partitions_ensure

    partitions_ensure(months_between(now - timedelta(days=31), now))  # the rows' months must exist
    started = time.perf_counter()
    step = 100_000
    with connection.cursor() as cur:
        for lo in range(0, n, step):
            cur.execute("""
                INSERT INTO traces_trace (account_id, request_id, executed_at, received_at, model_id, model_type,
                    provider, deployment_id, version_id, connection_id, source_type, source, module, feature, prompt,
                    prompt_version, user_id, session_id, status, error_type, http_status, response_time_ms, ttft_ms,
                    input_tokens, output_tokens, cost_usd, credits, input, output, request_payload, metadata)
                SELECT %(account)s, 'bx-' || g,
                    %(now)s - (g * (30 * 86400.0 / %(n)s)) * interval '1 second', %(now)s,
                    CASE g %% 4 WHEN 3 THEN %(gpt)s WHEN 2 THEN %(mistral)s ELSE %(llama)s END,
                    CASE g %% 4 WHEN 3 THEN 'external' WHEN 2 THEN 'open_source' ELSE 'fine_tuned' END,
                    CASE g %% 4 WHEN 3 THEN 'openai' ELSE '' END,
                    CASE g %% 4 WHEN 3 THEN NULL WHEN 2 THEN %(dep2)s ELSE %(dep)s END,
                    CASE g %% 4 WHEN 3 THEN NULL WHEN 2 THEN %(v3)s ELSE CASE WHEN g %% 8 < 4 THEN %(v1)s ELSE %(v2)s END END,
                    CASE g %% 4 WHEN 3 THEN %(conn)s END,
                    (ARRAY['workflow', 'prompt', 'api_key', 'agent'])[1 + g %% 4],
                    (ARRAY['ticket-triage', 'refund-bot', 'crm-sync', 'nightly-eval', 'support-answer'])[1 + g %% 5],
                    'Support', (ARRAY['Chatbot', 'Summarizer', 'Drafting'])[1 + g %% 3], 'p-' || g %% 20, '3',
                    'user-' || g %% 5000, 's-' || g / 7,
                    CASE WHEN g %% 37 = 0 THEN 'failure' ELSE 'success' END,
                    CASE WHEN g %% 37 = 0 THEN 'timeout' ELSE '' END, CASE WHEN g %% 37 = 0 THEN 504 ELSE 200 END,
                    180 + (g::bigint * 7919) %% 6000 + (g %% 1000) / 1000.0, 40 + g %% 300,
                    50 + g %% 900, 20 + g %% 600, CASE g %% 4 WHEN 3 THEN 0.0012 END,
                    CASE WHEN g %% 4 <> 3 THEN 0.25 END,
                    'Customer ' || g %% 5000 || ' asks: ' || (ARRAY['how do I get a refund for order #',
                        'please summarise the ticket about printer ', 'translate the shipping notice for parcel ',
                        'draft a reminder for invoice '])[1 + g %% 4] || g || '. Context: account in good standing, '
                        || 'plan Business, region eu-west-1, previous contact ' || g %% 31 || ' days ago.',
                    CASE WHEN g %% 37 = 0 THEN '' ELSE 'Thanks for reaching out. ' || (ARRAY['Refunds go back to '
                        || 'the original card within 5 working days; request R-', 'The printer lost its network '
                        || 'settings after firmware 2.1; ticket ', 'Ihr Paket ist unterwegs; Sendung ',
                        'A gentle reminder that the invoice is due on Friday; reference '])[1 + g %% 4] || g
                        || ' is on its way. Anything else I can help with?' END,
                    jsonb_build_object('temperature', 0.2, 'max_tokens', 512),
                    jsonb_build_object('region', 'eu-west-1')
                FROM generate_series(%(lo)s, %(hi)s) g
            """, {"account": account.pk, "now": now, "n": n, "lo": lo + 1, "hi": min(lo + step, n),
                  "llama": llama.pk, "mistral": mistral.pk, "gpt": gpt.pk, "dep": dep.pk, "dep2": dep2.pk,
                  "v1": v1.pk, "v2": v2.pk, "v3": v3.pk, "conn": conn.pk})
            print(f"  made {min(lo + step, n):,} traces ({time.perf_counter() - started:.0f} s)", flush=True)
        cur.execute("VACUUM ANALYZE traces_trace")
    return account


def raw_copy(account, q, path) -> tuple[int, float]:
    """The baseline: one COPY of the same rows and columns, straight into a file."""
    from traces.explorer.query import JOINS, explorer_where
    from traces.exports.services import _connect
    from traces.exports.sql import COPY_OPTIONS, select_list

    where, params = explorer_where(q)
    statement = (f"COPY (SELECT {select_list('csv')} {JOINS} WHERE {where} ORDER BY t.executed_at DESC, t.id DESC) "
                 f"TO STDOUT WITH ({COPY_OPTIONS['csv']})")
    with _connect() as conn, conn.cursor() as cur, open(path, "wb", buffering=1 << 20) as out:
        cur.execute("SELECT set_config('TimeZone', %s, false)", [account.timezone])
        started = time.perf_counter()
        with cur.copy(statement, params) as copy:
            for block in copy:
                out.write(block)
        elapsed = time.perf_counter() - started
        return cur.rowcount, elapsed


def start_worker():
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                             "--loglevel", "WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
                            cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    time.sleep(4)  # imports, broker connection
    return proc


def peak_rss_mb(pid) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def export_through_worker(account, owner, filters) -> dict:
    """A fresh worker runs one export job; its wall time, rows/s and peak RSS."""
    from accounts.services import Actor
    from traces.exports.services import export_create
    from traces.models import ExportJob

    worker = start_worker()
    try:
        idle = rss_mb(worker.pid)
        job = export_create(account, Actor(user=owner), {"format": "csv", "filters": filters})
        while True:
            job.refresh_from_db()
            if job.status not in ExportJob.ACTIVE:
                break
            time.sleep(0.05)
        assert job.status == "succeeded", job.error
        peak = peak_rss_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    seconds = (job.finished_at - job.started_at).total_seconds()
    return {"rows": job.rows_written, "seconds": seconds, "rate": job.rows_written / seconds, "idle_mb": idle,
            "peak_mb": peak, "size": job.size_bytes}


def explorer_depth(account, pages: int = 200) -> dict:
    """Walk to page `pages` of a filtered listing through the API, then time that page."""
    from rest_framework.test import APIClient

    from accounts.services import Actor, api_key_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + api_key_create(account, Actor.system(), scopes=["read"])[1])
    params = {"model": "support-llama-ft", "filter": ["status:eq:success", "response_time:gt:0:1:0"],
              "page_size": 50}
    timings = {}
    client.get("/api/v1/traces", {"page_size": 1})  # the process's first request pays for imports
    for label, extra in (("filtered", {}), ("filtered + search", {"search": "refund"})):
        url, query = "/api/v1/traces", {**params, **extra}
        first = []
        for _ in range(15):
            started = time.perf_counter()
            client.get(url, query)
            first.append((time.perf_counter() - started) * 1000)
        for page in range(1, pages):
            body = client.get(url, query).json()
            url, query = body["next"], None
        runs = []
        for _ in range(15):
            started = time.perf_counter()
            response = client.get(url)
            runs.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and len(response.json()["results"]) == 50
        timings[label] = (statistics.median(first), statistics.median(runs))
    # A needle: one request ID (or a rare string) among all the account's traces.
    runs = []
    for i in range(15):
        started = time.perf_counter()
        body = client.get("/api/v1/traces", {"preset": "all_time", "search": f"bx-{123457 + i * 1001}"}).json()
        runs.append((time.perf_counter() - started) * 1000)
        assert body["results"], body
    timings["search one request ID"] = (None, statistics.median(runs))
    return timings


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--fresh", action="store_true", help="remake the traces")
    args = parser.parse_args()
    prepare_environment()
    from accounts.models import Role
    from traces.explorer.params import explorer_query
    from traces.models import Trace

    account = populate(args.traces, args.fresh)
    owner = account.memberships.get(role=Role.OWNER).user
    everything = {"preset": "all_time"}
    # The newest `small` rows: a range that starts at the small-th newest trace.
    boundary = (Trace.objects.for_account(account).order_by("-executed_at", "-id")
                .values_list("executed_at", flat=True)[args.small - 1])
    small = {"start": boundary.isoformat()}

    q = explorer_query(account, everything)
    # Best of three for the baseline and of two for the export (fresh workers): the machine is shared.
    copies = [raw_copy(account, q, MEDIA / "baseline.csv") for _ in range(3)]
    baseline_rows, baseline_s = min(copies, key=lambda c: c[1])
    baseline_size = (MEDIA / "baseline.csv").stat().st_size
    assert baseline_rows == args.traces, baseline_rows

    small_run = export_through_worker(account, owner, small)
    big_runs = [export_through_worker(account, owner, everything) for _ in range(2)]
    big_run = max(big_runs, key=lambda r: r["rate"])
    big_run["peak_mb"] = max(r["peak_mb"] for r in big_runs)
    assert big_run["rows"] == args.traces and small_run["rows"] == args.small
    depth = explorer_depth(account)
    shutil.rmtree(MEDIA, ignore_errors=True)

    baseline_rate = baseline_rows / baseline_s
    lines = [
        f"{args.traces:,} traces; CSV of {baseline_size / 1048576:,.0f} MiB",
        f"raw COPY TO STDOUT      {baseline_rate:10,.0f} rows/s  {baseline_s:6.1f} s   1.00  (best of 3)",
        f"export job (worker)     {big_run['rate']:10,.0f} rows/s  {big_run['seconds']:6.1f} s   "
        f"{big_run['rate'] / baseline_rate:.2f} × COPY  (target ≥ 0.5; best of 2, other run "
        f"{min(r['rate'] for r in big_runs) / baseline_rate:.2f} ×)",
        f"worker peak RSS         {small_run['peak_mb']:6.0f} MiB at {args.small:,} rows, "
        f"{big_run['peak_mb']:.0f} MiB at {args.traces:,}  {big_run['peak_mb'] / small_run['peak_mb']:.2f} ×  "
        f"(target ≤ 1.2; idle worker {big_run['idle_mb']:.0f} MiB)",
    ]
    for label, (first, deep) in depth.items():
        if first is None:
            lines.append(f"explorer, {label:<27} {deep:6.1f} ms (all time, page 1; API, median of 15)")
        else:
            lines.append(f"explorer page 200, {label:<18} {deep:6.1f} ms (page 1: {first:.1f} ms; API, medians of 15)")
    print("\n".join(lines))
    command = "python bench/export.py " + " ".join(sys.argv[1:])
    with open(ROOT / "bench" / "RESULTS.md", "a") as results:
        results.write(f"\n### export — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
                      f"`{command.strip()}` — {os.cpu_count()} CPUs\n\n```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
