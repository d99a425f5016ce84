"""A5/A2: the real beat → worker → rollup path, and a timezone change rebuilding rollups."""
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

from accounts.services import Actor, account_update_settings
from analytics.models import HourlyRollup, RollupState
from analytics.rollups import rollup_process_dirty
from traces.models import DirtyBucket
from traces.services import trace_ingest_batch

ROOT = Path(__file__).resolve().parents[2]


def _items(n, start):
    return [{"request_id": f"w{i}", "executed_at": (start + timedelta(minutes=7 * i)).isoformat(), "model": "m",
             "status": "success", "response_time_ms": 10 + i} for i in range(n)]


@pytest.mark.django_db(transaction=True)
def test_beat_and_worker_roll_up_dirty_hours(make_account, tmp_path):
    account = make_account("beat", tz="Asia/Kolkata")
    trace_ingest_batch(account, _items(30, datetime.now(timezone.utc) - timedelta(hours=4)))
    assert DirtyBucket.objects.for_account(account).exists()
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                                          f"/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": "test", "ROLLUP_INTERVAL_SECONDS": "1",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                               "--loglevel", "WARNING"], cwd=ROOT, env=env, start_new_session=True)
    beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "WARNING",
                             "--schedule", str(tmp_path / "beat-schedule")], cwd=ROOT, env=env,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and DirtyBucket.objects.for_account(account).exists():
            time.sleep(0.5)
        assert not DirtyBucket.objects.for_account(account).exists(), "the worker never rolled up"
        assert sum(HourlyRollup.objects.for_account(account).values_list("requests", flat=True)) == 30
        assert RollupState.objects.for_account(account).get().as_of is not None
    finally:
        for proc in (beat, worker):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in (beat, worker):
            proc.wait(timeout=20)


def test_timezone_change_rebuilds_on_new_local_hours(make_account):
    account = make_account("tzc", tz="UTC")
    trace_ingest_batch(account, _items(40, datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)))
    while rollup_process_dirty():
        pass
    assert {h.minute for h in HourlyRollup.objects.for_account(account).values_list("hour_start", flat=True)} == {0}
    account_update_settings(account, Actor.system(), timezone="Asia/Kolkata")
    assert not HourlyRollup.objects.for_account(account).exists()  # old local hours are gone
    while rollup_process_dirty():
        pass
    rows = HourlyRollup.objects.for_account(account)
    assert {h.minute for h in rows.values_list("hour_start", flat=True)} == {30}
    assert sum(rows.values_list("requests", flat=True)) == 40
