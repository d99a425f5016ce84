"""L2/L3 through the real processes: Celery beat evaluates every rule each interval, the worker
delivers; a working webhook and e-mail arrive once, a failing webhook is retried with backoff and
then shown as failed."""
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.services import Actor
from alerts.models import AlertEvent, Delivery
from alerts.services import rules as rule_services
from tests.alerts.conftest import ingest, signed, traffic

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def start(args, env, tmp_path):
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *args], cwd=ROOT, env=env,
                            start_new_session=True, stdout=open(tmp_path / f"{args[0]}.log", "w"),
                            stderr=subprocess.STDOUT)


def test_beat_and_worker_fire_notify_retry_and_give_up(make_account, http_receiver, smtp_server, tmp_path):
    account = make_account("live")
    actor = Actor.system()
    good = rule_services.channel_create(account, actor, name="good hook", kind="webhook",
                                        url=http_receiver.url("/good"))
    bad = rule_services.channel_create(account, actor, name="bad hook", kind="webhook", url=http_receiver.url("/bad"))
    mail = rule_services.channel_create(account, actor, name="mail", kind="email", recipients=["ops@live.test"])
    now = datetime.now(timezone.utc)
    # Failing traffic from 10 minutes ago to 10 minutes from now: every evaluation breaches.
    ingest(account, traffic("bad", now - timedelta(minutes=10), 20, 6, fail_every=2))
    rule = rule_services.rule_create(account, actor, name="Errors", metric="error_rate", operator="gt",
                                     threshold=5.0, window_minutes=5, duration_minutes=0, severity="critical",
                                     channels=[good, bad, mail])
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                                          f"/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": "test", "DJANGO_SETTINGS_MODULE": "config.settings",
           "ALERT_EVALUATION_INTERVAL_SECONDS": "1", "ROLLUP_INTERVAL_SECONDS": "5",
           "ALERT_DELIVERY_BACKOFF_SECONDS": "0.5", "ALERT_DELIVERY_MAX_ATTEMPTS": "3",
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_server.port),
           # The receiver listens on this machine: its network is allowed explicitly.
           "MODELPULSE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}
    http_receiver.path_status["/bad"] = 503
    worker = start(["worker", "--pool", "threads", "--concurrency", "4", "--loglevel", "WARNING"], env, tmp_path)
    beat = start(["beat", "--loglevel", "WARNING", "--schedule", str(tmp_path / "beat-schedule")], env, tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            delivery = Delivery.objects.filter(channel=bad).first()
            if delivery is not None and delivery.status == "failed":
                break
            time.sleep(0.3)
        else:
            log = (tmp_path / "worker.log").read_text()
            raise AssertionError(f"the failing delivery never gave up; worker log:\n{log}")
        # Let beat run several more evaluations: still one event, one delivery per channel.
        time.sleep(3)
    finally:
        for proc in (beat, worker):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in (beat, worker):
            proc.wait(timeout=30)

    event = AlertEvent.objects.for_account(account).get()
    assert event.status == "firing" and event.rule_id == rule.pk
    rule.refresh_from_db()
    assert rule.last_evaluated_at is not None and rule.last_evaluated_at > event.fired_at  # evaluated again since
    good_requests = [r for r in http_receiver.requests if r["path"] == "/good"]
    assert len(good_requests) == 1 and signed(good_requests[0], good.secret)
    assert good_requests[0]["json"]["event_id"] == event.pk
    assert len(smtp_server.messages) == 1 and smtp_server.messages[0]["to"] == ["ops@live.test"]
    failed = Delivery.objects.get(channel=bad)
    assert (failed.status, failed.attempts) == ("failed", 3) and "HTTP 503" in failed.last_error
    bad_requests = [r for r in http_receiver.requests if r["path"] == "/bad"]
    assert len(bad_requests) == 3
    gaps = [b["at"] - a["at"] for a, b in zip(bad_requests, bad_requests[1:])]
    assert gaps[0] >= 0.45 and gaps[1] >= 0.95, gaps  # backoff 0.5 s, then 1 s
    assert Delivery.objects.filter(channel=good, status="delivered").count() == 1
    assert Delivery.objects.filter(channel=mail, status="delivered").count() == 1
