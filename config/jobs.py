"""Queueing background work by task name.

Services queue their follow-up work here, by the task's registered name, so no service
imports the tasks module that calls it back. The queue a task goes to comes from
CELERY_TASK_ROUTES (config/settings.py), whoever sends it.

The rows are the record of what is owed (a pending delivery, a queued export, a report run);
a message only makes it happen sooner. So when the broker cannot take a message after a
commit, the failure is logged and the recovery tasks queue the work again from its row.
"""
import logging

from django.db import transaction

from config.celery import app

log = logging.getLogger(__name__)

EXPORT_RUN = "traces.tasks.export_run_task"
DELIVERY_SEND = "alerts.tasks.delivery_send_task"
REPORT_SEND = "alerts.tasks.report_send_task"
ACCOUNT_DELETE = "accounts.tasks.account_delete_task"
NAMES = (EXPORT_RUN, DELIVERY_SEND, REPORT_SEND, ACCOUNT_DELETE)


class QueueUnavailable(Exception):
    """The broker did not take the message."""


def enqueue(name: str, *args, countdown: float | None = None) -> None:
    """Send one task now; QueueUnavailable when the broker cannot be reached."""
    try:
        app.send_task(name, args=list(args), countdown=countdown)
    except Exception as exc:  # kombu raises OperationalError, redis its own ConnectionError, OSError…
        raise QueueUnavailable(f"{type(exc).__name__}: {exc}") from exc


def enqueue_on_commit(name: str, *args) -> None:
    """Send one task once the current transaction commits. A broker failure is logged, not
    raised: the committed row is what the recovery task reads to queue it again."""

    def send():
        try:
            enqueue(name, *args)
        except QueueUnavailable:
            log.exception("could not queue %s%r; the recovery task will queue it again", name, args)

    transaction.on_commit(send)
