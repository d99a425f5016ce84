"""Two rollup workers at once give the same rows as one (A1): SKIP LOCKED claims and the
per-account advisory lock keep them from interleaving on an account."""
import threading
from datetime import datetime, timezone

import pytest
from django.db import connection

from analytics.models import DailyRollup, HourlyRollup
from analytics.rollups import rollup_process_dirty, rollup_rebuild_account
from tests.analytics.test_metrics_exact import generate

COLUMNS = ("model_id", "feature", "prompt", "requests", "failures", "input_tokens", "cost_usd", "latency_sketch",
           "peak_minute_requests")


def snapshot(account):
    hourly = sorted(map(repr, HourlyRollup.objects.for_account(account)
                        .values_list("hour_start", "minute_counts", *COLUMNS)))
    daily = sorted(map(repr, DailyRollup.objects.for_account(account).values_list("day", *COLUMNS)))
    users = sorted((day, user, feature, requests) for day, feature, user_ids, user_requests in
                   DailyRollup.objects.for_account(account).values_list("day", "feature", "user_ids", "user_requests")
                   for user, requests in zip(user_ids, user_requests))
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


def test_a_worker_skips_an_account_another_worker_holds(make_account):
    """With one account's lock held elsewhere, a pass rolls up the other account and
    leaves the held account's hours for later, instead of waiting for the lock."""
    import psycopg

    from analytics.rollups import LOCK_NAMESPACE
    from traces.models import DirtyBucket

    busy, free = make_account("busy"), make_account("free")
    generate(busy, datetime(2026, 11, 10, 3, 10, tzinfo=timezone.utc), hours=5, n=200, seed=3)
    generate(free, datetime(2026, 11, 10, 3, 10, tzinfo=timezone.utc), hours=5, n=200, seed=4)
    free_hours = DirtyBucket.objects.filter(account=free).count()
    busy_hours = DirtyBucket.objects.filter(account=busy).count()
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                         user=settings["USER"], password=settings["PASSWORD"] or None, dbname=settings["NAME"],
                         autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, busy.pk])
        assert rollup_process_dirty() == free_hours
        assert rollup_process_dirty() == 0  # only the held account is left
    assert DirtyBucket.objects.filter(account=busy).count() == busy_hours
    assert HourlyRollup.objects.for_account(free).exists() and not HourlyRollup.objects.for_account(busy).exists()
    assert rollup_process_dirty() == busy_hours  # the lock is gone with the other session
    assert HourlyRollup.objects.for_account(busy).exists()


def test_runs_split_at_months_gaps_and_size():
    from datetime import date

    from analytics.rollups import _day_runs

    days = [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 4),
            date(2026, 11, 5), date(2026, 11, 6)]
    counts = {date(2026, 11, 5): 70, date(2026, 11, 6): 40}
    runs = [run for _, _, run in _day_runs(days, counts, most=100)]
    assert runs == [days[0:2], days[2:4], days[4:6], days[6:7]]
    # A day over the limit is still one run: a day is the unit.
    assert [run for _, _, run in _day_runs(days[5:6], {days[5]: 500}, most=100)] == [days[5:6]]


@pytest.mark.django_db(transaction=True)
def test_small_runs_give_the_rows_of_long_ones(make_account, monkeypatch):
    """A backlog split into runs of a day each (the worker bounds its memory that way)
    gives the same rows, users and month bitmaps as one run a month."""
    from analytics import rollups
    from analytics.models import SliceMonthUsers, UserMonth

    account = make_account("runs", tz="Asia/Kolkata")
    generate(account, datetime(2026, 10, 28, 3, 10, tzinfo=timezone.utc), hours=24 * 6, n=1500, seed=11)

    def months():
        return (sorted(UserMonth.objects.for_account(account).values_list("month", "user_id", "days")),
                sorted((s.slice, s.model_id, s.feature, s.prompt, s.month, sorted(zip(s.user_ids, s.days)))
                       for s in SliceMonthUsers.objects.for_account(account)))

    while rollup_process_dirty(limit=1000):
        pass
    reference = snapshot(account), months()
    assert reference[0][2] and reference[1][0] and reference[1][1]
    rollup_rebuild_account(account)
    reads = []
    fetch = rollups.fetch
    monkeypatch.setattr(rollups, "fetch", lambda *args: reads.append(args) or fetch(*args))
    monkeypatch.setattr(rollups, "MAX_RUN_TRACES", 0)  # a run per day
    while rollup_process_dirty(limit=1000):
        pass
    assert len(reads) == 7  # 28 Oct … 3 Nov, local days
    assert (snapshot(account), months()) == reference
