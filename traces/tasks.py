from celery import shared_task

from traces.retention import traces_delete_expired_all


@shared_task(ignore_result=True)
def traces_retention_task():
    """Hourly: each account's traces past its retention (rollups are kept)."""
    traces_delete_expired_all()


@shared_task(ignore_result=True)
def export_run_task(job_id):
    """Run one export job; the service records success, cancellation or failure on the job."""
    from traces.exports.services import export_run

    export_run(job_id)


@shared_task(ignore_result=True)
def exports_cleanup_task():
    """Hourly: expired export files, exports whose worker went away, orphaned partial files."""
    from traces.exports.services import exports_cleanup

    exports_cleanup()
