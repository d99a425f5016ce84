"""Celery entry points for alerts: each calls services (beat entries and queues in config/settings.py).
Every one is safe to run twice: rules and runs are taken under row locks, deliveries once per row."""
from celery import shared_task

from alerts.services.delivery import deliveries_requeue_stale, delivery_attempt
from alerts.services.evaluation import alerts_evaluate_due
from alerts.services.reports import report_run_send, reports_recover, reports_send_due
from alerts.services.rules import alerts_ensure_defaults_all


@shared_task(ignore_result=True)
def alerts_evaluate_task():
    """Every minute: defaults for new accounts, every due rule once."""
    alerts_ensure_defaults_all()
    alerts_evaluate_due()


@shared_task(bind=True, ignore_result=True, max_retries=None)
def delivery_send_task(self, delivery_id: int):
    """One attempt; on failure retry after the backoff the service chose (it counts the attempts)."""
    result = delivery_attempt(delivery_id)
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in)


@shared_task(ignore_result=True)
def alerts_recover_task():
    """Every JOBS_RECOVER_INTERVAL_SECONDS: overdue deliveries and report runs whose retry time
    came or whose worker died are queued again."""
    deliveries_requeue_stale()
    reports_recover()


@shared_task(ignore_result=True)
def reports_send_due_task():
    """Every few minutes: each schedule whose period ended and whose local send hour came, once per period."""
    reports_send_due()


@shared_task(ignore_result=True)
def report_send_task(run_id: int):
    """Send one run; a failure is recorded on it with its next attempt time (reports_recover queues that)."""
    report_run_send(run_id)
