"""Registry API: admins write through audited services, everyone reads, bad input is a 400."""
from decimal import Decimal

import pytest

from accounts.models import AuditEvent, Role
from models_registry.models import Deployment, HardwareRate, Model, ReplicaEvent


@pytest.fixture
def admin(account, member_of, session_client):
    return session_client(member_of(account, Role.ADMIN), account)


def test_create_update_delete_are_audited(account, admin):
    response = admin.post("/api/v1/models", {"name": "llama-ft", "model_type": "fine_tuned", "base_model": "llama-3"},
                          format="json")
    assert response.status_code == 201, response.json()
    mid = response.json()["id"]
    response = admin.patch(f"/api/v1/models/{mid}", {"provider": "meta"}, format="json")
    assert response.json()["provider"] == "meta"
    response = admin.post("/api/v1/deployments", {"model": mid, "name": "prod", "hardware": "A100", "max_replicas": 3,
                                                  "deployed_at": "2026-11-20T10:00:00+05:30"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["label"] == "prod (deployed 2026-11-20 04:30 UTC)"  # the account's timezone, zone shown
    assert admin.delete(f"/api/v1/deployments/{response.json()['id']}").status_code == 204
    actions = list(AuditEvent.objects.for_account(account).filter(action__startswith="registry.")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["registry.model.created", "registry.model.changed", "registry.deployment.created",
                       "registry.deployment.deleted"]


def test_duplicates_and_bad_values_are_400_with_the_field(account, admin):
    admin.post("/api/v1/models", {"name": "m"}, format="json")
    cases = [
        ("/api/v1/models", {"name": "m"}, "__all__"),
        ("/api/v1/models", {"name": "x", "model_type": "quantum"}, "model_type"),
        ("/api/v1/models", {"name": "x\x00y"}, "name"),
        ("/api/v1/models", {"name": 12345678901234567890 * "x" if False else ["list"]}, "name"),
        ("/api/v1/hardware-rates", {"hardware": "A100", "credits_per_replica_hour": "-1",
                                    "effective_from": "2026-11-01T00:00:00Z"}, "credits_per_replica_hour"),
        ("/api/v1/hardware-rates", {"hardware": "A100", "credits_per_replica_hour": "1e400",
                                    "effective_from": "2026-11-01T00:00:00Z"}, "credits_per_replica_hour"),
        ("/api/v1/hardware-rates", {"hardware": "A100", "credits_per_replica_hour": "NaN",
                                    "effective_from": "2026-11-01T00:00:00Z"}, "credits_per_replica_hour"),
        ("/api/v1/hardware-rates", {"hardware": "A100", "credits_per_replica_hour": "1",
                                    "effective_from": "yesterday"}, "effective_from"),
    ]
    for url, body, field in cases:
        response = admin.post(url, body, format="json")
        assert response.status_code == 400, (body, response.status_code)
        assert field in response.json()["errors"], (body, response.json())


def test_replica_event_validation(account, admin):
    model = Model.objects.create(account=account, name="ft", model_type="fine_tuned")
    dep = Deployment.objects.create(account=account, model=model, name="d", deployed_at="2026-11-01T00:00:00Z")
    base = {"deployment": dep.pk, "at": "2026-11-02T00:00:00Z", "hardware": "A100"}
    for replicas in [-1, 2**31, "many", None, 1.5]:
        response = admin.post("/api/v1/replica-events", base | {"replicas": replicas}, format="json")
        assert response.status_code == 400 and "replicas" in response.json()["errors"], replicas
    assert admin.post("/api/v1/replica-events", base | {"replicas": 4}, format="json").status_code == 201


def test_references_to_another_accounts_rows_are_rejected(account, other_account, admin):
    foreign = Model.objects.create(account=other_account, name="theirs")
    response = admin.post("/api/v1/model-prices", {"model": foreign.pk, "input_per_million_usd": "1",
                                                   "output_per_million_usd": "2",
                                                   "effective_from": "2026-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400
    assert "No such object" in response.json()["errors"]["model"][0]
    assert admin.get(f"/api/v1/models/{foreign.pk}").status_code == 404


def test_credits_and_replicas_endpoints(account, admin, key_client):
    model = Model.objects.create(account=account, name="ft", model_type="fine_tuned")
    dep = Deployment.objects.create(account=account, model=model, name="d", max_replicas=4,
                                    deployed_at="2026-11-01T00:00:00Z")
    HardwareRate.objects.create(account=account, hardware="A100", credits_per_replica_hour=Decimal("2"),
                                effective_from="2026-01-01T00:00:00Z")
    ReplicaEvent.objects.create(account=account, deployment=dep, at="2026-11-01T00:00:00Z", replicas=3, hardware="A100")
    reader = key_client(account, ["read"])
    response = reader.get(f"/api/v1/deployments/{dep.pk}/credits?start=2026-11-01&end=2026-11-02")
    assert response.status_code == 200
    assert Decimal(response.json()["credits"]) == Decimal(3 * 2 * 24)
    response = reader.get(f"/api/v1/deployments/{dep.pk}/replicas?start=2026-11-01T00:00:00Z&end=2026-11-01T06:00:00Z")
    assert response.json()["max_replicas"] == 4
    assert [p["replicas"] for p in response.json()["points"]] == [3, 3]
    for query, field in [("start=2026-11-02&end=2026-11-01", "end"), ("end=2026-11-01", "start"),
                         ("start=2026-11-01T00:00:00&end=2026-11-02", "start"), ("start=x\x00&end=2026-11-02", "start")]:
        response = reader.get(f"/api/v1/deployments/{dep.pk}/credits?{query}")
        assert response.status_code == 400 and field in response.json()["errors"], query


def test_readers_read_and_cannot_write(account, member_of, session_client, key_client):
    Model.objects.create(account=account, name="m")
    viewer = session_client(member_of(account, Role.VIEWER), account)
    assert viewer.get("/api/v1/models").json()["count"] == 1
    assert viewer.post("/api/v1/models", {"name": "x"}, format="json").status_code == 403
    reader = key_client(account, ["read", "ingest"])
    assert reader.get("/api/v1/models?model_type=external").json()["count"] == 1
    assert reader.get("/api/v1/models?model_type=bogus").status_code == 400
    assert reader.post("/api/v1/models", {"name": "x"}, format="json").status_code == 403


def test_a_model_with_traces_cannot_be_deleted(account, admin):
    from traces.services import trace_ingest_batch

    trace_ingest_batch(account, [{"request_id": "r1", "executed_at": "2026-11-20T10:00:00+00:00", "model": "kept",
                                  "status": "success", "response_time_ms": 5}])
    model = Model.objects.for_account(account).get(name="kept")
    response = admin.delete(f"/api/v1/models/{model.pk}")
    assert response.status_code == 409 and "traces" in response.json()["message"]
    assert Model.objects.filter(pk=model.pk).exists()
    assert not AuditEvent.objects.for_account(account).filter(action="registry.model.deleted").exists()
