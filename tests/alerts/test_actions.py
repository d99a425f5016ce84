"""L8: a rule's action is a signed action webhook to a real HTTP server on 127.0.0.1 — the target
deployment, version or model resolved at the transition — sent once per configured transition,
shown on the event's timeline with the receiver's answer (the status code only when it failed);
the API refuses bad actions with their field."""
from datetime import datetime, timedelta, timezone

import pytest

from accounts.models import Role
from accounts.services import Actor
from alerts.models import AlertEvent, AlertRule, Delivery
from alerts.services import actions as action_services
from alerts.services import rules as rule_services
from alerts.services.evaluation import alerts_evaluate_due, event_resolve
from models_registry.models import Deployment, DeploymentVersion, Model, ReplicaEvent
from tests.alerts.conftest import ingest, send_pending, signed, traffic

UTC = timezone.utc
T = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


def minutes(n):
    return timedelta(minutes=n)


@pytest.fixture
def world(account, http_receiver, settings):
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    actor = Actor.system()
    hook = rule_services.channel_create(account, actor, name="autoscaler", kind="webhook",
                                        url=http_receiver.url("/actions"))
    notify = rule_services.channel_create(account, actor, name="ops", kind="webhook", url=http_receiver.url("/ops"))
    model = Model.objects.create(account=account, name="llama-ft", model_type="fine_tuned")
    fallback = Model.objects.create(account=account, name="gpt-4o-mini", model_type="external", provider="openai")
    dep = Deployment.objects.create(account=account, model=model, name="prod", deployed_at=T - timedelta(days=9),
                                    hardware="A100", max_replicas=4)
    v1, v2, v3 = (DeploymentVersion.objects.create(account=account, deployment=dep, version=v) for v in
                  ("v1", "v2", "v3"))
    # v1 ran, then v2, then v3 (the running one); replicas 1 → 2 → 3.
    for k, (version, replicas) in enumerate(((v1, 1), (v2, 2), (v3, 3))):
        ReplicaEvent.objects.create(account=account, deployment=dep, version=version, replicas=replicas,
                                    hardware="A100", at=T - timedelta(days=8 - 2 * k))
    rule = rule_services.rule_create(account, actor, name="Checkout errors", metric="error_rate", operator="gt",
                                     threshold=5.0, window_minutes=5, duration_minutes=0, severity="critical",
                                     prompt="checkout", channels=[notify])
    AlertRule.objects.filter(pk=rule.pk).update(next_check_at=T - minutes(10))
    return {"hook": hook, "notify": notify, "model": model, "fallback": fallback, "dep": dep,
            "versions": (v1, v2, v3), "rule": rule, "receiver": http_receiver}


def fire_and_resolve(account, rule):
    ingest(account, traffic("bad", T - minutes(6), 6, 10, fail_every=2, prompt="checkout"))
    ingest(account, traffic("ok", T + minutes(2), 10, 10, prompt="checkout"))
    alerts_evaluate_due(T)
    event = AlertEvent.objects.for_account(account).get(rule=rule)
    assert event.status == "firing"
    AlertRule.objects.filter(pk=rule.pk).update(next_check_at=T)
    assert alerts_evaluate_due(T + minutes(1)) == 1   # still firing: no second action
    AlertRule.objects.filter(pk=rule.pk).update(next_check_at=T)
    alerts_evaluate_due(T + minutes(9))
    event.refresh_from_db()
    assert event.status == "resolved"
    return event


def test_rollback_on_firing_and_scale_down_on_resolving_are_sent_once_each(account, world):
    action = action_services.rule_action_create(account, Actor.system(), rule=world["rule"], kind="rollback",
                                                channel=world["hook"], deployment=world["dep"], on_fired=True,
                                                on_resolved=True)
    event = fire_and_resolve(account, world["rule"])
    actions = Delivery.objects.for_account(account).filter(purpose="action").order_by("pk")
    assert [(d.transition, d.channel_id) for d in actions] == [("fired", world["hook"].pk),
                                                               ("resolved", world["hook"].pk)]
    send_pending(account)
    sent = [r for r in world["receiver"].requests if r["path"] == "/actions"]
    assert len(sent) == 2 and all(signed(r, world["hook"].secret) for r in sent)
    assert all(r["headers"]["X-ModelPulse-Kind"] == "action" for r in sent)
    fired = sent[0]["json"]
    assert (fired["type"], fired["action"], fired["transition"], fired["event_id"]) == ("action", "rollback", "fired",
                                                                                        event.pk)
    assert fired["target"]["deployment"]["name"] == "prod" and fired["target"]["current_version"]["version"] == "v3"
    assert fired["target"]["version"]["version"] == "v2"  # the one that ran before v3
    assert fired["action_id"] == actions[0].pk and fired["rule"]["name"] == "Checkout errors"
    assert sent[1]["json"]["transition"] == "resolved"
    # Notifications still went to the rule's own channel, separately.
    assert len([r for r in world["receiver"].requests if r["path"] == "/ops"]) == 2
    # Evaluating again once resolved sends nothing more.
    AlertRule.objects.filter(pk=world["rule"].pk).update(next_check_at=T)
    alerts_evaluate_due(T + minutes(10))
    assert Delivery.objects.for_account(account).filter(purpose="action").count() == 2

    # Scale down by 2 on resolving only: replicas 3 → 1.
    action = action_services.rule_action_update(account, Actor.system(), action, kind="scale_down", replicas=2,
                                                on_fired=False, on_resolved=True)
    target = action_services.action_target(action, T)
    assert target["replicas"] == {"current": 3, "change": -2, "desired": 1, "max": 4}
    action.kind, action.replicas = "scale_up", 5
    assert action_services.action_target(action, T)["replicas"]["desired"] == 4  # capped at max replicas


def test_after_a_rollback_the_previous_version_is_the_one_rolled_back_from(account, world):
    v1, v2, v3 = world["versions"]
    dep = world["dep"]
    assert action_services.previous_version(dep, v3, T) == v2
    ReplicaEvent.objects.create(account=account, deployment=dep, version=v2, replicas=3, hardware="A100",
                                at=T - timedelta(hours=1))
    assert action_services.running_version(dep, T) == v2
    assert action_services.previous_version(dep, v2, T) == v3


def test_switch_model_on_firing_and_a_failing_receiver_shows_only_its_status(account, world, member_of,
                                                                              session_client, client, settings):
    settings.ALERT_DELIVERY_BACKOFF_SECONDS = 0  # every retry at once, until the attempts run out
    world["receiver"].path_status["/actions"] = 503
    action_services.rule_action_create(account, Actor.system(), rule=world["rule"], kind="switch_model",
                                       channel=world["hook"], model=world["fallback"])
    event = fire_and_resolve(account, world["rule"])
    send_pending(account)
    action = Delivery.objects.for_account(account).get(purpose="action")
    assert action.transition == "fired" and action.status == "failed" and action.response_status == 503
    assert action.attempts == settings.ALERT_DELIVERY_MAX_ATTEMPTS
    body = [r for r in world["receiver"].requests if r["path"] == "/actions"][0]["json"]
    assert body["target"]["model"] == {"id": world["fallback"].pk, "name": "gpt-4o-mini", "provider": "openai",
                                       "model_type": "external"}
    # The event's page: the action on its timeline, with the status code and not the receiver's body.
    owner = account.memberships.get(role=Role.OWNER).user
    client.force_login(owner)
    page = client.get(f"/a/{account.slug}/alerts/events/{event.pk}/").content.decode()
    assert 'data-testid="action-sent"' in page and "HTTP 503" in page and "nope" not in page
    # The deliveries API lists it with its purpose and body.
    api = session_client(owner, account)
    rows = api.get(f"/api/v1/alert-deliveries?event={event.pk}").json()["results"]
    assert {r["purpose"] for r in rows} == {"action", "notification"}
    assert [r for r in rows if r["purpose"] == "action"][0]["payload"]["action"] == "switch_model"


def test_muted_rule_and_manual_resolution(account, world):
    rule = world["rule"]
    action_services.rule_action_create(account, Actor.system(), rule=rule, kind="scale_up", channel=world["hook"],
                                       deployment=world["dep"], on_resolved=True)
    ingest(account, traffic("bad", T - minutes(6), 6, 10, fail_every=2, prompt="checkout"))
    alerts_evaluate_due(T)
    event = AlertEvent.objects.for_account(account).get(rule=rule)
    event_resolve(account, Actor.system(), event, "Scaled up by the autoscaler.")
    assert list(Delivery.objects.for_account(account).filter(purpose="action").values_list("transition", flat=True)
                .order_by("pk")) == ["fired", "resolved"]
    rule_services.rule_update(account, Actor.system(), rule, muted=True)
    AlertRule.objects.filter(pk=rule.pk).update(next_check_at=T)
    alerts_evaluate_due(T + minutes(1))
    assert AlertEvent.objects.for_account(account).filter(rule=rule).count() == 2
    assert Delivery.objects.for_account(account).filter(purpose="action").count() == 2  # muted: nothing sent


def test_api_refuses_bad_actions_with_their_field(account, other_account, world, session_client):
    owner = account.memberships.get(role=Role.OWNER).user
    api = session_client(owner, account)
    foreign_model = Model.objects.create(account=other_account, name="theirs", model_type="external")
    mail = rule_services.channel_create(account, Actor.system(), name="mail", kind="email", recipients=["a@b.test"])
    base = {"rule": world["rule"].pk, "channel": world["hook"].pk}
    bad = [
        ({**base, "kind": "scale_up"}, "deployment"),
        ({**base, "kind": "switch_model"}, "model"),
        ({**base, "kind": "switch_model", "model": foreign_model.pk}, "model"),
        ({**base, "kind": "rollback", "channel": mail.pk, "deployment": world["dep"].pk}, "channel"),
        ({**base, "kind": "scale_up", "deployment": world["dep"].pk, "replicas": 0}, "replicas"),
        ({**base, "kind": "scale_up", "deployment": world["dep"].pk, "on_fired": False}, "on_fired"),
        ({**base, "kind": "scale_up", "deployment": world["dep"].pk, "version": world["versions"][0].pk}, "version"),
        ({**base, "kind": "explode", "deployment": world["dep"].pk}, "kind"),
    ]
    for body, field in bad:
        r = api.post("/api/v1/alert-actions", body, format="json")
        assert r.status_code == 400 and field in r.json()["errors"], (body, r.status_code, r.content[:300])
    r = api.post("/api/v1/alert-actions", {**base, "kind": "rollback", "deployment": world["dep"].pk,
                                           "version": world["versions"][0].pk, "on_resolved": True}, format="json")
    assert r.status_code == 201, r.json()
    again = api.post("/api/v1/alert-actions", {**base, "kind": "scale_up", "deployment": world["dep"].pk},
                     format="json")
    assert again.status_code == 400 and "rule" in again.json()["errors"]
    r = api.patch(f"/api/v1/alert-actions/{r.json()['id']}", {"kind": "scale_down", "version": None}, format="json")
    assert r.status_code == 200 and r.json()["kind"] == "scale_down"
    assert api.get("/api/v1/alert-actions").json()["count"] == 1
    assert api.delete(f"/api/v1/alert-actions/{r.json()['id']}").status_code == 204
