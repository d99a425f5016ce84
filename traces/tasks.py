from celery import shared_task

from traces.retention import traces_delete_expired_all


@shared_task(ignore_result=True)
def traces_retention_task():
    """Hourly: each account's traces past its retention (rollups are kept)."""
    traces_delete_expired_all()
