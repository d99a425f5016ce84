"""L2/L3: a rule fires after its duration, notifies once per transition on every channel (real SMTP
server, real HTTP server, signed webhook), acknowledges, resolves automatically or by hand, reminds
at its interval, and double or concurrent evaluation never notifies twice."""
import threading
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from accounts.models import Role
from alerts.models import AlertEvent, AlertRule, Delivery, Notification
from alerts.services import rules as rule_services
from alerts.services.evaluation import alerts_evaluate_due, event_resolve
from accounts.services import Actor
from models_registry.models import Model
from tests.alerts.conftest import ingest, send_pending, signed, traffic

UTC = timezone.utc
T = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)  # a Monday, noon UTC


def minutes(n):
    return timedelta(minutes=n)


def error_rate_from_rows(account, start, end, **filters):
    """Independent: failures / requests over the raw rows of [start, end)."""
    where = " AND ".join(["account_id = %s", "executed_at >= %s", "executed_at < %s",
                          *[f"{k} = %s" for k in filters]])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE status = 'failure') FROM traces_trace WHERE {where}",
                       [account.pk, start, end, *filters.values()])
        total, failed = cursor.fetchone()
    return 100.0 * failed / total


@pytest.fixture
def channels(account, http_receiver, smtp_server):
    actor = Actor.system()
    hook = rule_services.channel_create(account, actor, name="ops webhook", kind="webhook",
                                        url=http_receiver.url("/hook"))
    slack = rule_services.channel_create(account, actor, name="slack", kind="slack", url=http_receiver.url("/slack"))
    pd = rule_services.channel_create(account, actor, name="pagerduty", kind="pagerduty",
                                      url=http_receiver.url("/pd"), routing_key="R0UTE")
    mail = rule_services.channel_create(account, actor, name="oncall mail", kind="email",
                                        recipients=["oncall@acme.test", "lead@acme.test"])
    in_app = rule_services.in_app_channel(account)
    return {"hook": hook, "slack": slack, "pd": pd, "mail": mail, "in_app": in_app}


def make_rule(account, channels, **extra):
    spec = dict(name="Checkout errors", metric="error_rate", operator="gt", threshold=5.0, window_minutes=5,
                duration_minutes=3, severity="critical", prompt="checkout")
    spec.update(extra)
    rule = rule_services.rule_create(account, Actor.system(), channels=channels, **spec)
    AlertRule.objects.filter(pk=rule.pk).update(next_check_at=T - minutes(10))
    return rule


def by_path(receiver, path):
    return [r for r in receiver.requests if r["path"] == path]


def test_fires_after_its_duration_and_notifies_once_per_transition(account, channels, http_receiver, smtp_server,
                                                                  member_of, session_client):
    # Healthy traffic before T, then half the checkout requests fail from T on; another prompt stays healthy.
    ingest(account, traffic("ok", T - minutes(30), 30, 10, prompt="checkout"))
    ingest(account, traffic("bad", T, 12, 10, fail_every=2, prompt="checkout"))
    ingest(account, traffic("other", T - minutes(30), 50, 10, fail_every=1, prompt="search"))
    rule = make_rule(account, list(channels.values()))
    for k in range(0, 4):
        assert alerts_evaluate_due(T + minutes(k)) >= 1
        rule.refresh_from_db()
        assert not AlertEvent.objects.for_account(account).exists(), f"fired early at T+{k}"
        assert rule.last_state == ("ok" if k == 0 else "pending")
    assert rule.pending_since == T + minutes(1)
    assert alerts_evaluate_due(T + minutes(4)) >= 1
    event = AlertEvent.objects.for_account(account).get()
    assert (event.status, event.started_at, event.fired_at) == ("firing", T + minutes(1), T + minutes(4))
    # The value is the metrics layer's, equal to the raw rows' error rate over the window.
    assert event.value == pytest.approx(error_rate_from_rows(account, T - minutes(1), T + minutes(4),
                                                             prompt="checkout"))
    assert event.value == pytest.approx(100.0 * 20 / 50)

    # Running again for the same minute, or the next minutes while it keeps firing: nothing new.
    assert alerts_evaluate_due(T + minutes(4)) == 0
    assert alerts_evaluate_due(T + minutes(5)) >= 1
    assert Delivery.objects.for_account(account).count() == 5
    # The e-mail is read in the account's timezone with the zone written out (rollups are done).
    type(account).objects.filter(pk=account.pk).update(timezone="Asia/Kolkata")
    send_pending(account)
    hooks = by_path(http_receiver, "/hook")
    assert len(hooks) == 1 and signed(hooks[0], channels["hook"].secret)
    body = hooks[0]["json"]
    assert {"alert_type": "threshold", "severity": "critical", "prompt_id": "checkout", "metric": "error_rate",
            "threshold": 5.0, "transition": "fired", "status": "firing", "event_id": event.pk}.items() <= body.items()
    assert body["value"] == pytest.approx(40.0) and body["timestamp"].endswith("Z")
    assert not signed(dict(hooks[0], body=hooks[0]["body"] + b" "), channels["hook"].secret)
    slack = by_path(http_receiver, "/slack")
    assert len(slack) == 1 and "Checkout errors" in slack[0]["json"]["text"] and slack[0]["json"]["blocks"]
    pd = by_path(http_receiver, "/pd")
    assert len(pd) == 1 and pd[0]["json"]["event_action"] == "trigger" and pd[0]["json"]["routing_key"] == "R0UTE"
    dedup = pd[0]["json"]["dedup_key"]
    assert pd[0]["json"]["payload"]["severity"] == "critical" and pd[0]["json"]["payload"]["summary"]
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert sorted(mail["to"]) == ["lead@acme.test", "oncall@acme.test"]
    assert "Checkout errors" in mail["message"]["Subject"] and "firing" in mail["message"]["Subject"]
    html = mail["message"].get_body(("html",)).get_content()
    text = mail["message"].get_body(("plain",)).get_content()
    assert "40%" in text and "40%" in html and f"/alerts/events/{event.pk}/" in text
    assert "Fired at:  2026-10-05 17:34 IST" in text and "2026-10-05 17:34 IST" in html  # 12:04 UTC
    assert Notification.objects.for_account(account).count() == 1

    # Acknowledged by a member: one notification per channel.
    client = session_client(member_of(account, Role.MEMBER), account)
    response = client.post(f"/api/v1/alert-events/{event.pk}/acknowledge", {"note": "Looking"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "acknowledged"
    assert alerts_evaluate_due(T + minutes(6)) >= 1  # still breaching: stays acknowledged, no new message
    send_pending(account)
    assert [r["json"]["transition"] for r in by_path(http_receiver, "/hook")] == ["fired", "acknowledged"]
    assert by_path(http_receiver, "/pd")[1]["json"] == {"routing_key": "R0UTE", "event_action": "acknowledge",
                                                        "dedup_key": dedup}
    assert len(smtp_server.messages) == 2

    # Healthy again: resolved automatically when the window no longer breaches.
    ingest(account, traffic("again", T + minutes(12), 10, 10, prompt="checkout"))
    for k in range(7, 17):
        alerts_evaluate_due(T + minutes(k))
        assert AlertEvent.objects.get(pk=event.pk).status == "acknowledged"  # T+11 still fails in the window
    alerts_evaluate_due(T + minutes(17))
    event.refresh_from_db()
    assert event.status == "resolved" and event.resolution == "auto" and event.resolved_at == T + minutes(17)
    send_pending(account)
    assert [r["json"]["transition"] for r in by_path(http_receiver, "/hook")] == ["fired", "acknowledged", "resolved"]
    assert by_path(http_receiver, "/pd")[2]["json"]["event_action"] == "resolve"
    assert by_path(http_receiver, "/pd")[2]["json"]["dedup_key"] == dedup
    assert len(smtp_server.messages) == 3 and "resolved" in smtp_server.messages[2]["message"]["Subject"]
    assert all(signed(r, channels["hook"].secret) for r in by_path(http_receiver, "/hook"))
    assert Notification.objects.for_account(account).count() == 3
    assert Delivery.objects.for_account(account).filter(status="delivered").count() == 15


def test_evaluated_twice_concurrently_notifies_once(transactional_db, make_account, http_receiver):
    account = make_account("conc")
    hook = rule_services.channel_create(account, Actor.system(), name="hook", kind="webhook",
                                        url=http_receiver.url("/hook"))
    ingest(account, traffic("bad", T - minutes(10), 10, 6, fail_every=2))
    rule = make_rule(account, [hook], duration_minutes=0, prompt="")
    barrier = threading.Barrier(4)
    counts = []

    def run():
        barrier.wait()
        try:
            counts.append(alerts_evaluate_due(T))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 1
    assert AlertEvent.objects.for_account(account).count() == 1
    assert Delivery.objects.for_account(account).filter(channel=hook).count() == 1
    rule.refresh_from_db()
    assert rule.next_check_at == T + timedelta(seconds=60)


def test_reminders_at_the_renotify_interval_until_acknowledged(account, channels, http_receiver):
    ingest(account, traffic("bad", T - minutes(10), 30, 6, fail_every=2, prompt="checkout"))
    rule = make_rule(account, [channels["hook"]], duration_minutes=0, renotify_minutes=2)
    for k in range(0, 7):
        alerts_evaluate_due(T + minutes(k))
    send_pending(account)
    kinds = [(r["json"]["transition"]) for r in by_path(http_receiver, "/hook")]
    assert kinds == ["fired", "reminder", "reminder", "reminder"]  # at T, T+2, T+4, T+6
    event = AlertEvent.objects.for_account(account).get()
    assert event.reminders == 3
    from alerts.services.evaluation import event_acknowledge
    event_acknowledge(account, Actor.system(), event)
    for k in range(7, 12):
        alerts_evaluate_due(T + minutes(k))
    send_pending(account)
    assert [r["json"]["transition"] for r in by_path(http_receiver, "/hook")][4:] == ["acknowledged"]
    rule.refresh_from_db()
    assert rule.last_state == "acknowledged"


def test_resolved_by_hand_needs_the_full_duration_again(account, channels, http_receiver):
    ingest(account, traffic("bad", T - minutes(10), 30, 6, fail_every=2, prompt="checkout"))
    rule = make_rule(account, [channels["hook"]], duration_minutes=2)
    for k in range(0, 3):
        alerts_evaluate_due(T + minutes(k))
    event = AlertEvent.objects.for_account(account).get()
    event_resolve(account, Actor.system(), event, "Provider outage; switched region.")
    event.refresh_from_db()
    assert event.resolution == "manual" and event.note == "Provider outage; switched region."
    alerts_evaluate_due(T + minutes(3))
    alerts_evaluate_due(T + minutes(4))
    assert AlertEvent.objects.for_account(account).count() == 1  # pending again, not yet firing
    alerts_evaluate_due(T + minutes(5))
    assert AlertEvent.objects.for_account(account).filter(status="firing").count() == 1
    send_pending(account)
    assert [r["json"]["transition"] for r in by_path(http_receiver, "/hook")] == ["fired", "resolved", "fired"]
    rule.refresh_from_db()
    assert rule.last_state == "firing"


def test_muted_rules_record_events_but_send_nothing(account, channels, http_receiver, smtp_server):
    ingest(account, traffic("bad", T - minutes(10), 10, 6, fail_every=2, prompt="checkout"))
    make_rule(account, [channels["hook"], channels["mail"]], duration_minutes=0, muted=True)
    alerts_evaluate_due(T)
    assert AlertEvent.objects.for_account(account).filter(status="firing").count() == 1
    assert not Delivery.objects.for_account(account).exists()
    send_pending(account)
    assert http_receiver.requests == [] and smtp_server.messages == []


def test_scope_and_no_data(account, channels):
    gpt = Model.objects.create(account=account, name="gpt-4o")
    ingest(account, traffic("bad", T - minutes(10), 10, 6, fail_every=2, model="claude"))
    ingest(account, traffic("good", T - minutes(10), 10, 6, model="gpt-4o"))
    scoped = make_rule(account, [channels["in_app"]], duration_minutes=0, prompt="", model=gpt, name="gpt only")
    whole = make_rule(account, [channels["in_app"]], duration_minutes=0, prompt="", name="everything")
    quiet = make_rule(account, [channels["in_app"]], duration_minutes=0, prompt="nobody-calls-this",
                      metric="success_rate", operator="lt", threshold=95, name="no traffic")
    alerts_evaluate_due(T)
    for rule in (scoped, whole, quiet):
        rule.refresh_from_db()
    assert scoped.last_state == "ok" and scoped.last_value == 0.0
    assert whole.last_state == "firing" and whole.last_value == pytest.approx(
        error_rate_from_rows(account, T - minutes(5), T))
    assert quiet.last_state == "no_data" and quiet.last_value is None
    assert list(AlertEvent.objects.for_account(account).values_list("rule_name", flat=True)) == ["everything"]


def test_in_app_notifications_and_the_bell_api(account, channels, member_of, session_client):
    ingest(account, traffic("bad", T - minutes(10), 10, 6, fail_every=2, prompt="checkout"))
    make_rule(account, [channels["in_app"]], duration_minutes=0)
    alerts_evaluate_due(T)
    member = session_client(member_of(account, Role.MEMBER), account)
    viewer = session_client(member_of(account, Role.VIEWER), account)
    rows = member.get("/api/v1/notifications?unread=true").json()["results"]
    assert len(rows) == 1 and rows[0]["read_at"] is None and "Checkout errors" in rows[0]["title"]
    assert member.post(f"/api/v1/notifications/{rows[0]['id']}/read").json()["read_at"] is not None
    assert member.get("/api/v1/notifications?unread=true").json()["count"] == 0
    # Read state is each member's own.
    assert viewer.get("/api/v1/notifications?unread=true").json()["count"] == 1
    assert member.post("/api/v1/notifications/read-all").json() == {"marked_read": 0}
