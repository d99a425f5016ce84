"""A report whose e-mail failed, in headless Chromium: the reason, the next attempt and
"Retry now", which queues it again. Screenshot: reports-failed.png in the tests' output folder."""
from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.services import Actor, account_create
from alerts.models import ReportRun
from alerts.services.reports import schedule_create
from tests.e2e.test_alerts_console import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_failed_report_shows_why_when_next_and_retries_now(live_server, page, shot):
    acme, maya, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                   password="console-pass-1", timezone_name="Asia/Kolkata")
    schedule = schedule_create(acme, Actor(user=maya), name="Daily digest", frequency="daily",
                               recipients=["cto@acme.test"], send_hour=8)
    sent = ReportRun.objects.create(account=acme, schedule=schedule, period_start=date(2026, 12, 3),
                                    period_end=date(2026, 12, 4), status="sent", attempts=1,
                                    recipients=["cto@acme.test"], sent_at=timezone.now() - timedelta(days=1))
    retry_at = timezone.now() + timedelta(minutes=10)
    failed = ReportRun.objects.create(
        account=acme, schedule=schedule, period_start=date(2026, 12, 4), period_end=date(2026, 12, 5),
        status="failed", attempts=2, recipients=["cto@acme.test"], next_attempt_at=retry_at,
        error="SMTPRecipientsRefused: {'cto@acme.test': (550, b'5.7.1 Relaying denied')}")
    base = live_server.url
    login(page, base, "maya@acme.test", "console-pass-1")
    page.goto(f"{base}/a/acme/alerts/reports/{schedule.pk}/")
    body = page.inner_text("body")
    assert "Relaying denied" in body
    local = retry_at.astimezone(acme.tzinfo)
    assert page.locator("[data-testid=next-retry]").inner_text() == f"Next attempt {local:%-d %b %H:%M}"
    assert page.locator("button", has_text="Retry now").count() == 1  # only on the failed run
    page.locator("[data-testid=next-retry]").scroll_into_view_if_needed()
    shot(page, "reports-failed")
    page.click("button:has-text('Retry now')")
    page.wait_for_selector(".toast.success")
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sending", 0)
    assert ReportRun.objects.get(pk=sent.pk).status == "sent"
    assert page.locator("button", has_text="Retry now").count() == 0
    assert not page.console_errors
