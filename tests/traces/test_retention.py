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
