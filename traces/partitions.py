"""Monthly RANGE partitions of traces_trace by executed_at (docs/decisions/0005).

A partition is named traces_trace_pYYYYMM and covers [first instant of the UTC month, first
instant of the next). There is no DEFAULT partition: a missing month is created before a
row for it is written, ahead of time by `partitions_create_ahead` (beat, `maintenance`
queue) and on demand by ingest for back-dated traces (`partitions_ensure`).

A partition is made as a plain table with the parent's indexes (named `<parent index>_pYYYYMM`)
and then ATTACHed. ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the parent, which reads
and writes of traces do not conflict with; `CREATE TABLE … PARTITION OF` would take ACCESS
EXCLUSIVE and queue every ingest behind the longest running export. All DDL on the set of
partitions runs under one advisory lock, so two runs (beat twice, two ingest processes
meeting the same back-dated month) create a partition once and never race a drop.
"""
import re
from datetime import date, datetime, timezone

from django.db import connection, transaction

PARENT = "traces_trace"
PARTITION_LOCK = (7303, 1)  # pg_advisory_xact_lock(namespace, key): DDL on traces_trace's partitions
MONTHS_AHEAD = 3  # the scheduled task keeps the current month and the next three
MONTHS_BEHIND = 2  # the migration also creates the two months before the current one (late traffic)
_NAME = re.compile(r"^traces_trace_p(\d{4})(\d{2})$")
_INDEX_DEF = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON ONLY (\S+) (USING .*)$", re.S)


def month_of(value) -> date:
    """The first day of the UTC month holding an instant (or a date)."""
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc) if value.tzinfo else value
    return date(value.year, value.month, 1)


def month_next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_add(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_p{month.year:04d}{month.month:02d}"


def _bound(month: date) -> str:
    return f"{month.isoformat()} 00:00:00+00"


def partitions_list(cursor=None) -> dict[str, date]:
    """The attached partitions of traces_trace: {name: first day of its month}."""
    def read(cur):
        cur.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = %s::regclass AND c.relkind IN ('r', 'p')", [PARENT])
        found = {}
        for (name,) in cur.fetchall():
            match = _NAME.match(name)
            if match:
                found[name] = date(int(match.group(1)), int(match.group(2)), 1)
        return found

    if cursor is not None:
        return read(cursor)
    with connection.cursor() as cur:
        return read(cur)


def _partition_create(cursor, month: date) -> bool:
    """Create and attach one month's partition (under PARTITION_LOCK); False if it exists."""
    name = partition_name(month)
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        cursor.execute("SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = %s::regclass", [name])
        row = cursor.fetchone()
        if row and not row[0]:
            return False
        if row:  # a DETACH … CONCURRENTLY that was interrupted: the partition was on its way out
            cursor.execute(f'ALTER TABLE {PARENT} DETACH PARTITION "{name}" FINALIZE')
        # What is left is a detached partition that retention did not get to drop.
        cursor.execute(f'DROP TABLE "{name}"')
    cursor.execute(f'CREATE TABLE "{name}" (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING STORAGE)')
    cursor.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{name}_pkey" PRIMARY KEY (id, executed_at)')
    cursor.execute("SELECT pg_get_indexdef(x.indexrelid) FROM pg_index x "
                   "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid "
                   "WHERE x.indrelid = %s::regclass AND c.oid IS NULL ORDER BY x.indexrelid", [PARENT])
    suffix = name.rsplit("_", 1)[1]
    for (definition,) in cursor.fetchall():
        match = _INDEX_DEF.match(definition)
        if not match:
            raise RuntimeError(f"unexpected index definition on {PARENT}: {definition}")
        unique, index, _, rest = match.groups()
        cursor.execute(f'CREATE {unique or ""}INDEX "{index}_{suffix}" ON "{name}" {rest}')
    cursor.execute(f'ALTER TABLE {PARENT} ATTACH PARTITION "{name}" '
                   f"FOR VALUES FROM ('{_bound(month)}') TO ('{_bound(month_next(month))}')")
    return True


def partitions_missing(months) -> list[date]:
    """Which of these months have no partition (one catalog query)."""
    months = sorted(set(months))
    if not months:
        return []
    with connection.cursor() as cursor:
        # Attached, and not being detached: a table of that name left by a retention run that
        # stopped between its DETACH and its DROP is no partition.
        cursor.execute("SELECT m FROM unnest(%s::text[]) m WHERE NOT EXISTS (SELECT 1 FROM pg_inherits "
                       "WHERE inhrelid = to_regclass(m) AND inhparent = %s::regclass AND NOT inhdetachpending)",
                       [[partition_name(m) for m in months], PARENT])
        missing = {row[0] for row in cursor.fetchall()}
    return [m for m in months if partition_name(m) in missing]


def partitions_ensure(months) -> list[date]:
    """Make sure every month given (dates or instants) has its partition; returns those created.

    Called before a write, outside the writer's transaction when it has none: the partition
    then exists for everyone at once, whatever happens to the write."""
    missing = partitions_missing({month_of(m) for m in months})
    if not missing:
        return []
    created = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", PARTITION_LOCK)
        for month in missing:
            if _partition_create(cursor, month):
                created.append(month)
    return created


def partitions_create_ahead(*, now=None, ahead: int = MONTHS_AHEAD) -> list[date]:
    """The current UTC month and the next `ahead` ones; safe to run twice or concurrently."""
    current = month_of(now or datetime.now(timezone.utc))
    return partitions_ensure([month_add(current, n) for n in range(ahead + 1)])


def partitions_droppable(horizon: datetime) -> list[tuple[str, date]]:
    """Partitions whose whole range is before `horizon` (oldest first)."""
    limit = horizon.astimezone(timezone.utc)
    return sorted(((name, month) for name, month in partitions_list().items()
                   if datetime(*month_next(month).timetuple()[:3], tzinfo=timezone.utc) <= limit),
                  key=lambda item: item[1])


def partition_drop(name: str) -> bool:
    """Detach and drop one partition. Outside a transaction the detach is CONCURRENTLY (SHARE
    UPDATE EXCLUSIVE on the parent, waits for the queries using it); inside one (tests, or a
    caller's atomic block) it is a plain DETACH."""
    if not _NAME.match(name):
        raise ValueError(f"not a trace partition: {name}")
    if connection.in_atomic_block:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", PARTITION_LOCK)
            if name not in partitions_list(cursor):
                return False
            # Rows written earlier in this transaction still have their deferred foreign-key
            # checks queued, and a table with pending trigger events cannot be dropped: run them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'ALTER TABLE {PARENT} DETACH PARTITION "{name}"')
            cursor.execute(f'DROP TABLE "{name}"')
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            return True
    # DETACH … CONCURRENTLY cannot run in a transaction, so the advisory lock is a session lock.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", PARTITION_LOCK)
        try:
            if name not in partitions_list(cursor):
                return False
            cursor.execute("SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = %s::regclass", [name])
            if cursor.fetchone()[0]:  # a detach interrupted earlier
                cursor.execute(f'ALTER TABLE {PARENT} DETACH PARTITION "{name}" FINALIZE')
            else:
                cursor.execute(f'ALTER TABLE {PARENT} DETACH PARTITION "{name}" CONCURRENTLY')
            cursor.execute(f'DROP TABLE "{name}"')
            return True
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", PARTITION_LOCK)


def partition_range(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=timezone.utc)
    end = datetime(*month_next(month).timetuple()[:3], tzinfo=timezone.utc)
    return start, end


def months_between(start: datetime, end: datetime) -> list[date]:
    """The UTC months an interval [start, end] touches."""
    months, month = [], month_of(start)
    last = month_of(end)
    while month <= last:
        months.append(month)
        month = month_next(month)
    return months

