"""L1/L3/L6 API: rules, channels and custom metrics — roles, validation (400 with field and reason),
references to another account's objects refused, anomaly detectors on by default, audit."""
import pytest

from accounts.models import AuditEvent, Role
from alerts.models import AlertEvent, AlertRule, Channel, CustomMetric, RuleKind
from alerts.services.rules import ANOMALY_DETECTORS
from models_registry.models import Connection, Deployment, DeploymentVersion, Model
from tests.factories import T0


@pytest.fixture
def member_client(account, member_of, session_client):
    return session_client(member_of(account, Role.MEMBER), account)


def rule_body(**extra):
    return {"name": "High error rate", "metric": "error_rate", "operator": "gt", "threshold": 5,
            "window_minutes": 5, "duration_minutes": 5, "severity": "critical", **extra}


def test_member_creates_a_rule_with_scope_and_channels(account, member_client):
    model = Model.objects.create(account=account, name="gpt-4o")
    hook = member_client.post("/api/v1/channels", {"name": "ops hook", "type": "webhook",
                                                   "url": "https://hooks.example.test/x"}, format="json")
    assert hook.status_code == 201, hook.json()
    secret = hook.json()["secret"]
    assert len(secret) == 64 and hook.json()["has_secret"] is True
    response = member_client.post("/api/v1/alert-rules", rule_body(model=model.pk, prompt="checkout",
                                                                   channels=[hook.json()["id"]]), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["model"] == model.pk and body["prompt"] == "checkout" and body["channels"] == [hook.json()["id"]]
    assert body["kind"] == "threshold" and body["open_event"] is None
    rule = AlertRule.objects.for_account(account).get(pk=body["id"])
    assert rule.scope() == {"model": "gpt-4o", "prompt": "checkout"}
    assert AuditEvent.objects.for_account(account).filter(action="alert_rule.created", target_id=str(rule.pk)).exists()
    # The secret is shown once: never in reads.
    listed = member_client.get("/api/v1/channels").json()["results"]
    assert all("secret" not in row for row in listed) and secret not in str(listed)
    # Without channels, a rule notifies the console (the in-app channel).
    response = member_client.post("/api/v1/alert-rules", rule_body(name="quiet"), format="json")
    in_app = Channel.objects.for_account(account).get(kind="in_app")
    assert response.json()["channels"] == [in_app.pk]


def test_viewers_and_keys_read_but_do_not_write(account, member_of, session_client, key_client):
    viewer = session_client(member_of(account, Role.VIEWER), account)
    assert viewer.get("/api/v1/alert-rules").status_code == 200
    assert viewer.post("/api/v1/alert-rules", rule_body(), format="json").status_code == 403
    assert viewer.post("/api/v1/channels", {"name": "x", "type": "email", "recipients": ["a@b.test"]},
                       format="json").status_code == 403
    key = key_client(account, ["read"])
    assert key.get("/api/v1/alert-rules").status_code == 200
    assert key.get("/api/v1/alert-events").status_code == 200
    assert key.post("/api/v1/alert-rules", rule_body(), format="json").status_code == 403
    assert not AlertRule.objects.for_account(account).filter(kind=RuleKind.THRESHOLD).exists()


def test_anomaly_detectors_are_on_by_default_tunable_not_deletable(account, member_client):
    rows = member_client.get("/api/v1/alert-rules?kind=anomaly").json()["results"]
    assert {r["detector"] for r in rows} == set(ANOMALY_DETECTORS)
    spike = next(r for r in rows if r["detector"] == "traffic_spike")
    assert (spike["metric"], spike["operator"], spike["threshold"], spike["baseline"]) == \
        ("total_requests", "gt", 2.0, "weekly")
    assert next(r for r in rows if r["detector"] == "quality_drop")["threshold"] == 3.5
    url = f"/api/v1/alert-rules/{spike['id']}"
    response = member_client.patch(url, {"threshold": 3, "muted": True}, format="json")
    assert response.status_code == 200 and response.json()["threshold"] == 3.0 and response.json()["muted"]
    response = member_client.patch(url, {"metric": "error_rate"}, format="json")
    assert response.status_code == 400 and "metric" in response.json()["errors"]
    response = member_client.delete(url)
    assert response.status_code == 400 and "mute" in response.json()["message"]
    assert AlertRule.objects.for_account(account).filter(pk=spike["id"]).exists()
    # Listing twice creates nothing more.
    member_client.get("/api/v1/alert-rules")
    assert AlertRule.objects.for_account(account).filter(kind=RuleKind.ANOMALY).count() == len(ANOMALY_DETECTORS)


@pytest.mark.parametrize("body, field", [
    (rule_body(metric="nope"), "metric"),
    (rule_body(metric=""), "metric"),
    (rule_body(threshold="abc"), "threshold"),
    (rule_body(threshold=None), "threshold"),
    (rule_body(window_minutes=0), "window_minutes"),
    (rule_body(window_minutes=100000), "window_minutes"),
    (rule_body(duration_minutes=-1), "duration_minutes"),
    (rule_body(operator="=="), "operator"),
    (rule_body(severity="fatal"), "severity"),
    (rule_body(feature="a\x00b"), "feature"),
    (rule_body(model=999999), "model"),
    (rule_body(model="x"), "model"),
    (rule_body(channels=[999999]), "channels"),
    (rule_body(renotify_minutes=0), "renotify_minutes"),
    (rule_body(baseline="weekly", threshold=-2), "threshold"),
    (rule_body(name=""), "name"),
])
def test_bad_rules_are_400_with_field(account, member_client, body, field):
    response = member_client.post("/api/v1/alert-rules", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()


def test_objects_of_another_account_are_refused(account, other_account, member_client):
    theirs_model = Model.objects.create(account=other_account, name="secret-model")
    theirs_dep = Deployment.objects.create(account=other_account, model=theirs_model, name="d", deployed_at=T0)
    theirs_version = DeploymentVersion.objects.create(account=other_account, deployment=theirs_dep, version="v1")
    theirs_conn = Connection.objects.create(account=other_account, name="c")
    theirs_channel = Channel.objects.create(account=other_account, name="theirs", kind="email",
                                            recipients=["x@globex.test"])
    theirs_metric = CustomMetric.objects.create(account=other_account, name="csat", label="CSAT",
                                                formula="thumbs_up / (thumbs_up + thumbs_down) * 100")
    for field, value in [("model", theirs_model.pk), ("deployment", theirs_dep.pk), ("version", theirs_version.pk),
                         ("connection", theirs_conn.pk), ("channels", [theirs_channel.pk])]:
        response = member_client.post("/api/v1/alert-rules", rule_body(**{field: value}), format="json")
        assert response.status_code == 400 and field in response.json()["errors"], field
        assert "secret" not in response.content.decode()
    response = member_client.post("/api/v1/alert-rules", rule_body(metric="", custom_metric=theirs_metric.pk),
                                  format="json")
    assert response.status_code == 400 and "custom_metric" in response.json()["errors"]
    assert not AlertRule.objects.for_account(account).filter(kind="threshold").exists()
    # And their rows are 404 here.
    assert member_client.get(f"/api/v1/channels/{theirs_channel.pk}").status_code == 404
    assert member_client.get(f"/api/v1/custom-metrics/{theirs_metric.pk}").status_code == 404


def test_version_of_another_deployment_is_refused(account, member_client):
    model = Model.objects.create(account=account, name="llama")
    d1 = Deployment.objects.create(account=account, model=model, name="a", deployed_at=T0)
    d2 = Deployment.objects.create(account=account, model=model, name="b", deployed_at=T0)
    v2 = DeploymentVersion.objects.create(account=account, deployment=d2, version="v2")
    response = member_client.post("/api/v1/alert-rules", rule_body(deployment=d1.pk, version=v2.pk), format="json")
    assert response.status_code == 400 and "version" in response.json()["errors"]


@pytest.mark.parametrize("body, field", [
    ({"name": "m", "type": "email"}, "recipients"),
    ({"name": "m", "type": "email", "recipients": ["not-an-address"]}, "recipients"),
    ({"name": "w", "type": "webhook"}, "url"),
    ({"name": "w", "type": "webhook", "url": "ftp://x.test/a"}, "url"),
    ({"name": "s", "type": "slack", "url": "not a url"}, "url"),
    ({"name": "p", "type": "pagerduty"}, "routing_key"),
    ({"name": "x", "type": "carrier-pigeon"}, "type"),
    ({"name": "", "type": "in_app"}, "name"),
])
def test_bad_channels_are_400_with_field(account, member_client, body, field):
    response = member_client.post("/api/v1/channels", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()


def test_channel_updates_rotation_and_kind_is_fixed(account, member_client):
    created = member_client.post("/api/v1/channels", {"name": "h", "type": "webhook", "url": "https://hooks.example.test/h"},
                                 format="json").json()
    url = f"/api/v1/channels/{created['id']}"
    assert member_client.patch(url, {"type": "email"}, format="json").status_code == 400
    assert member_client.patch(url, {"enabled": False}, format="json").json()["enabled"] is False
    rotated = member_client.post(f"{url}/rotate-secret").json()["secret"]
    assert rotated != created["secret"] and Channel.objects.get(pk=created["id"]).secret == rotated
    pd = member_client.post("/api/v1/channels", {"name": "pd", "type": "pagerduty", "routing_key": "R0UTING"},
                            format="json")
    assert pd.status_code == 201 and "R0UTING" not in pd.content.decode()
    actions = set(AuditEvent.objects.for_account(account).values_list("action", flat=True))
    assert {"alert_channel.created", "alert_channel.updated", "alert_channel.secret_rotated"} <= actions


def test_rule_updates_are_audited_and_reset_the_pending_condition(account, member_client):
    rule = member_client.post("/api/v1/alert-rules", rule_body(), format="json").json()
    AlertRule.objects.filter(pk=rule["id"]).update(pending_since=T0)
    response = member_client.patch(f"/api/v1/alert-rules/{rule['id']}", {"threshold": 7.5}, format="json")
    assert response.status_code == 200 and response.json()["pending_since"] is None
    response = member_client.patch(f"/api/v1/alert-rules/{rule['id']}", {"muted": True}, format="json")
    log = list(AuditEvent.objects.for_account(account).filter(target_id=str(rule["id"]))
               .values_list("action", flat=True))
    assert "alert_rule.updated" in log and "alert_rule.muted" in log
    # Another rule of the same name is refused.
    again = member_client.post("/api/v1/alert-rules", rule_body(), format="json")
    assert again.status_code == 400 and "name" in again.json()["errors"]


def test_deleting_a_rule_keeps_its_history(account, member_client):
    rule = member_client.post("/api/v1/alert-rules", rule_body(), format="json").json()
    event = AlertEvent.objects.create(account=account, rule_id=rule["id"], rule_name=rule["name"], metric="error_rate",
                                      severity="critical", operator="gt", threshold=5, value=9, started_at=T0,
                                      fired_at=T0)
    assert member_client.delete(f"/api/v1/alert-rules/{rule['id']}").status_code == 204
    event.refresh_from_db()
    assert event.rule_id is None and event.status == "resolved" and event.rule_name == "High error rate"
    assert member_client.get(f"/api/v1/alert-events/{event.pk}").json()["rule_name"] == "High error rate"


def test_custom_metrics_parse_safely(account, member_client):
    ok = member_client.post("/api/v1/custom-metrics", {"name": "customer_satisfaction",
                                                       "label": "Customer Satisfaction",
                                                       "formula": "(thumbs_up / (thumbs_up + thumbs_down)) × 100",
                                                       "unit": "percent"}, format="json")
    assert ok.status_code == 201, ok.json()
    for formula, reason in [("__import__('os').system('x')", "may only"), ("thumbs_up ** 2", "+ - * /"),
                            ("nope / 2", "not a base metric"), ("1 +", "not a valid"), ("", "blank"),
                            ("thumbs_up if 1 else 2", "may only"), ("'a' * 3", "numbers"),
                            ("thumbs_up // 2", "+ - * /"), ("-" * 60 + "1", "nested")]:
        response = member_client.post("/api/v1/custom-metrics", {"name": "bad", "formula": formula}, format="json")
        assert response.status_code == 400, formula
        assert reason in str(response.json()["errors"]["formula"]), (formula, response.json())
    bad_name = member_client.post("/api/v1/custom-metrics", {"name": "Bad Name!", "formula": "1"}, format="json")
    assert bad_name.status_code == 400 and "name" in bad_name.json()["errors"]
    base_name = member_client.post("/api/v1/custom-metrics", {"name": "error_rate", "formula": "1"}, format="json")
    assert base_name.status_code == 400 and "name" in base_name.json()["errors"]
    # Usable in rules, and then not deletable.
    rule = member_client.post("/api/v1/alert-rules", rule_body(metric="", custom_metric=ok.json()["id"],
                                                               operator="lt", threshold=80), format="json")
    assert rule.status_code == 201, rule.json()
    both = member_client.post("/api/v1/alert-rules", rule_body(name="both", custom_metric=ok.json()["id"]),
                              format="json")
    assert both.status_code == 400 and "metric" in both.json()["errors"]
    assert member_client.delete(f"/api/v1/custom-metrics/{ok.json()['id']}").status_code == 409
    catalogue = member_client.get("/api/v1/alert-metrics").json()
    assert {"name": "customer_satisfaction", "kind": "custom"}.items() <= next(
        m for m in catalogue if m["name"] == "customer_satisfaction").items()
    assert any(m["name"] == "p99_latency_ms" and m["unit"] == "ms" for m in catalogue)


def test_event_actions_need_members_and_valid_states(account, member_of, session_client, member_client):
    rule = member_client.post("/api/v1/alert-rules", rule_body(), format="json").json()
    event = AlertEvent.objects.create(account=account, rule_id=rule["id"], rule_name="r", metric="error_rate",
                                      severity="critical", operator="gt", threshold=5, value=9, started_at=T0,
                                      fired_at=T0)
    viewer = session_client(member_of(account, Role.VIEWER), account)
    assert viewer.post(f"/api/v1/alert-events/{event.pk}/acknowledge", {}, format="json").status_code == 403
    response = member_client.post(f"/api/v1/alert-events/{event.pk}/resolve", {"note": "  "}, format="json")
    assert response.status_code == 400 and "note" in response.json()["errors"]
    assert member_client.post(f"/api/v1/alert-events/{event.pk}/acknowledge", {}, format="json").json()["status"] \
        == "acknowledged"
    again = member_client.post(f"/api/v1/alert-events/{event.pk}/acknowledge", {}, format="json")
    assert again.status_code == 409
    done = member_client.post(f"/api/v1/alert-events/{event.pk}/resolve", {"note": "Bad deploy; rolled back."},
                              format="json").json()
    assert done["status"] == "resolved" and done["resolution"] == "manual"
    assert done["note"] == "Bad deploy; rolled back."
    assert done["resolved_by"] == "member@acme.test"
    assert member_client.post(f"/api/v1/alert-events/{event.pk}/resolve", {"note": "x"}, format="json").status_code \
        == 409
    noted = member_client.post(f"/api/v1/alert-events/{event.pk}/note", {"note": "Added a canary."}, format="json")
    assert noted.json()["note"] == "Added a canary."
    assert member_client.get("/api/v1/alert-events?status=open").json()["count"] == 0
    assert member_client.get("/api/v1/alert-events?status=bogus").status_code == 400
    assert member_client.get("/api/v1/alert-events?rule=x").status_code == 400
