"""Deliveries and report runs survive a worker killed mid-send.

A real worker takes an alert e-mail and a report e-mail; the SMTP server (aiosmtpd) holds
both in DATA, and the worker is SIGKILLed there. Nothing was sent and each row's
transaction rolled back. A second worker host with beat comes up: the recovery task finds
the overdue delivery and the report run no worker holds, queues them again, and each e-mail
arrives exactly once."""
import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from accounts.services import Actor
from alerts.models import AlertEvent, Delivery, EventStatus, ReportRun, ReportSchedule, Transition
from alerts.services import rules as rule_services
from alerts.services.notify import notify
from alerts.services.reports import reports_send_due, schedule_create
from tests.alerts.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


class Stalling:
    """Holds the first `hold` messages in DATA until released (then answers 451, keeping
    nothing); accepts and records every later one."""

    def __init__(self, hold):
        self.hold, self.held, self.messages = hold, 0, []
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.held < self.hold:
            self.held += 1
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Try again later"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append({"to": sorted(envelope.rcpt_tos), "subject": str(msg["Subject"])})
        return "250 Message accepted for delivery"


def poll(fetch, done, timeout, what, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if done(value):
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: {value}\n{log.read_text() if log else ''}")


def test_a_worker_killed_mid_send_loses_no_delivery_and_no_report(make_account, tmp_path):
    smtp = Stalling(hold=2)
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    account = make_account("mail")
    actor = Actor.system()
    mail = rule_services.channel_create(account, actor, name="oncall", kind="email", recipients=["oncall@mail.test"])
    rule = rule_services.rule_create(account, actor, name="Errors", metric="error_rate", operator="gt", threshold=5.0,
                                     window_minutes=5, duration_minutes=0, severity="critical", channels=[mail])
    schedule = schedule_create(account, actor, name="Daily", frequency="daily", recipients=["cto@mail.test"],
                               send_hour=0)
    ReportSchedule.objects.filter(pk=schedule.pk).update(created_at=datetime.now(timezone.utc) - timedelta(days=3))

    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                                          f"/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": "test", "DJANGO_SETTINGS_MODULE": "config.settings",
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(controller.port), "ALERT_HTTP_TIMEOUT_SECONDS": "120",
           "JOBS_STALE_SECONDS": "3", "JOBS_RECOVER_INTERVAL_SECONDS": "1"}
    procs = []

    def start(name, *args):
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *args, "--loglevel", "WARNING"],
                                cwd=ROOT, env=env, start_new_session=True,
                                stdout=open(tmp_path / f"{name}.log", "w"), stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        first = start("first", "worker", "-Q", "deliveries,reports", "--pool", "threads", "--concurrency", "2",
                      "--hostname", "first@%h")
        now = datetime.now(timezone.utc)
        event = AlertEvent.objects.create(
            account=account, rule=rule, rule_name=rule.name, metric=rule.metric, scope={}, severity="critical",
            status=EventStatus.FIRING, operator="gt", threshold=5.0, value=12.0, last_value=12.0,
            started_at=now, fired_at=now, last_notified_at=now)
        notify(event, Transition.FIRED, 0, rule=rule)  # queued on commit, to the `deliveries` queue
        (run_id,) = reports_send_due()  # yesterday's report, to the `reports` queue
        poll(lambda: smtp.held, lambda n: n == 2, 120, "the first worker never reached DATA twice",
             tmp_path / "first.log")

        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        smtp.release.set()
        delivery = Delivery.objects.get(event=event)
        assert (delivery.status, delivery.attempts) == ("pending", 0)  # the attempt rolled back with the worker
        assert (ReportRun.objects.get(pk=run_id).status, ReportRun.objects.get(pk=run_id).attempts) == ("sending", 0)
        assert smtp.messages == []

        start("second", "worker", "-Q", "deliveries,reports,maintenance", "--pool", "threads", "--concurrency", "2",
              "--hostname", "second@%h")
        start("beat", "beat", "--schedule", str(tmp_path / "beat-schedule"))
        poll(lambda: (Delivery.objects.get(pk=delivery.pk).status, ReportRun.objects.get(pk=run_id).status),
             lambda s: s == ("delivered", "sent"), 120, "the second worker never finished them",
             tmp_path / "second.log")
        time.sleep(3)  # a few more recovery passes: nothing is sent twice
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
        smtp.release.set()
        controller.stop()

    assert sorted(m["to"][0] for m in smtp.messages) == ["cto@mail.test", "oncall@mail.test"]
    assert Delivery.objects.get(pk=delivery.pk).attempts == 1
    run = ReportRun.objects.get(pk=run_id)
    assert (run.attempts, run.error, run.next_attempt_at) == (1, "", None)
    assert any(m["subject"] == run.subject for m in smtp.messages)


def test_a_duplicate_delivery_message_before_its_retry_time_sends_nothing(make_account, smtp_server):
    import redis

    from alerts.services.delivery import deliveries_requeue_stale, delivery_attempt

    account = make_account("dup")
    mail = rule_services.channel_create(account, Actor.system(), name="oncall", kind="email",
                                        recipients=["oncall@dup.test"])
    now = datetime.now(timezone.utc)
    later = Delivery.objects.create(account=account, channel=mail, channel_name="oncall", channel_kind="email",
                                    transition=Transition.TEST, attempts=1, next_attempt_at=now + timedelta(minutes=5))
    overdue = Delivery.objects.create(account=account, channel=mail, channel_name="oncall", channel_kind="email",
                                      transition=Transition.TEST, sequence=1, attempts=1,
                                      next_attempt_at=now - timedelta(minutes=5))
    assert delivery_attempt(later.pk).status == "early"
    later.refresh_from_db()
    assert later.attempts == 1 and smtp_server.messages == []
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("deliveries")
    assert deliveries_requeue_stale(now) == 1  # only the overdue one, once
    assert deliveries_requeue_stale(now) == 0
    assert broker.llen("deliveries") == 1
    overdue.refresh_from_db()
    assert overdue.next_attempt_at == now
    broker.delete("deliveries")
