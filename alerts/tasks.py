"""Celery tasks: thin wrappers around alerts services (beat entries in config/settings.py)."""
from celery import shared_task

from alerts.services.delivery import delivery_attempt, deliveries_requeue_stale
from alerts.services.evaluation import alerts_evaluate_due
from alerts.services.rules import alerts_ensure_defaults_all


@shared_task(ignore_result=True)
def alerts_evaluate_task():
    """Every minute: defaults for new accounts, every due rule once, overdue deliveries again."""
    alerts_ensure_defaults_all()
    alerts_evaluate_due()
    deliveries_requeue_stale()


@shared_task(bind=True, ignore_result=True, max_retries=None, acks_late=True)
def delivery_send_task(self, delivery_id: int):
    """One attempt; on failure retry after the backoff the service chose (it counts the attempts)."""
    result = delivery_attempt(delivery_id)
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in)


@shared_task(ignore_result=True)
def reports_send_due_task():
    """Every few minutes: each schedule whose period ended and whose local send hour came, once per period."""
    from alerts.services.reports import reports_send_due

    reports_send_due()


@shared_task(bind=True, ignore_result=True, max_retries=3)
def report_send_task(self, run_id: int):
    from alerts.services.reports import report_run_send

    if not report_run_send(run_id):
        raise self.retry(countdown=60 * (self.request.retries + 1))
