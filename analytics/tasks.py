from celery import shared_task

from accounts.models import Account
from analytics.rollups import rollup_process_dirty, rollup_rebuild_account


@shared_task(ignore_result=True)
def rollup_dirty_task(rounds: int = 20):
    """Drain dirty hours in bounded passes (beat runs this every minute)."""
    for _ in range(rounds):
        if not rollup_process_dirty():
            return


@shared_task(ignore_result=True)
def rollup_rebuild_account_task(account_id: int):
    account = Account.objects.filter(pk=account_id).first()
    if account is not None:
        rollup_rebuild_account(account)
        rollup_dirty_task.delay()
