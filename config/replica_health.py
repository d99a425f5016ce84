"""How far behind each streaming replica is: measured on the replica itself, remembered
for MODELPULSE_REPLICA_CHECK_SECONDS per process so a busy web process asks a few times a
minute, not once per request.

Lag is `now() - pg_last_xact_replay_timestamp()` only while WAL is waiting to be replayed.
A replica that has replayed everything it received is 0 s behind however old its last
replayed transaction is: on an idle primary that timestamp grows without anything being
missing. When no WAL receiver runs (streaming broke) nothing new can arrive, so the age of
the last replayed transaction is the honest figure again.
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

# pg_stat_wal_receiver shows a row while a receiver runs; its status column is NULL for a
# role without pg_read_all_stats, which then is trusted to be streaming (the LSNs still
# tell whether anything is pending).
LAG_SQL = """
SELECT clock_timestamp(), CASE
  WHEN NOT pg_is_in_recovery() THEN 0.0
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
       AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status IS NULL OR status = 'streaming') THEN 0.0
  ELSE COALESCE(EXTRACT(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8, 'Infinity')
END
"""

@dataclass(frozen=True)
class ReplicaHealth:
    alias: str
    reachable: bool
    lag_seconds: float
    checked_at: datetime

    @property
    def horizon(self) -> datetime:
        """Everything committed on the primary before this instant is on the replica."""
        if not math.isfinite(self.lag_seconds):
            return datetime.min.replace(tzinfo=self.checked_at.tzinfo)
        return self.checked_at - timedelta(seconds=self.lag_seconds)

    def usable(self, max_lag: float) -> bool:
        return self.reachable and self.lag_seconds <= max_lag


_checked: dict[str, ReplicaHealth] = {}


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica_")]


def replica_health(alias: str) -> ReplicaHealth:
    """The replica's health, measured again once the remembered figure is older than the check interval."""
    known = _checked.get(alias)
    max_age = timedelta(seconds=settings.MODELPULSE_REPLICA_CHECK_SECONDS)
    if known is not None and timezone.now() - known.checked_at < max_age:
        return known
    health = _checked[alias] = measure(alias)
    return health


def measure(alias: str) -> ReplicaHealth:
    conn = connections[alias]
    try:
        with conn.cursor() as cursor:
            cursor.execute(LAG_SQL)
            # The replica's own clock: checked_at − lag is then exactly the last replayed commit.
            checked_at, lag = cursor.fetchone()
        return ReplicaHealth(alias, True, float(lag), checked_at)
    except DatabaseError:
        # Unreachable, shutting down or refusing: skipped until the next check.
        try:
            conn.close()
        except DatabaseError:
            pass
        return ReplicaHealth(alias, False, math.inf, timezone.now())


def forget_health() -> None:
    """Measure every replica afresh at its next use (tests, and after a configuration change)."""
    _checked.clear()
