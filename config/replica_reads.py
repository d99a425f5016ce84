"""Which database a read-only unit of work reads from.

A view or task whose work only reads wraps it in `replica_reads()`: inside, ORM reads are
routed (config/db_router.py) and raw SQL gets its connection from `read_connection()` — a
replica within MODELPULSE_REPLICA_MAX_LAG seconds, or the primary when none is. Writes
always go to the primary. Staying on the primary instead:

- the unit starts inside a transaction on the primary: what it reads may have been written
  by that transaction, which no replica can see (`despite_transaction=True` is for callers
  whose transaction only holds a lock, e.g. a report run's row);
- the unit writes through the ORM: every later read of it goes to the primary, so it reads
  its own writes.

Authentication and account resolution run before the handler, outside the unit, on the
primary: a key or membership created a second ago is never refused for replica lag.
"""
import random
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone
from prometheus_client import Counter

from config.replica_health import ReplicaHealth, replica_aliases, replica_health

READ_UNITS = Counter("modelpulse_read_units", "Read-only units of work (requests, exports, reports) by the "
                     "database that served them.", ["database"])


@dataclass
class ReadScope:
    alias: str = DEFAULT_DB_ALIAS
    # On a replica: everything committed on the primary before this instant is readable.
    horizon: datetime | None = None
    wrote: bool = False

    @property
    def reading_alias(self) -> str:
        return DEFAULT_DB_ALIAS if self.wrote else self.alias

    @property
    def on_replica(self) -> bool:
        return self.reading_alias != DEFAULT_DB_ALIAS


_scope: ContextVar[ReadScope | None] = ContextVar("modelpulse_read_scope", default=None)
# Units served per database in this process: the router's own count (tests, bench/).
served: dict[str, int] = {}


def current_scope() -> ReadScope | None:
    return _scope.get()


def usable_replica() -> ReplicaHealth | None:
    """A replica within the allowed lag, chosen at random among them to spread the load."""
    max_lag = settings.MODELPULSE_REPLICA_MAX_LAG
    usable = [health for health in map(replica_health, replica_aliases()) if health.usable(max_lag)]
    return random.choice(usable) if usable else None


@contextmanager
def replica_reads(*, despite_transaction: bool = False):
    """Read from a healthy replica until the block ends (usable as a decorator, too)."""
    outer = _scope.get()
    if outer is not None:  # nested: the outer unit already chose
        yield outer
        return
    scope = ReadScope()
    if replica_aliases() and (despite_transaction or not connections[DEFAULT_DB_ALIAS].in_atomic_block):
        chosen = usable_replica()
        if chosen is not None:
            scope = ReadScope(alias=chosen.alias, horizon=chosen.horizon)
    served[scope.alias] = served.get(scope.alias, 0) + 1
    READ_UNITS.labels(scope.alias).inc()
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def read_alias() -> str:
    scope = _scope.get()
    return scope.reading_alias if scope is not None else DEFAULT_DB_ALIAS


def read_connection():
    """The connection raw SQL of a read-only path runs on (the primary outside `replica_reads`)."""
    return connections[read_alias()]


def data_as_of(rollups_as_of: datetime | None = None) -> datetime:
    """When the data a response was read from was complete: the rollups' own "as of" (now
    when there is none), never later than what the replica that answered had replayed.
    The rollup state is itself read from the replica, so a lag that only delays data older
    than that state's time changes nothing (docs/decisions/0003-read-replicas.md)."""
    now = timezone.now()
    scope = _scope.get()
    horizon = scope.horizon if scope is not None and scope.on_replica and scope.horizon else now
    return min(rollups_as_of or now, horizon)
