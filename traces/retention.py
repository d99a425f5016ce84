"""Retention (X6): raw traces older than the account's retention go; rollups stay."""
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account
from analytics.rollups import LOCK_NAMESPACE

CHUNK = 5000


def traces_delete_expired(account, *, now=None, chunk: int = CHUNK) -> int:
    """Delete in bounded chunks (short transactions, no long locks); returns rows deleted.

    First the cutoff is recorded on the account, under the rollups' per-account lock: a
    rollup pass recomputes whole local days from raw traces, so from then on it leaves the
    days before the cutoff as they are instead of rebuilding them from what is left."""
    cutoff = (now or timezone.now()) - timedelta(days=account.retention_days)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, account.pk])
        cursor.execute("UPDATE accounts_account SET traces_deleted_before = %s WHERE id = %s "
                       "AND (traces_deleted_before IS NULL OR traces_deleted_before < %s)",
                       [cutoff, account.pk, cutoff])
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM traces_trace WHERE id IN (SELECT id FROM traces_trace WHERE account_id = %s "
                "AND executed_at < %s ORDER BY executed_at LIMIT %s)", [account.pk, cutoff, chunk])
            deleted += cursor.rowcount
            if cursor.rowcount < chunk:
                return deleted


def traces_delete_expired_all() -> int:
    return sum(traces_delete_expired(account) for account in Account.objects.all())
