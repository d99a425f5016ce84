"""Planner statistics of the tables that grow with traffic, refreshed when they are stale.

Every read of the product leads with the account, and the planner's estimate of an
account's rows comes from the statistics. After a bulk load into a month's partition, an
account that was small at the last ANALYZE looks small: PostgreSQL then reads an edge of a
range through the request-id index, filtering hundreds of thousands of rows, instead of the
time index (measured: 45 ms instead of 0.1 ms for 66 traces). Autovacuum refreshes them when
it runs, but it may be off or behind; the rollup worker, which follows every ingest, runs
ANALYZE on the tables whose rows changed by more than autovacuum's default share since
their last ANALYZE (a sample of 30k rows; ShareUpdateExclusive, which inserts and reads do
not wait for).
"""
from django.db import connection

# Leaf tables that grow with traffic: trace and request-id partitions, feedback, rollups.
GROWING = r"^(traces_trace_p\d{6}|traces_requestid_\w+|traces_feedback|analytics_\w+)$"
STALE_SQL = """
SELECT s.relname FROM pg_stat_user_tables s
WHERE s.schemaname = current_schema() AND s.relname ~ %s
  AND s.n_mod_since_analyze > greatest(%s, %s * greatest(s.n_live_tup, 1))
ORDER BY s.n_mod_since_analyze DESC
"""


def statistics_refresh_stale(threshold_rows: int = 1000, share: float = 0.1) -> list[str]:
    """ANALYZE every growing table changed by more than max(threshold_rows, share × its rows)
    since its statistics were taken; returns their names. Run outside a long transaction."""
    with connection.cursor() as cursor:
        cursor.execute(STALE_SQL, [GROWING, threshold_rows, share])
        stale = [name for (name,) in cursor.fetchall()]
        for name in stale:
            cursor.execute(f'ANALYZE "{name}"')  # a name from the catalog, matched by GROWING
    return stale
