"""L7: scheduled reports — a weekly report's figures equal the metrics API for the same week, sent once
per period at the account's local hour through a real SMTP server, HTML with a plain-text part and
inline PNG charts, recommendations, preview and send-now, and never another account's data."""
import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from accounts.models import Role
from accounts.services import Actor
from alerts.models import ReportRun, ReportSchedule
from alerts.services.metrics import format_value
from alerts.services.reports import (latest_period, report_build, report_run_send, reports_send_due,
                                     schedule_create)
from tests.alerts.conftest import ingest, roll_all, traffic

KOLKATA = ZoneInfo("Asia/Kolkata")
WEEK = date(2026, 11, 9)  # a Monday; the reported week is 9–15 November 2026


def local(d, hour=0, minute=0, tz=KOLKATA):
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz)


def two_weeks_of_traffic(account):
    """Last week and the week before, with a slower, failing v2 in the reported week."""
    for day in range(14):
        d = WEEK - timedelta(days=7) + timedelta(days=day)
        reported = day >= 7
        ingest(account, traffic(f"a{day}", local(d, 10).astimezone(timezone.utc), 30, 2, prompt="summarize",
                                cost=0.004, latency=300.0, model="gpt-4o", deployment="prod", version="v1",
                                model_type="fine_tuned", user_id=f"u{day % 5}"))
        ingest(account, traffic(f"b{day}", local(d, 15).astimezone(timezone.utc), 20, 1, prompt="translate",
                                cost=0.02, latency=900.0, model="claude", fail_every=8 if reported else 0))
        ingest(account, traffic(f"c{day}", local(d, 18).astimezone(timezone.utc), 15, 1, prompt="summarize",
                                cost=0.004, latency=1400.0 if reported else 320.0, model="gpt-4o",
                                deployment="prod", version="v2", model_type="fine_tuned",
                                fail_every=3 if reported else 0))
    # The edges of the week, local time: 23:59 on Sunday belongs, 00:00 the Monday after does not.
    ingest(account, [{"request_id": "edge-in", "executed_at": local(WEEK + timedelta(days=6), 23, 59).isoformat(),
                      "model": "gpt-4o", "status": "success", "response_time_ms": 100, "cost_usd": 1.0},
                     {"request_id": "edge-out", "executed_at": local(WEEK + timedelta(days=7), 0, 0).isoformat(),
                      "model": "gpt-4o", "status": "failure", "response_time_ms": 100, "cost_usd": 5.0}])
    roll_all()


@pytest.fixture
def kolkata(make_account):
    account = make_account("kolkata", tz="Asia/Kolkata")
    two_weeks_of_traffic(account)
    return account


def weekly(account, **extra):
    schedule = schedule_create(account, Actor.system(), name="Weekly review", frequency="weekly",
                               recipients=["cto@kolkata.test", "ops@kolkata.test"], send_hour=9, **extra)
    ReportSchedule.objects.filter(pk=schedule.pk).update(created_at=local(WEEK - timedelta(days=30)))
    schedule.refresh_from_db()
    return schedule


def test_periods():
    assert latest_period("daily", date(2026, 11, 16)) == (date(2026, 11, 15), date(2026, 11, 16))
    assert latest_period("weekly", date(2026, 11, 16)) == (date(2026, 11, 9), date(2026, 11, 16))
    assert latest_period("weekly", date(2026, 11, 22)) == (date(2026, 11, 9), date(2026, 11, 16))
    assert latest_period("monthly", date(2026, 11, 1)) == (date(2026, 10, 1), date(2026, 11, 1))
    assert latest_period("monthly", date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 3, 1))


def test_weekly_figures_equal_the_metrics_api(kolkata, member_of, session_client):
    client = session_client(member_of(kolkata, Role.VIEWER), kolkata)
    api = client.get("/api/v1/metrics", {"start": "2026-11-09", "end": "2026-11-15"}).json()["metrics"]
    before = client.get("/api/v1/metrics", {"start": "2026-11-02", "end": "2026-11-08"}).json()["metrics"]
    data = report_build(kolkata, "weekly", WEEK, WEEK + timedelta(days=7))
    rows = {m["key"]: m for m in data["metrics"]}
    for key in ("total_requests", "success_rate", "error_rate", "p95_latency_ms", "avg_latency_ms", "total_tokens",
                "total_cost_usd", "cost_per_request_usd", "active_users"):
        assert rows[key]["value"] == api[key], key
        assert rows[key]["previous"] == before[key], key
    # And the raw rows agree on the count: 7 × (60 + 20 + 15) plus the request at 23:59 on Sunday.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM traces_trace WHERE account_id = %s AND executed_at >= %s "
                       "AND executed_at < %s", [kolkata.pk, local(WEEK), local(WEEK + timedelta(days=7))])
        assert cursor.fetchone()[0] == api["total_requests"] == 7 * 95 + 1
    change = rows["total_cost_usd"]["change"]
    assert change["kind"] == "pct" and change["value"] == pytest.approx(
        100 * (api["total_cost_usd"] - before["total_cost_usd"]) / before["total_cost_usd"])
    assert rows["error_rate"]["change"] == {"kind": "pp", "value": pytest.approx(api["error_rate"]
                                                                                  - before["error_rate"])}
    assert rows["error_rate"]["tone"] == "bad" and rows["success_rate"]["tone"] == "bad"
    # Recommendations name the most expensive prompt, the slowest model and the version that got worse.
    tips = " ".join(data["recommendations"])
    assert "most expensive prompt is “translate”" in tips
    assert "slowest model is gpt-4o" in tips  # v2 answers in 1.4 s a fifth of the time
    assert "Deployment version v2 got worse" in tips


def test_sent_once_per_period_at_the_local_hour_with_charts(kolkata, smtp_server):
    schedule = weekly(kolkata)
    monday = WEEK + timedelta(days=7)
    assert reports_send_due(local(monday, 8, 59)) == []  # before 09:00 in Kolkata
    runs = reports_send_due(local(monday, 9, 0))
    assert len(runs) == 1
    run = ReportRun.objects.get(pk=runs[0])
    assert run.schedule_id == schedule.pk
    assert (run.period_start, run.period_end, run.kind) == (WEEK, monday, "scheduled")
    # Beat again, later that day, the next days: the period has its run.
    for later in (local(monday, 9, 5), local(monday, 23), local(monday + timedelta(days=3), 9)):
        assert reports_send_due(later) == []
    assert report_run_send(run.pk) is True
    assert report_run_send(run.pk) is True  # already sent: nothing more
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert sorted(mail["to"]) == ["cto@kolkata.test", "ops@kolkata.test"]
    msg = mail["message"]
    assert str(msg["Subject"]).strip() == "Weekly report · Kolkata · 9 Nov – 15 Nov 2026"
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 3
    for part in images:
        cid = part["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        assert part.get_payload(decode=True)[:8] == b"\x89PNG\r\n\x1a\n"
    data = report_build(kolkata, "weekly", WEEK, monday)
    for row in data["metrics"]:
        assert row["shown"] in text and row["shown"] in html, row["key"]
    assert format_value(data["current"]["total_requests"], "count") == "666"
    assert "translate" in text and "Recommendations".upper() in text
    run.refresh_from_db()
    assert run.status == "sent" and run.sent_at is not None and run.subject == str(msg["Subject"]).strip()
    # The next week's report comes the Monday after.
    assert len(reports_send_due(local(monday + timedelta(days=7), 9))) == 1


def test_concurrent_beats_create_one_run(transactional_db, make_account):
    account = make_account("twice", tz="America/New_York")
    schedule = schedule_create(account, Actor.system(), name="Daily", frequency="daily", recipients=["a@b.test"],
                               send_hour=8)
    ReportSchedule.objects.filter(pk=schedule.pk).update(created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    # 8:00 in New York on 20 November 2026 is 13:00 UTC (EST).
    assert reports_send_due(datetime(2026, 11, 20, 12, 59, tzinfo=timezone.utc)) == []
    barrier, results = threading.Barrier(4), []

    def beat():
        barrier.wait()
        try:
            results.append(reports_send_due(datetime(2026, 11, 20, 13, 0, tzinfo=timezone.utc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r) for r in results) == 1
    run = ReportRun.objects.get(schedule=schedule)
    assert (run.period_start, run.period_end) == (date(2026, 11, 19), date(2026, 11, 20))


def test_a_report_never_contains_another_accounts_data(kolkata, make_account, smtp_server):
    other = make_account("rival", tz="Asia/Kolkata")
    ingest(other, traffic("x", local(WEEK + timedelta(days=2), 12).astimezone(timezone.utc), 30, 5,
                          prompt="RIVAL-SECRET-PROMPT", model="rival-model", cost=9.0, latency=9000.0))
    roll_all()
    schedule = weekly(kolkata)
    run = ReportRun.objects.get(pk=reports_send_due(local(WEEK + timedelta(days=7), 9))[0])
    report_run_send(run.pk)
    msg = smtp_server.messages[0]["message"]
    body = msg.get_body(("html",)).get_content() + msg.get_body(("plain",)).get_content()
    assert "RIVAL" not in body and "rival" not in body.lower()
    data = report_build(kolkata, "weekly", WEEK, WEEK + timedelta(days=7))
    assert data["current"]["total_requests"] == 7 * 95 + 1
    assert schedule.account_id == kolkata.pk


def test_preview_and_send_now(kolkata, member_of, session_client, smtp_server):
    schedule = weekly(kolkata)
    admin = session_client(member_of(kolkata, Role.ADMIN), kolkata)
    member = session_client(member_of(kolkata, Role.MEMBER), kolkata)
    preview = member.get(f"/api/v1/report-schedules/{schedule.pk}/preview").json()
    assert preview["html"].count("data:image/png;base64,") == 3 and "Key metrics" in preview["html"]
    assert "KEY METRICS" in preview["text"]
    assert member.post(f"/api/v1/report-schedules/{schedule.pk}/send-now").status_code == 403
    response = admin.post(f"/api/v1/report-schedules/{schedule.pk}/send-now")
    assert response.status_code == 200 and response.json()["status"] == "sent" and response.json()["kind"] == "manual"
    assert len(smtp_server.messages) == 1
    # A manual run does not take the period's scheduled slot.
    run = ReportRun.objects.get(pk=response.json()["id"])
    due = reports_send_due(local(run.period_end, 9))
    assert len(due) == 1


@pytest.mark.parametrize("body, field", [
    ({"name": "r", "frequency": "hourly", "recipients": ["a@b.test"]}, "frequency"),
    ({"name": "r", "frequency": "daily", "recipients": []}, "recipients"),
    ({"name": "r", "frequency": "daily", "recipients": ["nope"]}, "recipients"),
    ({"name": "r", "frequency": "daily", "recipients": ["a@b.test"], "send_hour": 24}, "send_hour"),
    ({"name": "", "frequency": "daily", "recipients": ["a@b.test"]}, "name"),
])
def test_bad_schedules_are_400(account, member_of, session_client, body, field):
    admin = session_client(member_of(account, Role.ADMIN), account)
    response = admin.post("/api/v1/report-schedules", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()


class _Refusing:
    """An SMTP server that refuses every recipient, as a mail relay does when it will not relay."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.7.1 Relaying denied"


@pytest.fixture
def refusing_smtp(settings):
    from aiosmtpd.controller import Controller

    from tests.alerts.conftest import free_port

    controller = Controller(_Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.REPORT_RETRY_SECONDS = 300
    try:
        yield controller
    finally:
        controller.stop()


def test_a_refused_report_fails_with_its_reason_and_next_attempt_then_retry_now_sends_it(
        kolkata, other_account, member_of, session_client, refusing_smtp, smtp_server, settings):
    from django.utils import timezone as dj_timezone

    from alerts.services.reports import reports_recover

    accepting_port = smtp_server.port
    settings.EMAIL_PORT = refusing_smtp.port  # the refusing server first
    weekly(kolkata)
    run_id = reports_send_due(local(WEEK + timedelta(days=7), 9))[0]
    before = dj_timezone.now()
    assert report_run_send(run_id) is False
    run = ReportRun.objects.get(pk=run_id)
    assert run.status == "failed" and run.attempts == 1
    assert "550" in run.error and "Relaying denied" in run.error
    assert before + timedelta(seconds=300) <= run.next_attempt_at <= dj_timezone.now() + timedelta(seconds=300)
    assert report_run_send(run_id) is False  # a duplicated message before the retry time: nothing happens
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("failed", 1)

    admin = session_client(member_of(kolkata, Role.ADMIN), kolkata)
    shown = admin.get(f"/api/v1/report-runs/{run_id}").json()
    assert (shown["status"], shown["attempts"], shown["error"]) == ("failed", 1, run.error)
    assert shown["next_attempt_at"] is not None
    page = admin.get(f"/a/{kolkata.slug}/alerts/reports/{run.schedule_id}/").content.decode()
    assert "Relaying denied" in page and "Next attempt" in page and "Retry now" in page

    # Its retry time comes: recovery queues it, it fails again and waits twice as long; the third failure gives up.
    assert reports_recover(run.next_attempt_at - timedelta(seconds=1)) == 0
    assert reports_recover(run.next_attempt_at) == 1
    run.refresh_from_db()
    assert run.status == "sending"
    second = dj_timezone.now()
    report_run_send(run_id)
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("failed", 2)
    assert run.next_attempt_at >= second + timedelta(seconds=600)
    assert reports_recover(run.next_attempt_at) == 1
    report_run_send(run_id)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.next_attempt_at) == ("failed", 3, None)
    assert reports_recover(dj_timezone.now() + timedelta(days=30)) == 0  # given up: only "retry now" sends it
    assert "Given up after 3 attempts" in admin.get(f"/a/{kolkata.slug}/alerts/reports/{run.schedule_id}/")\
        .content.decode()

    # Retry now: members may not, another account cannot see it, the admin can; the accepting server gets it.
    member = session_client(member_of(kolkata, Role.MEMBER), kolkata)
    assert member.post(f"/api/v1/report-runs/{run_id}/retry").status_code == 403
    stranger = session_client(other_account.memberships.get(role=Role.OWNER).user, other_account)
    assert stranger.post(f"/api/v1/report-runs/{run_id}/retry").status_code == 404
    retried = admin.post(f"/api/v1/report-runs/{run_id}/retry")
    assert retried.status_code == 200 and (retried.json()["status"], retried.json()["attempts"]) == ("sending", 0)
    assert admin.post(f"/api/v1/report-runs/{run_id}/retry").status_code == 409  # not failed any more
    settings.EMAIL_PORT = accepting_port
    assert report_run_send(run_id) is True
    run.refresh_from_db()
    assert (run.status, run.attempts, run.error, run.next_attempt_at) == ("sent", 1, "", None)
    assert len(smtp_server.messages) == 1
    assert sorted(smtp_server.messages[0]["to"]) == ["cto@kolkata.test", "ops@kolkata.test"]
    assert report_run_send(run_id) is True and len(smtp_server.messages) == 1  # sent once


def test_retry_now_from_the_console(kolkata, member_of, session_client, refusing_smtp):
    weekly(kolkata)
    run_id = reports_send_due(local(WEEK + timedelta(days=7), 9))[0]
    report_run_send(run_id)
    run = ReportRun.objects.get(pk=run_id)
    admin = session_client(member_of(kolkata, Role.ADMIN), kolkata)
    url = f"/a/{kolkata.slug}/alerts/reports/{run.schedule_id}/"
    response = admin.post(url, {"action": "retry", "run": run_id})
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("sending", 0)
    viewer = session_client(member_of(kolkata, Role.VIEWER), kolkata)
    ReportRun.objects.filter(pk=run_id).update(status="failed")
    assert viewer.post(url, {"action": "retry", "run": run_id}).status_code == 403
    assert ReportRun.objects.get(pk=run_id).status == "failed"