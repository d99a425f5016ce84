"""Actions on alerts (L8) in headless Chromium: a member gives a rule a rollback action on its page
(a scale action without a deployment is refused on the field), the rule fires, the signed action
webhook reaches a real HTTP server on 127.0.0.1, and the event's timeline shows what was asked
and the receiver's answer."""
from datetime import datetime, timedelta, timezone

import pytest

from accounts.services import Actor, account_create
from alerts.models import AlertEvent, AlertRule, Delivery
from alerts.services import rules as rule_services
from alerts.services.evaluation import alerts_evaluate_due
from models_registry.models import Deployment, DeploymentVersion, Model, ReplicaEvent
from tests.alerts.conftest import http_receiver, ingest, roll_all, send_pending, signed, traffic  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "actions-pass-1"


def test_rule_action_is_configured_sent_and_shown(live_server, page, shot, http_receiver, settings):
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    acme, maya, _ = account_create(slug="acme", name="Acme Analytics", owner_email="maya@acme.test",
                                   password=PASSWORD, timezone_name="Asia/Kolkata")
    owner = Actor(user=maya)
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    model = Model.objects.create(account=acme, name="llama-ft", model_type="fine_tuned")
    dep = Deployment.objects.create(account=acme, model=model, name="support-prod", hardware="A100", max_replicas=4,
                                    deployed_at=now - timedelta(days=20))
    for k, version in enumerate(("v7", "v8")):
        v = DeploymentVersion.objects.create(account=acme, deployment=dep, version=version)
        ReplicaEvent.objects.create(account=acme, deployment=dep, version=v, replicas=2, hardware="A100",
                                    at=now - timedelta(days=10 - 5 * k))
    hook = rule_services.channel_create(acme, owner, name="Deploy bot", kind="webhook",
                                        url=http_receiver.url("/deploy-bot"))
    rule = rule_services.rule_create(acme, owner, name="Support answers failing", metric="error_rate", operator="gt",
                                     threshold=5, window_minutes=5, duration_minutes=0, severity="critical",
                                     prompt="support-answer", channels=[rule_services.in_app_channel(acme)])

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "maya@acme.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/a/acme/**")
    page.goto(f"{live_server.url}/a/acme/alerts/rules/{rule.pk}/")
    card = page.locator("[data-testid=rule-action]")
    card.locator("#id_kind").select_option("scale_up")
    card.locator("#id_channel").select_option(label="Deploy bot")
    card.locator("button[value=save]").click()
    assert "required to scale up" in page.locator("[data-testid=rule-action] .field.has-error").inner_text()
    card = page.locator("[data-testid=rule-action]")
    card.locator("#id_kind").select_option("rollback")
    card.locator("#id_deployment").select_option(str(dep.pk))
    card.locator("#id_on_resolved").check()
    card.locator("button[value=save]").click()
    page.wait_for_selector("[data-testid=rule-action] .badge.info")
    assert "Roll back" in page.locator("[data-testid=rule-action] .card-head").inner_text()
    page.locator("[data-testid=rule-action]").scroll_into_view_if_needed()
    shot(page, "alerts-rule-action")

    ingest(acme, traffic("bad", now - timedelta(minutes=5), 5, 6, fail_every=2, prompt="support-answer"))
    roll_all()
    AlertRule.objects.filter(pk=rule.pk).update(next_check_at=now - timedelta(minutes=1))
    alerts_evaluate_due(now)
    event = AlertEvent.objects.for_account(acme).get(rule=rule)
    send_pending(acme)
    sent = [r for r in http_receiver.requests if r["path"] == "/deploy-bot"]
    assert len(sent) == 1 and signed(sent[0], hook.secret)
    assert sent[0]["json"]["target"]["version"]["version"] == "v7"
    assert Delivery.objects.for_account(acme).get(purpose="action").response_status == 200

    page.goto(f"{live_server.url}/a/acme/alerts/events/{event.pk}/")
    item = page.locator("[data-testid=action-sent]")
    assert item.count() == 1
    text = item.inner_text()
    assert "Rollback" in text and "support-prod" in text and "to v7" in text and "Deploy bot" in text
    assert item.locator("[data-testid=action-answer]").inner_text() == "200 accepted"
    shot(page, "alerts-event-action")
    assert page.console_errors == []
