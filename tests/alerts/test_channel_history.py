"""Deleting a channel keeps what was sent through it: the deliveries stay, with the channel's
name and kind as they were, on the event's page and in the API; a delivery still pending
for a deleted channel fails with that reason. The migration fills the name and kind of the
deliveries that existed before."""
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Role
from accounts.services import Actor
from alerts.models import AlertEvent, Delivery, EventStatus, Transition
from alerts.services import rules as rule_services
from alerts.services.delivery import delivery_attempt
from alerts.services.notify import notify
from tests.alerts.conftest import send_pending

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def fire(account, rule):
    event = AlertEvent.objects.create(
        account=account, rule=rule, rule_name=rule.name, metric=rule.metric, scope={}, severity=rule.severity,
        status=EventStatus.FIRING, operator=rule.operator, threshold=rule.threshold, value=12.0, last_value=12.0,
        started_at=NOW - timedelta(minutes=5), fired_at=NOW, last_notified_at=NOW)
    notify(event, Transition.FIRED, 0, rule=rule)
    return event


@pytest.mark.django_db
def test_deleting_a_channel_keeps_its_delivery_history(account, other_account, member_of, session_client,
                                                       smtp_server):
    actor = Actor.system()
    mail = rule_services.channel_create(account, actor, name="oncall mail", kind="email",
                                        recipients=["oncall@acme.test"])
    spare = rule_services.channel_create(account, actor, name="spare mail", kind="email",
                                         recipients=["spare@acme.test"])
    rule = rule_services.rule_create(account, actor, name="Errors", metric="error_rate", operator="gt", threshold=5.0,
                                     window_minutes=5, duration_minutes=0, severity="critical",
                                     channels=[mail, spare])
    event = fire(account, rule)
    sent = Delivery.objects.get(channel=mail)
    send_pending(account)
    assert len(smtp_server.messages) == 2
    # A second transition is still pending on the spare channel when that channel goes.
    event.status = EventStatus.RESOLVED
    event.resolved_at, event.resolution = NOW + timedelta(minutes=9), "auto"
    event.save()
    notify(event, Transition.RESOLVED, 0, rule=rule)
    pending = Delivery.objects.get(channel=spare, transition=Transition.RESOLVED)

    admin = session_client(member_of(account, Role.ADMIN), account)
    assert admin.delete(f"/api/v1/channels/{mail.pk}").status_code == 204
    assert admin.delete(f"/api/v1/channels/{spare.pk}").status_code == 204

    sent.refresh_from_db()
    assert (sent.channel_id, sent.channel_name, sent.channel_kind, sent.status) == (
        None, "oncall mail", "email", "delivered")
    assert delivery_attempt(pending.pk).status == "failed"
    pending.refresh_from_db()
    assert pending.status == "failed" and "deleted" in pending.last_error and len(smtp_server.messages) == 2

    listed = admin.get("/api/v1/alert-deliveries", {"event": event.pk}).json()["results"]
    assert sorted((d["channel"], d["channel_name"], d["channel_kind"], d["transition"], d["status"]) for d in listed) \
        == [(None, "oncall mail", "email", "fired", "delivered"),
            (None, "oncall mail", "email", "resolved", "pending"),
            (None, "spare mail", "email", "fired", "delivered"),
            (None, "spare mail", "email", "resolved", "failed")]
    page = admin.get(f"/a/{account.slug}/alerts/events/{event.pk}/").content.decode()
    assert "Nothing sent" not in page
    assert page.count("oncall mail") >= 2 and page.count("spare mail") >= 2 and "deleted" in page
    # Retrying a delivery whose channel is gone is refused with a reason, never sent.
    retry = admin.post(f"/api/v1/alert-deliveries/{pending.pk}/retry")
    assert retry.status_code == 409 and retry.json()["errors"] == {"channel": ["deleted"]}
    # Still the account's own history only.
    stranger = session_client(other_account.memberships.get(role=Role.OWNER).user, other_account)
    assert stranger.get(f"/api/v1/alert-deliveries/{sent.pk}").status_code == 404
    assert stranger.get("/api/v1/alert-deliveries").json()["results"] == []


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_channel_name_and_kind_of_earlier_deliveries():
    executor = MigrationExecutor(connection)
    executor.migrate([("alerts", "0001_initial")])
    apps = executor.loader.project_state([("alerts", "0001_initial")]).apps
    try:
        account = apps.get_model("accounts", "Account").objects.create(slug="mig", name="Mig", timezone="UTC")
        Channel, Delivery_ = apps.get_model("alerts", "Channel"), apps.get_model("alerts", "Delivery")
        hook = Channel.objects.create(account=account, name="ops hook", kind="webhook", url="https://example.com/h")
        slack = Channel.objects.create(account=account, name="team slack", kind="slack", url="https://example.com/s")
        for channel, transition in ((hook, "fired"), (hook, "resolved"), (slack, "fired")):
            Delivery_.objects.create(account=account, channel=channel, transition=transition, status="delivered")

        executor = MigrationExecutor(connection)
        executor.migrate([("alerts", "0002_delivery_keeps_channel_report_retry")])
        apps = executor.loader.project_state([("alerts", "0002_delivery_keeps_channel_report_retry")]).apps
        Delivery_ = apps.get_model("alerts", "Delivery")
        assert sorted(Delivery_.objects.filter(account_id=account.pk).values_list(
            "channel_name", "channel_kind", "transition")) == [
            ("ops hook", "webhook", "fired"), ("ops hook", "webhook", "resolved"), ("team slack", "slack", "fired")]
        apps.get_model("alerts", "Channel").objects.filter(pk=hook.pk).delete()
        assert Delivery_.objects.filter(account_id=account.pk, channel__isnull=True).count() == 2
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
