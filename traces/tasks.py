"""Celery entry points for traces: each calls one service (queues: config/settings.py)."""
from celery import shared_task

from traces.exports.services import export_run, exports_cleanup, exports_recover
from traces.retention import traces_delete_expired_all


@shared_task(ignore_result=True)
def traces_retention_task():
    """Hourly: each account's traces past its retention (rollups are kept)."""
    traces_delete_expired_all()


@shared_task(ignore_result=True)
def traces_partitions_task():
    """Daily: the partitions of traces_trace for this month and the next ones (docs/decisions/0005).
    Safe twice and concurrently: the DDL runs under an advisory lock and skips what exists."""
    from traces.partitions import partitions_create_ahead

    partitions_create_ahead()


@shared_task(ignore_result=True)
def export_run_task(job_id):
    """Run one export job; the service records success, cancellation or failure on the job.
    A second delivery of the message finds the job taken and does nothing."""
    export_run(job_id)


@shared_task(ignore_result=True)
def exports_cleanup_task():
    """Hourly: expired export files, exports never started, orphaned partial files."""
    exports_cleanup()


@shared_task(ignore_result=True)
def exports_recover_task():
    """Every JOBS_RECOVER_INTERVAL_SECONDS: exports whose worker went away run again."""
    exports_recover()


@shared_task(ignore_result=True)
def demo_live_task():
    """Every minute while the demo is on: the minutes of live demo traffic due since the last run."""
    from django.conf import settings

    from traces.demo_live import demo_live_tick

    if settings.DEMO_LIVE:
        demo_live_tick()
