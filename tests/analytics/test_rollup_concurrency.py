"""Two rollup workers at once give the same rows as one (A1): SKIP LOCKED claims and the
per-account advisory lock keep them from interleaving on an account."""
import threading
from datetime import datetime, timezone

import pytest
from django.db import connection

from analytics.models import DailyRollup, DailyUser, HourlyRollup
from analytics.rollups import rollup_process_dirty, rollup_rebuild_account
from tests.analytics.test_metrics_exact import generate

COLUMNS = ("model_id", "feature", "prompt", "requests", "failures", "input_tokens", "cost_usd", "latency_sketch",
           "peak_minute_requests")


def snapshot(account):
    hourly = sorted(map(repr, HourlyRollup.objects.for_account(account)
                        .values_list("hour_start", "minute_counts", *COLUMNS)))
    daily = sorted(map(repr, DailyRollup.objects.for_account(account).values_list("day", *COLUMNS)))
    users = sorted(DailyUser.objects.for_account(account).values_list("day", "user_id", "feature", "requests"))
    return hourly, daily, users


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_workers_give_the_rows_of_one(make_account):
    account = make_account("twice", tz="Asia/Kolkata")
    generate(account, datetime(2026, 11, 10, 3, 10, tzinfo=timezone.utc), hours=72, n=3000, seed=7)
    while rollup_process_dirty(limit=7):
        pass
    reference = snapshot(account)
    assert reference[0] and reference[1] and reference[2]

    rollup_rebuild_account(account)
    processed, failures = [], []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            while True:
                n = rollup_process_dirty(limit=7)  # small claims so both workers get work
                if not n:
                    break
                processed.append(n)
        except Exception as exc:  # reported below: a thread's exception would be lost
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures
    assert sum(processed) >= 72
    assert snapshot(account) == reference
