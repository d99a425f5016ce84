"""Rollups survive a worker killed mid-run: each pass (up to 500 claimed hours) is rolled up
in one transaction under the account's advisory lock, so a SIGKILL rolls back the pass in
flight and leaves its hours dirty; the next worker (on another host, here another process) finishes
them, and every hour's count equals the raw rows, none counted twice."""
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from analytics.models import HourlyRollup
from traces.models import DirtyBucket
from traces.services import trace_ingest_batch

ROOT = Path(__file__).resolve().parents[2]
ROWS = 150_000
pytestmark = pytest.mark.django_db(transaction=True)


def raw_hours(account):
    """Independent: requests per UTC hour straight from the trace table."""
    with connection.cursor() as cur:
        cur.execute("SELECT date_trunc('hour', executed_at), count(*) FROM traces_trace WHERE account_id = %s "
                    "GROUP BY 1", [account.pk])
        return {hour: n for hour, n in cur.fetchall()}


def rolled_hours(account):
    return {row["hour_start"]: row["n"] for row in HourlyRollup.objects.for_account(account)
            .values("hour_start").annotate(n=Sum("requests"))}


def test_a_worker_killed_mid_rollup_leaves_nothing_half_counted(make_account, tmp_path):
    account = make_account("rolls")  # UTC: local hours are UTC hours
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=40)
    result = trace_ingest_batch(account, [{"request_id": "seed", "executed_at": start.isoformat(), "model": "m",
                                           "status": "success", "response_time_ms": 10}])
    assert not result.errors
    with connection.cursor() as cur:  # many more rows over ~800 hours, marked dirty as ingest would
        cur.execute("INSERT INTO traces_trace (account_id, request_id, executed_at, received_at, model_id, model_type, "
                    "provider, source_type, source, module, feature, prompt, prompt_version, user_id, session_id, "
                    "status, error_type, response_time_ms, input_tokens, output_tokens, input, output) "
                    "SELECT account_id, 'bulk-' || g, executed_at + g * interval '19 seconds', received_at, model_id, "
                    "model_type, provider, source_type, source, module, feature, prompt, prompt_version, user_id, "
                    "session_id, status, error_type, response_time_ms + g %% 500, 1, 1, '', '' "
                    "FROM traces_trace, generate_series(1, %s) g WHERE account_id = %s AND request_id = 'seed'",
                    [ROWS, account.pk])
        cur.execute("INSERT INTO traces_dirtybucket (account_id, hour_start, marked_at) "
                    "SELECT DISTINCT account_id, date_trunc('hour', executed_at), now() FROM traces_trace "
                    "WHERE account_id = %s ON CONFLICT DO NOTHING", [account.pk])
    expected = raw_hours(account)
    assert sum(expected.values()) == ROWS + 1 and DirtyBucket.objects.for_account(account).count() == len(expected)

    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                                          f"/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": "test", "DJANGO_SETTINGS_MODULE": "config.settings",
           "ROLLUP_INTERVAL_SECONDS": "1"}
    procs = []

    def start(name, *args):
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel", "WARNING"],
                                cwd=ROOT, env=env, start_new_session=True,
                                stdout=open(tmp_path / f"{name}.log", "w"), stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        start("beat", "beat", "--schedule", str(tmp_path / "beat-schedule"))
        first = start("first", "worker", "-Q", "rollups", "--pool", "solo", "--hostname", "first@%h")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not HourlyRollup.objects.for_account(account).exists():
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        left = DirtyBucket.objects.for_account(account).count()
        assert 0 < left < len(expected), "the kill did not land mid-rollup"
        partial = rolled_hours(account)
        for hour, n in partial.items():  # what was committed before the kill is whole
            assert n == expected[hour]

        start("second", "worker", "-Q", "rollups", "--pool", "solo", "--hostname", "second@%h")
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and DirtyBucket.objects.for_account(account).exists():
            time.sleep(0.2)
        assert not DirtyBucket.objects.for_account(account).exists(), (tmp_path / "second.log").read_text()
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    assert rolled_hours(account) == expected
