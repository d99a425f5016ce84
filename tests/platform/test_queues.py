"""Named queues: every task goes to the queue of its kind of work, so an operator can run
`celery -A config worker -Q exports` on hosts of their own; a worker started without -Q
consumes them all. Messages are checked in the real Redis broker (this run's own database)."""
import pytest
import redis
from django.conf import settings

from config import jobs
from config.celery import app

EXPECTED = {
    "analytics.tasks.rollup_dirty_task": "rollups",
    "analytics.tasks.rollup_rebuild_account_task": "rollups",
    "traces.tasks.export_run_task": "exports",
    "alerts.tasks.alerts_evaluate_task": "alerts",
    "budgets.tasks.budgets_check_task": "alerts",
    "alerts.tasks.delivery_send_task": "deliveries",
    "alerts.tasks.report_send_task": "reports",
    "alerts.tasks.reports_send_due_task": "reports",
    "alerts.tasks.alerts_recover_task": "maintenance",
    "traces.tasks.exports_recover_task": "maintenance",
    "traces.tasks.exports_cleanup_task": "maintenance",
    "traces.tasks.traces_retention_task": "maintenance",
    "traces.tasks.traces_partitions_task": "maintenance",
}
OURS = ("accounts.", "alerts.", "analytics.", "budgets.", "dashboards.", "models_registry.", "traces.")


def queue_of(name):
    return app.amqp.router.route({}, name)["queue"].name


def test_every_task_and_every_beat_entry_has_a_queue_a_full_worker_consumes():
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if name.startswith(OURS)}
    assert set(EXPECTED) <= ours
    assert {name: queue_of(name) for name in EXPECTED} == EXPECTED
    for name in ours:  # a task added later without a route still lands where a worker reads
        assert queue_of(name) in settings.JOB_QUEUES, name
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in ours and queue_of(entry["task"]) in settings.JOB_QUEUES
    # Without -Q a worker consumes the configured queues, i.e. all of them.
    assert [q.name for q in app.amqp.queues.consume_from.values()] == list(settings.JOB_QUEUES)
    assert set(jobs.NAMES) <= ours


@pytest.mark.django_db
def test_queued_work_waits_in_its_own_queue():
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for queue in settings.JOB_QUEUES:
        broker.delete(queue)
    jobs.enqueue(jobs.EXPORT_RUN, 10**9)
    jobs.enqueue(jobs.DELIVERY_SEND, 10**9)
    jobs.enqueue(jobs.REPORT_SEND, 10**9)
    jobs.enqueue("analytics.tasks.rollup_dirty_task")
    lengths = {queue: broker.llen(queue) for queue in settings.JOB_QUEUES}
    assert lengths == {"rollups": 1, "exports": 1, "alerts": 0, "deliveries": 1, "reports": 1, "maintenance": 0}
    for queue in settings.JOB_QUEUES:
        broker.delete(queue)
