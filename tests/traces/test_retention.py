"""X6: traces past the account's retention are deleted in chunks; rollups stay."""
from datetime import datetime, timedelta, timezone

from analytics.models import HourlyRollup
from analytics.rollups import rollup_process_dirty
from traces.models import Trace
from traces.retention import traces_delete_expired, traces_delete_expired_all
from traces.services import trace_ingest_batch

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def test_old_traces_go_rollups_stay(account, other_account):
    account.retention_days = 30
    account.save()
    items = [{"request_id": f"r{i}", "executed_at": (NOW - timedelta(days=d)).isoformat(), "model": "m",
              "status": "success", "response_time_ms": 10} for i, d in enumerate([1, 29, 31, 45, 90])]
    trace_ingest_batch(account, items, now=NOW)
    trace_ingest_batch(other_account, items, now=NOW)  # default retention (90 days) keeps more
    while rollup_process_dirty():
        pass
    rollups_before = HourlyRollup.objects.for_account(account).count()
    assert traces_delete_expired(account, now=NOW, chunk=2) == 3
    assert sorted(Trace.objects.for_account(account).values_list("request_id", flat=True)) == ["r0", "r1"]
    assert HourlyRollup.objects.for_account(account).count() == rollups_before == 5
    assert Trace.objects.for_account(other_account).count() == 5
    traces_delete_expired_all()  # real clock: everything of 2026-11 is within 90 days for the other account
    assert Trace.objects.for_account(other_account).count() >= 4


def test_days_that_lost_traces_keep_their_rollups(account):
    """Rollups rebuild whole local days from raw traces; a day retention has cut into is
    left as it was, not rebuilt from the traces that remain. Later days still recompute."""
    from analytics.models import DailyTotal

    account.retention_days = 30
    account.save()
    cutoff = NOW - timedelta(days=30)  # 2026-10-23 12:00 UTC, inside a local (UTC) day

    def trace(request_id, at):
        return {"model": "m", "status": "success", "response_time_ms": 10, "request_id": request_id,
                "executed_at": at.isoformat()}

    trace_ingest_batch(account, [trace("early", cutoff - timedelta(hours=6)),
                                 trace("late", cutoff + timedelta(hours=6)),
                                 trace("next", cutoff + timedelta(days=1))], now=NOW)
    while rollup_process_dirty():
        pass
    day = cutoff.date()
    assert DailyTotal.objects.for_account(account).get(day=day).requests == 2
    assert traces_delete_expired(account, now=NOW) == 1
    account.refresh_from_db()
    assert account.traces_deleted_before == cutoff
    # A late trace on the cut day and one on the next day: only the next day is rebuilt.
    trace_ingest_batch(account, [trace("late-2", cutoff + timedelta(hours=7)),
                                 trace("next-2", cutoff + timedelta(days=1, hours=1))], now=NOW)
    while rollup_process_dirty():
        pass
    totals = dict(DailyTotal.objects.for_account(account).values_list("day", "requests"))
    assert totals[day] == 2 and totals[day + timedelta(days=1)] == 2
    assert HourlyRollup.objects.for_account(account).filter(hour_start=cutoff - timedelta(hours=6)).exists()
