"""The alerts console in headless Chromium: rules, an event acknowledged and resolved with a
post-mortem, channels with a failed delivery, SLAs, reports and the rendered report e-mail, the bell.
Screenshots: alerts-*.png in the tests' output folder."""
from datetime import datetime, timedelta, timezone

import pytest

from accounts.models import Role
from accounts.services import Actor, account_create, membership_invite, user_get_or_create
from alerts.models import AlertEvent, AlertRule, Delivery
from alerts.services import rules as rule_services
from alerts.services.evaluation import alerts_evaluate_due
from alerts.services.reports import schedule_create
from alerts.services.slas import sla_create
from models_registry.models import Model
from tests.alerts.conftest import ingest, roll_all, traffic
from traces.models import Trace
from traces.services import feedback_record

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def seed():
    acme, maya, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                   password="console-pass-1", timezone_name="Europe/Berlin")
    membership_invite(acme, Actor.system(), email="ana@acme.test", role=Role.VIEWER)
    user_get_or_create("ana@acme.test", password="p-ana-12345")
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    for d in range(1, 36):
        day = now - timedelta(days=d)
        for name, latency, cost, prompt in (("gpt-4o", 650.0, 0.006, "support-answer"),
                                            ("claude-sonnet", 1200.0, 0.015, "summarize-ticket")):
            items = traffic(f"{name}-{d}", day - timedelta(hours=2), 60, 4, latency=latency + 20 * (d % 5), cost=cost,
                            model=name, prompt=prompt, fail_every=50, feature="helpdesk", user_id=f"u{d % 9}")
            ingest(acme, items)
            for i, item in enumerate(items[::12]):
                feedback_record(acme, {"request_id": item["request_id"], "thumbs": "up" if i % 5 else "down"})
    # Two outages in the SLA window.
    ingest(acme, traffic("outage1", now - timedelta(days=4, hours=3), 9, 3, fail_every=1, model="gpt-4o",
                         prompt="support-answer"))
    ingest(acme, traffic("outage2", now - timedelta(days=12, hours=5), 5, 3, fail_every=1, model="gpt-4o",
                         prompt="support-answer"))
    # Right now: support answers failing a third of the time (up to this minute, none ahead of
    # the clock: the SLA figures below are counted from the raw rows after the page answered).
    ingest(acme, traffic("now", now - timedelta(minutes=22), 22, 4, fail_every=3, model="gpt-4o",
                         prompt="support-answer", latency=2400.0, cost=0.006))
    roll_all()
    gpt = Model.objects.get(account=acme, name="gpt-4o")
    owner = Actor(user=maya)
    rule_services.alerts_ensure_defaults(acme)
    hook = rule_services.channel_create(acme, owner, name="Ops webhook", kind="webhook",
                                        url="http://127.0.0.1:9/unreachable")
    rule_services.channel_create(acme, owner, name="On-call e-mail", kind="email",
                                 recipients=["oncall@acme.test", "maya@acme.test"])
    rule_services.channel_create(acme, owner, name="PagerDuty", kind="pagerduty", routing_key="R0UTINGKEY",
                                 url="http://127.0.0.1:9/pd")
    in_app = rule_services.in_app_channel(acme)
    rule_services.rule_create(acme, owner, name="Support answers failing", metric="error_rate", operator="gt",
                              threshold=5, window_minutes=5, duration_minutes=0, severity="critical", model=gpt,
                              prompt="support-answer", channels=[in_app, hook], renotify_minutes=30)
    rule_services.rule_create(acme, owner, name="p99 latency", metric="p99_latency_ms", operator="gt", threshold=5000,
                              window_minutes=5, duration_minutes=2, severity="critical", channels=[in_app])
    rule_services.rule_create(acme, owner, name="Success rate", metric="success_rate", operator="lt", threshold=95,
                              window_minutes=5, duration_minutes=5, severity="warning", channels=[in_app])
    csat = rule_services.custom_metric_create(acme, owner, name="customer_satisfaction", label="Customer Satisfaction",
                                              unit="percent",
                                              formula="(thumbs_up / (thumbs_up + thumbs_down)) × 100")
    rule_services.rule_create(acme, owner, name="Customer satisfaction", metric="", custom_metric=csat,
                              operator="lt", threshold=80, window_minutes=60, duration_minutes=60, severity="warning",
                              channels=[in_app])
    AlertRule.objects.for_account(acme).update(next_check_at=now - timedelta(minutes=1))
    alerts_evaluate_due(now)
    # The webhook is down: its delivery is retried, then given up.
    from alerts.services.delivery import delivery_attempt
    for delivery in Delivery.objects.for_account(acme).filter(channel=hook):
        for _ in range(5):
            Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)  # its backoff ran out
            delivery_attempt(delivery.pk)
    sla_create(acme, owner, name="Support availability", objective="availability", target=99.9, model=gpt)
    sla_create(acme, owner, name="Support p95", objective="latency_p95", target=2000, prompt="support-answer")
    sla_create(acme, owner, name="Summaries succeed", objective="success_rate", target=95, prompt="summarize-ticket")
    schedule_create(acme, owner, name="Weekly performance review", frequency="weekly",
                    recipients=["cto@acme.test", "ops@acme.test"], send_hour=9)
    return acme


def login(page, base, email, password):
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/a/acme/**")


def test_alerts_console_journey(live_server, page, shot, settings):
    # The channels point at a closed port on this machine: allowed here so the failure shown is the connection's.
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    acme = seed()
    base = live_server.url
    login(page, base, "maya@acme.test", "console-pass-1")

    page.goto(f"{base}/a/acme/alerts/")
    assert page.locator("[data-testid=rules-table] tbody tr").count() == 4
    assert "firing" in page.locator("tr[data-rule='Support answers failing']").inner_text()
    assert page.locator("[data-testid=anomaly-table] tbody tr").count() == 6
    assert int(page.locator("[data-testid=bell-count]").inner_text()) >= 1
    shot(page, "alerts-rules")

    # The bell lists the notification; opening it marks it read and shows the event.
    page.click("[data-testid=bell] summary")
    page.wait_for_selector(".bell-menu")
    shot(page, "alerts-bell")
    page.locator(".bell-item", has_text="Support answers failing").first.click()
    page.wait_for_url("**/alerts/events/*/")
    event = AlertEvent.objects.for_account(acme).get(rule_name="Support answers failing")
    assert page.locator("[data-testid=event-status]").inner_text() == "firing"
    page.fill("#id_note", "Looking at it: the new retrieval index times out.")
    page.click("[data-testid=acknowledge]")
    page.wait_for_selector(".toast.success")
    assert page.locator("[data-testid=event-status]").inner_text() == "acknowledged"
    page.fill("#id_note", "Cause: the retrieval index rebuilt during peak hours and timed out.\n"
                          "Prevention: rebuild off-peak; alert on index latency.")
    page.once("dialog", lambda d: d.accept())
    page.click("[data-testid=resolve]")
    page.wait_for_selector(".toast.success")
    event.refresh_from_db()
    assert event.status == "resolved" and event.resolution == "manual" and "off-peak" in event.note
    page.mouse.move(0, 0)
    shot(page, "alerts-event")

    page.goto(f"{base}/a/acme/alerts/events/")
    assert page.locator("[data-testid=events-table] tbody tr").count() >= 1
    shot(page, "alerts-events")

    page.goto(f"{base}/a/acme/alerts/channels/")
    assert page.locator("tr[data-channel='Ops webhook'] [data-testid=failed-count]").inner_text() == "1 failed"
    assert "Connection" in page.locator("[data-testid=failures-table]").inner_text()
    shot(page, "alerts-channels")

    page.goto(f"{base}/a/acme/alerts/slas/")
    card = page.locator("[data-sla='Support availability']")
    # Only minutes with traffic are judged (docs/alerts.md): counted here from the raw rows.
    from collections import Counter
    total, failed = Counter(), Counter()
    window_start = datetime.now(timezone.utc) - timedelta(days=30)
    for t in Trace.objects.for_account(acme).filter(model__name="gpt-4o", executed_at__gte=window_start):
        minute = t.executed_at.replace(second=0, microsecond=0)
        total[minute] += 1
        failed[minute] += t.status == "failure"
    down = sum(1 for m in total if 2 * failed[m] >= total[m])
    allowed = 0.001 * len(total)
    text = card.inner_text()
    assert ("meeting" if down <= allowed else "violating") in text
    assert f"{down} min down of {allowed:.1f}".replace(".0 ", " ") in text.replace(",", "")
    assert f"{len(total):,} minutes with traffic" in text
    shot(page, "alerts-slas")
    card.click()
    page.wait_for_selector("[data-testid=sla-history]")
    assert page.locator("[data-testid=sla-history] tbody tr").count() == 31
    shot(page, "alerts-sla")

    page.goto(f"{base}/a/acme/alerts/reports/")
    page.locator("a", has_text="Edit").first.click()
    page.wait_for_selector("[data-testid=report-preview]")
    page.frame_locator("[data-testid=report-preview]").locator("text=Key metrics").wait_for()
    page.wait_for_function("() => [...document.querySelector('[data-testid=report-preview]').contentDocument"
                           ".images].every(i => i.complete && i.naturalWidth > 0)")
    shot(page, "alerts-reports")

    # The report e-mail as recipients see it: metrics, three charts that loaded, recommendations.
    report_page = page.context.new_page()
    schedule_id = page.url.rstrip("/").split("/")[-1]
    report_page.goto(f"{base}/a/acme/alerts/reports/{schedule_id}/preview/")
    report_page.set_viewport_size({"width": 760, "height": 1000})
    widths = report_page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 3 and all(w > 500 for w in widths)
    report_page.screenshot(path=str(_shots() / "alerts-report-email.png"), full_page=True)
    text = report_page.inner_text("body")
    assert "Key metrics" in text and "Recommendations" in text
    assert "most expensive prompt is “summarize-ticket”" in text
    report_page.close()

    # A viewer reads everything, changes nothing.
    page.context.clear_cookies()
    login(page, base, "ana@acme.test", "p-ana-12345")
    page.goto(f"{base}/a/acme/alerts/")
    assert page.locator("[data-testid=read-only]").count() == 1
    assert page.locator("[data-testid=rule-form]").count() == 0
    assert not page.console_errors, page.console_errors


def _shots():
    from tests.e2e.conftest import SHOTS
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
