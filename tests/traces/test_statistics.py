"""Planner statistics follow the traffic (traces.statistics): a rollup pass after a bulk
ingest ANALYZEs the partition that grew, so reads that lead with the account keep to the
time index whatever autovacuum does."""
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from analytics.rollups import rollup_process_dirty
from traces.services import trace_ingest_batch

pytestmark = pytest.mark.django_db(transaction=True)


def _state(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT n_mod_since_analyze, last_analyze FROM pg_stat_user_tables WHERE relname = %s",
                       [table])
        return cursor.fetchone()


def test_a_rollup_pass_analyzes_the_partition_a_bulk_load_grew(make_account):
    account = make_account("stats")
    at = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    items = [{"request_id": f"s-{i}", "executed_at": (at + timedelta(seconds=i)).isoformat(), "model": "gpt-4o",
              "status": "success", "response_time_ms": 100 + i % 50} for i in range(1500)]
    for start in range(0, len(items), 500):
        assert not trace_ingest_batch(account, items[start:start + 500], now=at + timedelta(hours=1)).errors
    partition = "traces_trace_p202611"
    changed, _ = _state(partition)
    assert changed >= 1500
    while rollup_process_dirty():
        pass
    changed, analyzed = _state(partition)
    assert changed == 0 and analyzed is not None
