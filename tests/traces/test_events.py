"""I4: registry events through the API — validated per item, idempotent, scoped."""
import json
from decimal import Decimal

from models_registry.models import CreditCharge, Deployment, DeploymentVersion, FineTuneJob, ReplicaEvent
from models_registry.services import deployment_credits


def send(client, path, key, items):
    return client.post(f"/api/v1/events/{path}", data=json.dumps({key: items}), content_type="application/json")


def test_deployment_lifecycle_and_scaling_feed_credits(account, key_client):
    api = key_client(account, ["ingest"])
    response = send(api, "deployments", "events", [
        {"model": "ft", "deployment": "prod", "event": "deployed", "at": "2026-11-01T00:00:00Z", "hardware": "A100",
         "max_replicas": 3},
        {"model": "ft", "deployment": "prod", "event": "version", "version": "v2", "at": "2026-11-01T00:00:00Z"},
    ])
    assert response.json() == {"accepted": 2, "duplicates": 0, "errors": []}
    scaling = [{"model": "ft", "deployment": "prod", "version": "v2", "at": "2026-11-01T00:00:00Z", "replicas": 2,
                "hardware": "A100"},
               {"model": "ft", "deployment": "prod", "version": "v2", "at": "2026-11-01T06:00:00Z", "replicas": 1,
                "hardware": "A100"}]
    assert send(api, "replicas", "events", scaling).json()["accepted"] == 2
    again = send(api, "replicas", "events", scaling)
    assert again.json() == {"accepted": 0, "duplicates": 2, "errors": []}
    send(api, "deployments", "events", [{"model": "ft", "deployment": "prod", "event": "undeployed",
                                         "at": "2026-11-01T12:00:00Z"}])
    dep = Deployment.objects.for_account(account).get()
    assert DeploymentVersion.objects.for_account(account).get().version == "v2"
    assert ReplicaEvent.objects.for_account(account).count() == 2
    from models_registry.models import HardwareRate
    HardwareRate.objects.create(account=account, hardware="A100", credits_per_replica_hour=Decimal("2"),
                                effective_from="2026-01-01T00:00:00Z")
    assert deployment_credits(account, dep, dep.deployed_at, dep.undeployed_at) == Decimal(2 * 2 * 6 + 1 * 2 * 6)


def test_per_item_errors_keep_the_valid_items(account, key_client):
    api = key_client(account, ["ingest"])
    response = send(api, "replicas", "events", [
        {"model": "ft", "deployment": "d", "at": "2026-11-01T00:00:00Z", "replicas": -1, "hardware": "A100"},
        {"model": "ft", "deployment": "d", "at": "2026-11-01T00:00:00", "replicas": 1, "hardware": "A100"},
        {"model": "ft", "deployment": "d", "at": "2026-11-01T00:00:00Z", "replicas": 1, "hardware": "A100\x00"},
        {"model": "ft", "deployment": "d", "at": "2026-11-01T00:00:00Z", "replicas": 1, "hardware": "A100"},
    ])
    assert response.status_code == 207
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "replicas"), (1, "at"),
                                                                          (2, "hardware")]
    assert response.json()["accepted"] == 1
    assert send(api, "replicas", "wrong", []).status_code == 400


def test_fine_tuning_jobs_upsert_and_charges_are_idempotent(account, key_client):
    api = key_client(account, ["ingest"])
    job = {"external_id": "ft-1", "model": "ft", "started_at": "2026-11-01T00:00:00Z", "status": "running"}
    assert send(api, "fine-tuning-jobs", "jobs", [job]).json()["accepted"] == 1
    assert send(api, "fine-tuning-jobs", "jobs", [job]).json()["duplicates"] == 1
    done = job | {"status": "succeeded", "finished_at": "2026-11-01T05:00:00Z", "credits": 1250.5}
    assert send(api, "fine-tuning-jobs", "jobs", [done]).json()["accepted"] == 1
    stored = FineTuneJob.objects.for_account(account).get()
    assert (stored.status, stored.credits) == ("succeeded", Decimal("1250.5"))
    charge = {"external_id": "inv-7", "kind": "deployment", "credits": 42, "at": "2026-11-02T00:00:00Z",
              "model": "ft", "deployment": "prod"}
    assert send(api, "credit-charges", "charges", [charge, charge]).json() == \
        {"accepted": 1, "duplicates": 1, "errors": []}
    assert CreditCharge.objects.for_account(account).get().deployment.name == "prod"
    bad = send(api, "credit-charges", "charges", [{"external_id": "x", "kind": "gift", "credits": 1,
                                                   "at": "2026-11-02T00:00:00Z"}])
    assert bad.json()["errors"][0]["field"] == "kind"


def test_events_need_the_ingest_scope_and_stay_in_their_account(account, other_account, key_client):
    assert send(key_client(account, ["read"]), "replicas", "events", []).status_code == 403
    send(key_client(other_account, ["ingest"]), "credit-charges", "charges",
         [{"external_id": "c", "kind": "other", "credits": 1, "at": "2026-11-02T00:00:00Z"}])
    assert not CreditCharge.objects.for_account(account).exists()
