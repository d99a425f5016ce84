"""Retention (X6): raw traces older than the account's retention go; rollups stay.

traces_trace is partitioned by month (docs/decisions/0005-trace-partitions.md). A partition
whose whole month is older than every account's retention is detached and dropped; inside the
partitions that remain, an account with a shorter retention has its expired traces deleted in
bounded chunks, as before. The request ids of expired traces leave traces_requestid the same
way (chunks per account), so a request id is taken exactly as long as its trace is stored.
"""
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from analytics.rollups import LOCK_NAMESPACE
from traces.partitions import partition_drop, partitions_droppable

CHUNK = 5000


def _cutoff_record(account, cutoff) -> None:
    """Record the cutoff on the account, under the rollups' per-account lock: a rollup pass
    recomputes whole local days from raw traces, so from then on it leaves the days before
    the cutoff as they are instead of rebuilding them from what is left."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account.pk])
        cursor.execute("UPDATE accounts_account SET traces_deleted_before = %s WHERE id = %s "
                       "AND (traces_deleted_before IS NULL OR traces_deleted_before < %s)",
                       [cutoff, account.pk, cutoff])


def _chunks_delete(sql: str, params: list) -> int:
    """Run a DELETE … LIMIT %(chunk)s until it deletes less than a chunk; one transaction each."""
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            deleted += cursor.rowcount
            if cursor.rowcount < params["chunk"]:
                return deleted


def traces_delete_expired(account, *, now=None, chunk: int = CHUNK) -> int:
    """Delete the account's expired traces in bounded chunks (short transactions, no long
    locks); returns the traces deleted. The executed_at condition prunes every scan to the
    partitions that can hold such rows (a dropped partition is simply not there any more)."""
    cutoff = (now or timezone.now()) - timedelta(days=account.retention_days)
    _cutoff_record(account, cutoff)
    params = {"account": account.pk, "cutoff": cutoff, "chunk": chunk}
    deleted = _chunks_delete(
        "DELETE FROM traces_trace t USING (SELECT id, executed_at FROM traces_trace WHERE account_id = %(account)s "
        "AND executed_at < %(cutoff)s ORDER BY executed_at LIMIT %(chunk)s) old "
        "WHERE t.account_id = %(account)s AND t.executed_at < %(cutoff)s "
        "AND t.id = old.id AND t.executed_at = old.executed_at", params)
    _chunks_delete(
        "DELETE FROM traces_requestid WHERE account_id = %(account)s AND request_id IN (SELECT request_id "
        "FROM traces_requestid WHERE account_id = %(account)s AND executed_at < %(cutoff)s LIMIT %(chunk)s)", params)
    return deleted


def traces_drop_expired_partitions(*, now=None) -> list[str]:
    """Drop the partitions older than every account's retention; returns their names.

    Every account's cutoff is recorded first (the rollups then keep those days as they are),
    so a partition goes only once no account can still read it."""
    now = now or timezone.now()
    accounts = list(Account.objects.all())
    if not accounts:
        return []
    for account in accounts:
        _cutoff_record(account, now - timedelta(days=account.retention_days))
    horizon = min(now - timedelta(days=account.retention_days) for account in accounts)
    return [name for name, _ in partitions_droppable(horizon) if partition_drop(name)]


def traces_delete_expired_all(*, now=None) -> int:
    """Hourly: whole partitions first, then each account's chunks in the partitions left."""
    now = now or timezone.now()
    traces_drop_expired_partitions(now=now)
    return sum(traces_delete_expired(account, now=now) for account in Account.objects.all())
