"""Console pages for alerts: every page for every role, writes by role, the bell, and the flows
(create a rule, acknowledge and resolve an event with a post-mortem, a failed delivery shown)."""
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Role
from alerts.models import AlertEvent, AlertRule, Channel, Delivery, Notification, NotificationRead
from tests.accounts.urlwalk import iter_routes
from tests.factories import FACTORIES

ROLES = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]


def alert_routes():
    return [r for r in iter_routes() if r.pattern.startswith("a/") and
            (r.name.startswith("alerts") or r.name.startswith("notification"))]


def page_urls(account, marker="PAGEROW"):
    urls = []
    for route in alert_routes():
        kwargs = {"account_slug": account.slug}
        if "pk" in route.kwargs:
            model = route.view_class.model
            kwargs["pk"] = FACTORIES[model](account, marker).pk
        urls.append((route, reverse(route.name, kwargs=kwargs)))
    return urls


def login(user):
    client = Client()
    client.force_login(user)
    return client


def post_forms(html):
    return [f for f in re.findall(r'<form[^>]*method="post"[^>]*>', html) if "/logout/" not in f
            and "/notifications/" not in f]


def test_the_pages_exist():
    names = {r.name for r in alert_routes()}
    assert {"alerts", "alerts-rule", "alerts-events", "alerts-event", "alerts-channels", "alerts-channel",
            "alerts-metrics", "notifications", "alerts-slas", "alerts-sla", "alerts-reports", "alerts-report",
            "alerts-report-preview"} <= names


@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders_for_every_role(account, member_of, role):
    client = login(member_of(account, role))
    pages = [(route, url) for route, url in page_urls(account) if "get" in route.methods]
    assert len(pages) >= 10
    for route, url in pages:
        response = client.get(url)
        assert response.status_code == 200, (role, url, response.status_code)
        html = response.content.decode()
        assert account.name in html and re.search(r"<h1[^>]*>\s*\S", html), url
        if route.name == "alerts-report-preview":
            assert "Key metrics" in html and html.count("data:image/png;base64,") == 3
            continue
        assert 'data-testid="bell"' in html
        forms = post_forms(html)
        writer = Role.at_least(role, Role.ADMIN if "report" in route.name else Role.MEMBER)
        if route.name.startswith("notification"):
            continue
        if writer:
            assert forms or route.name == "alerts-events", (role, url)  # the event list only links
        else:
            assert not forms, (role, url, forms)
            assert "Read-only for" in html, (role, url)


def test_viewers_cannot_post_but_clear_their_bell(account, member_of):
    viewer = login(member_of(account, Role.VIEWER))
    before = AuditEvent.objects.for_account(account).count()
    for route, url in page_urls(account):
        if route.name.startswith("notification"):
            continue
        response = viewer.post(url, {"name": "x", "action": "resolve", "note": "n"})
        assert response.status_code == 403, url
    assert AuditEvent.objects.for_account(account).count() == before
    notification = FACTORIES[Notification](account, "BELL")
    unread = Notification.objects.for_account(account).count()
    html = viewer.get(reverse("alerts", kwargs={"account_slug": account.slug})).content.decode()
    assert f'data-testid="bell-count">{unread}<' in html and "BELL notification" in html
    response = viewer.post(reverse("notification-open", kwargs={"account_slug": account.slug, "pk": notification.pk}))
    assert response.status_code == 302 and f"/alerts/events/{notification.event_id}/" in response["Location"]
    assert NotificationRead.objects.for_account(account).filter(notification=notification).count() == 1
    html = viewer.get(reverse("alerts", kwargs={"account_slug": account.slug})).content.decode()
    assert f'data-testid="bell-count">{unread - 1}<' in html and "BELL notification" not in html
    assert viewer.post(reverse("notifications", kwargs={"account_slug": account.slug})).status_code == 302
    html = viewer.get(reverse("alerts", kwargs={"account_slug": account.slug})).content.decode()
    assert 'data-testid="bell-count"' not in html


def test_create_a_rule_then_act_on_its_event(account, member_of):
    member = login(member_of(account, Role.MEMBER))
    url = reverse("alerts", kwargs={"account_slug": account.slug})
    in_app = Channel.objects.for_account(account).filter(kind="in_app")
    member.get(url)  # creates the defaults
    response = member.post(url, {"name": "p99 too slow", "metric_choice": "p99_latency_ms", "operator": "gt",
                                 "threshold": "5000", "window_minutes": "5", "duration_minutes": "2",
                                 "min_requests": "1", "severity": "critical", "channels": [in_app.get().pk],
                                 "prompt": "checkout"})
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = AlertRule.objects.for_account(account).get(name="p99 too slow")
    assert (rule.metric, rule.threshold, rule.duration_minutes, rule.prompt) == ("p99_latency_ms", 5000, 2, "checkout")
    # A bad threshold comes back with the field's error, not a 500.
    response = member.post(url, {"name": "bad", "metric_choice": "error_rate", "operator": "gt", "threshold": "x",
                                 "window_minutes": "5", "duration_minutes": "0", "min_requests": "1",
                                 "severity": "info"})
    assert response.status_code == 200 and "Enter a number" in response.content.decode()
    page = member.get(reverse("alerts", kwargs={"account_slug": account.slug})).content.decode()
    assert "p99 too slow" in page and "&gt; 5,000 ms" in page

    from tests.factories import T0
    event = AlertEvent.objects.create(account=account, rule=rule, rule_name=rule.name, metric="p99_latency_ms",
                                      severity="critical", operator="gt", threshold=5000, value=6200, started_at=T0,
                                      fired_at=T0)
    event_url = reverse("alerts-event", kwargs={"account_slug": account.slug, "pk": event.pk})
    html = member.get(event_url).content.decode()
    assert "6,200 ms" in html and 'data-testid="acknowledge"' in html
    assert member.post(event_url, {"action": "acknowledge", "note": ""}).status_code == 302
    event.refresh_from_db()
    assert event.status == "acknowledged"
    response = member.post(event_url, {"action": "resolve", "note": ""})
    assert response.status_code == 200 and "required: cause and prevention" in response.content.decode()
    response = member.post(event_url, {"action": "resolve", "note": "Cold cache after deploy; warm it first."})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == "resolved" and event.note.startswith("Cold cache")
    assert "Cold cache" in member.get(event_url).content.decode()


def test_failed_deliveries_are_visible_and_retryable(account, member_of):
    member = login(member_of(account, Role.MEMBER))
    delivery = FACTORIES[Delivery](account, "FAILDEMO")
    Delivery.objects.filter(pk=delivery.pk).update(last_error="HTTP 503: upstream down", attempts=5)
    html = member.get(reverse("alerts-channels", kwargs={"account_slug": account.slug})).content.decode()
    assert 'data-testid="failed-count">1 failed' in html and "HTTP 503: upstream down" in html
    html = member.get(reverse("alerts-channel", kwargs={"account_slug": account.slug,
                                                        "pk": delivery.channel_id})).content.decode()
    assert "HTTP 503: upstream down" in html
    response = member.post(reverse("alerts-delivery-retry", kwargs={"account_slug": account.slug, "pk": delivery.pk}))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_channel_form_shows_the_secret_once(account, member_of):
    member = login(member_of(account, Role.MEMBER))
    url = reverse("alerts-channels", kwargs={"account_slug": account.slug})
    response = member.post(url, {"name": "ops", "kind": "webhook", "url": "https://hooks.example.test/ops",
                                 "enabled": "on", "recipients_text": ""})
    assert response.status_code == 302
    channel = Channel.objects.for_account(account).get(name="ops")
    assert channel.secret in member.get(url).content.decode()
    assert channel.secret not in member.get(url).content.decode()
    response = member.post(url, {"name": "mail", "kind": "email", "recipients_text": "a@x.test, nope"})
    assert response.status_code == 200 and "valid email" in response.content.decode()
    response = member.post(url, {"name": "mail", "kind": "email", "recipients_text": ""})
    assert response.status_code == 200 and "at least one address" in response.content.decode()


def test_edit_mute_and_tune_from_the_console(account, member_of):
    member = login(member_of(account, Role.MEMBER))
    slug = account.slug
    member.get(reverse("alerts", kwargs={"account_slug": slug}))
    spike = AlertRule.objects.for_account(account).get(detector="traffic_spike")
    url = reverse("alerts-rule", kwargs={"account_slug": slug, "pk": spike.pk})
    form = {"name": "ignored", "metric_choice": "error_rate", "operator": "lt", "threshold": "3",
            "window_minutes": "30", "duration_minutes": "10", "min_requests": "50", "severity": "critical",
            "channels": [c.pk for c in spike.channels.all()]}
    response = member.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    spike.refresh_from_db()
    # Tuned; what makes it the traffic-spike detector stays.
    assert (spike.threshold, spike.window_minutes, spike.duration_minutes, spike.min_requests, spike.severity) == \
        (3.0, 30, 10, 50, "critical")
    assert (spike.name, spike.metric, spike.operator, spike.baseline) == \
        ("Anomaly: traffic spike", "total_requests", "gt", "weekly")
    assert member.post(url, {"action": "mute"}).status_code == 302
    spike.refresh_from_db()
    assert spike.muted
    assert AuditEvent.objects.for_account(account).filter(action="alert_rule.muted", target_id=str(spike.pk)).exists()
    # Anomaly detectors have no delete button, and the delete URL refuses.
    assert "alerts-rule-delete" not in member.get(url).content.decode()
    response = member.post(reverse("alerts-rule-delete", kwargs={"account_slug": slug, "pk": spike.pk}))
    assert response.status_code == 302 and AlertRule.objects.filter(pk=spike.pk).exists()


def test_slas_and_reports_from_the_console(account, member_of, smtp_server):
    slug = account.slug
    member = login(member_of(account, Role.MEMBER))
    response = member.post(reverse("alerts-slas", kwargs={"account_slug": slug}),
                           {"name": "Uptime", "objective": "availability", "target": "99.9", "window_days": "30",
                            "down_error_rate": "50"})
    assert response.status_code == 302
    from alerts.models import ReportRun, ReportSchedule, Sla
    sla = Sla.objects.for_account(account).get(name="Uptime")
    html = member.get(reverse("alerts-sla", kwargs={"account_slug": slug, "pk": sla.pk})).content.decode()
    # No requests: no minute with traffic to judge, so no data (docs/alerts.md), not "meeting".
    assert 'data-testid="sla-status"' in html and "No data" in html and "No traffic" in html
    response = member.post(reverse("alerts-slas", kwargs={"account_slug": slug}),
                           {"name": "Bad", "objective": "availability", "target": "100", "window_days": "30",
                            "down_error_rate": "50"})
    assert response.status_code == 200 and "between 0 and 100" in response.content.decode()

    admin = login(member_of(account, Role.ADMIN))
    reports = reverse("alerts-reports", kwargs={"account_slug": slug})
    assert member.post(reports, {"name": "x"}).status_code == 403
    response = admin.post(reports, {"name": "Daily digest", "frequency": "daily", "send_hour": "7", "enabled": "on",
                                    "recipients_text": "a@acme.test, b@acme.test"})
    assert response.status_code == 302
    schedule = ReportSchedule.objects.for_account(account).get(name="Daily digest")
    assert schedule.recipients == ["a@acme.test", "b@acme.test"]
    response = admin.post(reverse("alerts-report", kwargs={"account_slug": slug, "pk": schedule.pk}),
                          {"action": "send"})
    assert response.status_code == 302
    run = ReportRun.objects.get(schedule=schedule)
    assert run.status == "sent" and run.kind == "manual"
    assert len(smtp_server.messages) == 1 and sorted(smtp_server.messages[0]["to"]) == ["a@acme.test", "b@acme.test"]
