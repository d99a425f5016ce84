"""Retention (X6): raw traces older than the account's retention go; rollups stay."""
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account

CHUNK = 5000


def traces_delete_expired(account, *, now=None, chunk: int = CHUNK) -> int:
    """Delete in bounded chunks (short transactions, no long locks); returns rows deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=account.retention_days)
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
