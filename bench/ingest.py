"""Ingestion benchmark: REST (and OTLP when present) against raw COPY, in one run.

    .venv/bin/python bench/ingest.py [--traces 100000] [--clients 4] [--workers 2]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mp_bench),
migrated here, so the traces table is the product's own with all its indexes. Each
measurement starts from an empty traces table. Prints traces/s and the ratio to the
COPY baseline, and appends the figures to bench/RESULTS.md.
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mp_bench")


def prepare_environment():
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    with psycopg.connect(BENCH_DB.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(DATABASE_URL=BENCH_DB, SECRET_KEY=os.environ.get("SECRET_KEY", "bench-secret"),
                      DJANGO_SETTINGS_MODULE="config.settings", INGEST_RATE_LIMIT_PER_MINUTE="0",
                      API_READ_RATE_LIMIT_PER_MINUTE="0")  # the bench reads far past a person's rate
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()


def drop_accounts(*slugs):
    """Remove bench accounts left by an earlier run, with their rows. The audit log is
    append-only in the database; it lets a transaction that names the account (as the
    product's account deletion does) take that account's events along."""
    from django.db import connection, transaction

    from accounts.models import Account

    for account in Account.objects.filter(slug__in=slugs):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('modelpulse.purge_account', %s, true)", [str(account.pk)])
            account.delete()


def make_traces(n):
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    models = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "support-llama-ft"]
    features = ["Chatbot", "Ticket Summarizer", "Answer Generation", "Email Drafting"]
    return [{
        "request_id": f"bench-{i}", "executed_at": (now - timedelta(seconds=i * 2)).isoformat(),
        "model": models[i % 4], "provider": "openai", "source_type": "workflow", "source": "bench",
        "module": "Support", "feature": features[i % 4], "prompt": f"p-{i % 20}", "prompt_version": "1",
        "user_id": f"u-{i % 500}", "session_id": f"s-{i // 5}", "status": "success" if i % 40 else "failure",
        "error_type": "" if i % 40 else "timeout", "http_status": 200 if i % 40 else 504,
        "response_time_ms": 200.0 + (i * 37) % 3000, "ttft_ms": 50.0 + i % 200, "input_tokens": 300 + i % 900,
        "output_tokens": 100 + i % 400, "cost_usd": 0.001 * (1 + i % 7), "cache_hit": i % 5 == 0,
        "input": f"How do I reset my password? (request {i})", "output": f"Go to settings and choose reset ({i}).",
        "metadata": {"region": "eu-west-1", "n": i},
    } for i in range(n)]


def truncate():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE traces_trace, traces_requestid, traces_dirtybucket")


def copy_baseline(account, items):
    """Raw psycopg COPY of the same traces straight into the traces table."""
    from django.db import connection, transaction

    from traces.partitions import partitions_ensure
    from traces.services.ingest import COLUMNS, _rows
    from traces.services.validation import convert_item, utcnow

    now = utcnow()
    with transaction.atomic():
        rows = _rows(account, [convert_item(item, now) for item in items], now)  # preparation, not timed
    truncate()
    partitions_ensure({row[2] for row in rows})  # COPY straight into the table: its months must exist
    cols = ", ".join(COLUMNS)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY traces_trace ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows) / (time.perf_counter() - started)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(workers, threads=4):
    """gunicorn as `manage.py start` runs it: `workers` processes of 4 threads each."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
                             f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
                             "--log-level", "warning"],
                            cwd=ROOT, env=os.environ.copy())
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def post_batches(port, path, key, bodies, clients, content_type):
    """Send pre-encoded bodies from `clients` threads; returns elapsed seconds."""
    queue = list(bodies)
    lock = threading.Lock()
    failures = []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            conn.request("POST", path, body=body, headers={"Authorization": f"Bearer {key}",
                                                           "Content-Type": content_type})
            response = conn.getresponse()
            response.read()
            if response.status not in (200, 207):
                failures.append(response.status)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} failed batches: {failures[:5]}")
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    prepare_environment()

    from accounts.models import Account
    from accounts.services import Actor, account_create, api_key_create
    from traces.models import Trace

    drop_accounts("bench")
    account, _, _ = account_create(slug="bench", name="Bench", owner_email="bench@bench.test")
    _, key = api_key_create(account, Actor.system(), scopes=["ingest"])
    items = make_traces(args.traces)

    copy_rate = copy_baseline(account, items)
    truncate()

    bodies = [json.dumps({"traces": items[i:i + 1000]}).encode() for i in range(0, len(items), 1000)]
    proc, port = serve(args.workers)
    try:
        elapsed = post_batches(port, "/api/v1/traces/ingest", key, bodies, args.clients, "application/json")
        stored = Trace.objects.for_account(account).count()
        assert stored == len(items), f"stored {stored} of {len(items)}"
        rest_rate = len(items) / elapsed
        otlp_rate = None
        otlp = _otlp_hook()
        if otlp is not None:
            truncate()
            spans_bodies, spans = otlp(items)
            otlp_rate = spans / post_batches(port, "/api/v1/otlp/v1/traces", key, spans_bodies, args.clients,
                                             "application/x-protobuf")
    finally:
        proc.terminate()
        proc.wait()
    truncate()

    lines = [
        f"COPY baseline     {copy_rate:10,.0f} traces/s  1.00",
        f"REST /ingest      {rest_rate:10,.0f} traces/s  {rest_rate / copy_rate:.2f} × COPY  (target ≥ 0.35)",
    ]
    if otlp_rate is not None:
        lines.append(f"OTLP /v1/traces   {otlp_rate:10,.0f} spans/s   {otlp_rate / copy_rate:.2f} × COPY, "
                     f"{otlp_rate / rest_rate:.2f} × REST  (target ≥ 0.5 × REST)")
    else:
        lines.append("OTLP /v1/traces   not measured (no OTLP endpoint in this build)")
    print("\n".join(lines))
    command = "python bench/ingest.py " + " ".join(sys.argv[1:])
    with open(ROOT / "bench" / "RESULTS.md", "a") as results:
        results.write(f"\n### ingest — {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
                      f"`{command.strip()}` — {args.traces:,} traces, {args.clients} clients, "
                      f"{args.workers} gunicorn workers, {os.cpu_count()} CPUs\n\n```\n" + "\n".join(lines) + "\n```\n")


def _otlp_hook():
    """bench/otlp_payloads.py, when present, turns the traces into OTLP protobuf bodies."""
    try:
        from bench.otlp_payloads import encode_batches
    except ImportError:
        return None
    return encode_batches


if __name__ == "__main__":
    main()
