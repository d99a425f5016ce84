"""The partial hours at the edges of a range, split into whole minutes (minute totals and
slices) and raw traces (decision 0006).

Minute rows answer for a minute only when they hold every trace of it:
- the minute lies before the account's earliest trace not yet rolled up (the smallest
  `first_at` of its dirty hours: ingest records the earliest executed_at it adds to an
  hour, feedback the executed_at of its trace, other markers the whole hour), and
- the minute's local day was built after the account's retention cutoff (days that
  retention cut into keep the rows they had, and may have none at minute level).
Everything else at the edges is read raw, so an edge is exact whatever was ingested since
the last rollup pass, and costs at most two partial minutes plus the unrolled tail of raw
traces (in steady state, the traffic since the last pass).
"""
from datetime import datetime, timedelta, timezone

from analytics.buckets import day_start, local_day
from config.replica_reads import read_connection

MINUTE = timedelta(minutes=1)


def minute_floor(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def minute_ceil(at: datetime) -> datetime:
    floor = minute_floor(at)
    return floor if floor == at else floor + MINUTE


def rolled_up_before(account) -> datetime | None:
    """The instant before which every trace of the account is in its minute rows, as far
    as the dirty marks tell (None: nothing is waiting, every built minute is complete)."""
    with read_connection().cursor() as cursor:
        cursor.execute("SELECT min(coalesce(first_at, hour_start)) FROM traces_dirtybucket WHERE account_id = %s",
                       [account.pk])
        return cursor.fetchone()[0]


def built_from(account) -> datetime | None:
    """The first instant whose local day the rollups rebuild (None: every day)."""
    cutoff = account.traces_deleted_before
    if cutoff is None:
        return None
    day = local_day(account, cutoff)
    start = day_start(account, day)
    return start if start >= cutoff else day_start(account, day + timedelta(days=1))


class EdgeSplitter:
    """Splits spans of raw traces into [(source, lo, hi)] with source "minute" or "raw".
    The dirty marks are read once, on the first span that has whole minutes."""

    def __init__(self, account):
        self.account = account
        self._bounds = None

    def _valid(self):
        if self._bounds is None:
            before = rolled_up_before(self.account)
            self._bounds = (built_from(self.account),
                            before if before is not None else datetime.max.replace(tzinfo=timezone.utc))
        return self._bounds

    @property
    def rolled_up_before(self) -> datetime:
        """rolled_up_before(account), read once (datetime.max when nothing waits)."""
        return self._valid()[1]

    def split(self, lo: datetime, hi: datetime) -> list:
        if lo >= hi:
            return []
        m0, m1 = minute_ceil(lo), minute_floor(hi)
        if m0 >= m1:
            return [("raw", lo, hi)]
        first, before = self._valid()
        m0 = max(m0, minute_ceil(first)) if first else m0
        m1 = min(m1, minute_floor(before))
        if m0 >= m1:
            return [("raw", lo, hi)]
        return [piece for piece in (("raw", lo, m0), ("minute", m0, m1), ("raw", m1, hi)) if piece[1] < piece[2]]
