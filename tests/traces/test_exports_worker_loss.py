"""Exports survive a dead worker, and say so when the queue is down.

A real worker (its own process, consuming only `exports`) is SIGKILLed in the middle of a
200k-row export. The job is left `running` with a silent heartbeat; a second worker host
(consuming `exports` and `maintenance`) and beat come up, the recovery task queues the job
again and it completes from scratch: the file holds every row once, the dead run's partial
file is gone and the user's export slot is free. The timings (heartbeat, silence, recovery
interval) are the settings an operator has, shortened here.
"""
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import Role
from config.celery import app as celery_app
from tests.traces.test_exports_worker import bulk_traces
from tests.traces.test_explorer_api import ingest_world
from traces.models import ExportJob

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/exports"
ROWS = 80_000  # 40 chunks of EXPORT_CHUNK_ROWS: the worker is killed well before the end
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def hosts(media, tmp_path):
    """start(name, *celery args) -> a Celery process on the test database and Redis; all stopped at the end."""
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                                          f"/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": "test", "MEDIA_ROOT": str(media),
           "DJANGO_SETTINGS_MODULE": "config.settings", "EXPORT_CHUNK_ROWS": "2000",
           "EXPORT_HEARTBEAT_SECONDS": "0.5", "JOBS_STALE_SECONDS": "4", "JOBS_RECOVER_INTERVAL_SECONDS": "1"}
    procs = []

    def start(name, *args):
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel", "WARNING"],
                                cwd=ROOT, env=env, start_new_session=True,
                                stdout=open(tmp_path / f"{name}.log", "w"), stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=30)


def poll(fetch, done, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if done(value):
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: {value}")


def test_an_export_whose_worker_is_killed_runs_again_and_frees_the_slot(account, member_of, session_client, hosts,
                                                                         media, tmp_path):
    ingest_world(account, n=5)
    bulk_traces(account, ROWS)
    member = session_client(member_of(account, Role.MEMBER), account)
    first = hosts("first", "worker", "-Q", "exports", "--pool", "solo", "--hostname", "first@%h")
    job = member.post(URL, {"format": "csv"}, format="json").json()
    assert job["status"] == "queued"
    running = poll(lambda: ExportJob.objects.get(pk=job["id"]),
                   lambda j: j.status == "running" and j.rows_written > 0, 120, "the first worker never got going")
    assert running.attempts == 1 and running.rows_written < running.rows_total == ROWS + 5

    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    stranded = ExportJob.objects.get(pk=job["id"])
    assert stranded.status == "running"  # nothing but the heartbeat can tell it died
    assert list((media / "exports" / ".partial").glob(f"{account.pk}-{job['id']}-*.part"))  # the dead run's file
    # The slot is still taken: with 3 exports at once, 2 more fit, the 3rd is refused.
    more = [member.post(URL, {"format": "csv", "filters": {"search": "req-00"}}, format="json") for _ in range(3)]
    assert [r.status_code for r in more] == [202, 202, 429]

    hosts("second", "worker", "-Q", "exports,maintenance", "--pool", "threads", "--concurrency", "2",
          "--hostname", "second@%h")
    hosts("beat", "beat", "--schedule", str(tmp_path / "beat-schedule"))
    done = poll(lambda: ExportJob.objects.get(pk=job["id"]), lambda j: j.status in ("succeeded", "failed"), 180,
                "the export never finished on the second worker")
    assert done.status == "succeeded", done.error
    assert done.attempts == 2 and done.rows_written == done.rows_total == ROWS + 5

    # Every row once: the file against the account's rows in the database.
    with open(media / done.file, newline="") as handle:
        ids = [row["request_id"] for row in csv.DictReader(handle)]
    with connection.cursor() as cur:
        cur.execute("SELECT request_id FROM traces_trace WHERE account_id = %s", [account.pk])
        expected = sorted(r[0] for r in cur.fetchall())
    assert len(ids) == len(set(ids)) == ROWS + 5 and sorted(ids) == expected
    assert not list((media / "exports" / ".partial").glob("*.part"))
    # The small exports queued behind it ran too, and no slot is held any more.
    for response in more[:2]:
        poll(lambda: ExportJob.objects.get(pk=response.json()["id"]).status, lambda s: s == "succeeded", 60,
             "a later export never finished")
    assert not ExportJob.objects.filter(status__in=ExportJob.ACTIVE).exists()
    assert member.post(URL, {"format": "csv", "filters": {"search": "req-00"}}, format="json").status_code == 202


@pytest.fixture
def queue_down():
    """The Celery app publishes to a closed port (the shared Redis keeps running for everyone else)."""
    from tests.alerts.conftest import free_port

    saved = celery_app.conf.broker_url, celery_app._pool, celery_app.amqp._producer_pool
    celery_app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    celery_app._pool = celery_app.amqp._producer_pool = None  # built again, for the closed port
    yield
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app.conf.broker_url, celery_app._pool, celery_app.amqp._producer_pool = saved


def test_an_export_asked_for_while_the_queue_is_down_answers_503(account, member_of, session_client, queue_down):
    ingest_world(account, n=5)
    member = session_client(member_of(account, Role.MEMBER), account)
    response = member.post(URL, {"format": "csv"}, format="json")
    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "30"
    body = response.json()
    assert "could not be queued" in body["message"] and "queue" in body["errors"]
    job = ExportJob.objects.get()
    assert job.status == "failed" and job.error == body["message"] and job.finished_at is not None
    listed = member.get(URL).json()["results"]
    assert [(j["id"], j["status"]) for j in listed] == [(job.pk, "failed")]
    # A failed job holds no slot: three more are refused only for the queue, never for the limit.
    assert {member.post(URL, {"format": "csv"}, format="json").status_code for _ in range(3)} == {503}


def test_once_the_queue_is_back_exports_are_queued_again(account, member_of, session_client):
    member = session_client(member_of(account, Role.MEMBER), account)
    response = member.post(URL, {"format": "csv"}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
