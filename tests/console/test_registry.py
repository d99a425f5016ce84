"""Registry pages: tables, forms in account time, service validation, audit entries."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from accounts.models import AuditEvent, Role
from models_registry.models import Deployment, DeploymentVersion, FineTuneJob, Model, ModelPrice, ReplicaEvent


def owner_client(account, login):
    return login(account.memberships.get(role=Role.OWNER).user)


def test_create_edit_delete_in_account_time_with_audit(account, login):
    account.timezone = "Asia/Kolkata"
    account.save()
    client = owner_client(account, login)
    response = client.post(f"/a/{account.slug}/registry/models/", {"name": "llama-ft", "model_type": "fine_tuned",
                                                                   "base_model": "llama-3.1-8b"})
    assert response.status_code == 302
    model = Model.objects.for_account(account).get(name="llama-ft")
    response = client.post(f"/a/{account.slug}/registry/deployments/", {
        "model": model.pk, "name": "prod", "hardware": "A100", "max_replicas": 2, "deployed_at": "2026-11-20T10:30"})
    assert response.status_code == 302
    dep = model.deployments.get()
    assert dep.deployed_at.isoformat() == "2026-11-20T05:00:00+00:00"  # 10:30 in Kolkata
    # The edit form shows the stored time in the account's timezone again.
    assert 'value="2026-11-20T10:30"' in client.get(f"/a/{account.slug}/registry/deployments/{dep.pk}/").content.decode()
    client.post(f"/a/{account.slug}/registry/models/{model.pk}/", {"name": "llama-ft", "model_type": "fine_tuned",
                                                                   "base_model": "llama-3.1-8b", "provider": "meta"})
    model.refresh_from_db()
    assert model.provider == "meta"
    changed = AuditEvent.objects.for_account(account).get(action="registry.model.changed")
    assert changed.details["changes"] == {"provider": {"from": "", "to": "meta"}}
    client.post(f"/a/{account.slug}/registry/deployments/{dep.pk}/delete/")
    assert not model.deployments.exists()
    assert {"registry.model.created", "registry.deployment.created", "registry.deployment.deleted"} <= \
        set(AuditEvent.objects.for_account(account).values_list("action", flat=True))


def test_duplicates_and_bad_values_are_shown_on_the_form(account, login):
    client = owner_client(account, login)
    client.post(f"/a/{account.slug}/registry/models/", {"name": "gpt-4o", "model_type": "external"})
    response = client.post(f"/a/{account.slug}/registry/models/", {"name": "gpt-4o", "model_type": "external"})
    assert response.status_code == 200 and "already exists" in response.content.decode()
    model = Model.objects.for_account(account).get()
    response = client.post(f"/a/{account.slug}/registry/prices/", {
        "model": model.pk, "input_per_million_usd": "-1", "output_per_million_usd": "2",
        "effective_from": "2026-01-01T00:00"})
    assert response.status_code == 200 and "greater than or equal to 0" in response.content.decode()
    response = client.post(f"/a/{account.slug}/registry/deployments/", {
        "model": model.pk, "name": "d", "max_replicas": 1, "deployed_at": "2026-02-01T00:00",
        "undeployed_at": "2026-01-01T00:00"})
    assert response.status_code == 200 and not Deployment.objects.for_account(account).exists()
    assert 'class="notice bad"' in response.content.decode() or "error" in response.content.decode()


def test_forms_offer_only_this_accounts_rows(account, other_account, login):
    theirs = Model.objects.create(account=other_account, name="GLOBEXMODEL", model_type="external")
    mine = Model.objects.create(account=account, name="mine", model_type="external")
    client = owner_client(account, login)
    html = client.get(f"/a/{account.slug}/registry/prices/").content.decode()
    assert "GLOBEXMODEL" not in html and ">mine<" in html
    response = client.post(f"/a/{account.slug}/registry/prices/", {
        "model": theirs.pk, "input_per_million_usd": "1", "output_per_million_usd": "2",
        "effective_from": "2026-01-01T00:00"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ModelPrice.objects.filter(model=theirs).exists()
    assert mine.pk != theirs.pk


def test_tables_show_versions_prices_in_force_and_money(account, login):
    model = Model.objects.create(account=account, name="support-ft", model_type="fine_tuned")
    dep = Deployment.objects.create(account=account, model=model, name="support-prod", hardware="A100",
                                    max_replicas=3, deployed_at=datetime(2026, 10, 1, tzinfo=timezone.utc))
    for v in ("v1", "v2"):
        DeploymentVersion.objects.create(account=account, deployment=dep, version=v)
    now = datetime.now(timezone.utc)
    ModelPrice.objects.create(account=account, model=model, input_per_million_usd=Decimal("5"),
                              output_per_million_usd=Decimal("15"), effective_from=now - timedelta(days=90))
    ModelPrice.objects.create(account=account, model=model, input_per_million_usd=Decimal("0.075"),
                              output_per_million_usd=Decimal("0.3"), effective_from=now - timedelta(days=1))
    ModelPrice.objects.create(account=account, model=model, input_per_million_usd=Decimal("1"),
                              output_per_million_usd=Decimal("2"), effective_from=now + timedelta(days=30))
    client = owner_client(account, login)
    html = client.get(f"/a/{account.slug}/registry/deployments/").content.decode()
    assert "support-prod" in html and ">v1<" in html and ">v2<" in html and "Deployed</span>" in html
    html = client.get(f"/a/{account.slug}/registry/prices/").content.decode()
    assert "$0.075" in html and "$5.00" in html and "$0.30" in html
    assert html.count("In force") == 1 and "Superseded" in html and "Scheduled" in html
    edit = client.get(f"/a/{account.slug}/registry/deployments/{dep.pk}/").content.decode()
    assert "Versions" in edit and ">v2<" in edit


def test_scaling_events_and_fine_tuning_jobs(account, login):
    model = Model.objects.create(account=account, name="ft", model_type="fine_tuned")
    dep = Deployment.objects.create(account=account, model=model, name="d", max_replicas=3,
                                    deployed_at=datetime(2026, 10, 1, tzinfo=timezone.utc))
    client = owner_client(account, login)
    assert client.post(f"/a/{account.slug}/registry/scaling/", {
        "deployment": dep.pk, "at": "2026-10-02T00:00", "replicas": 2, "hardware": "A100"}).status_code == 302
    assert ReplicaEvent.objects.for_account(account).get().replicas == 2
    assert client.post(f"/a/{account.slug}/registry/fine-tuning/", {
        "model": model.pk, "external_id": "job-1", "status": "succeeded", "started_at": "2026-09-01T00:00",
        "credits": "12.5"}).status_code == 302
    assert FineTuneJob.objects.for_account(account).get().credits == Decimal("12.5")
    html = client.get(f"/a/{account.slug}/registry/fine-tuning/").content.decode()
    assert "job-1" in html and "12.5" in html and "Succeeded" in html


def test_empty_registry_pages_explain_themselves(account, member_of, login):
    client = login(member_of(account, Role.VIEWER))
    html = client.get(f"/a/{account.slug}/registry/").content.decode()
    assert "No models yet" in html and "as soon as traces name them" in html
    html = client.get(f"/a/{account.slug}/registry/hardware-rates/").content.decode()
    assert "No hardware rates yet" in html


def test_scaling_events_are_paginated_newest_first(account, login):
    """Issue 18: 38,707 scaling events made one 38,707-px page; now 50 a page, newest first,
    every event on exactly one page, the count over all of them."""
    import re
    model = Model.objects.create(account=account, name="ft", model_type="fine_tuned")
    dep = Deployment.objects.create(account=account, model=model, name="d", max_replicas=9,
                                    deployed_at=datetime(2026, 10, 1, tzinfo=timezone.utc))
    t0 = datetime(2026, 10, 1, tzinfo=timezone.utc)
    ReplicaEvent.objects.bulk_create([ReplicaEvent(account=account, deployment=dep, at=t0 + timedelta(minutes=i),
                                                   replicas=1 + i % 9, hardware=f"hw-{i}") for i in range(123)])
    client = owner_client(account, login)
    seen = []
    for number in (1, 2, 3):
        html = client.get(f"/a/{account.slug}/registry/scaling/?page={number}").content.decode()
        assert "123 total" in html and f"page {number} of 3" in html
        seen += re.findall(r">hw-(\d+)<", html.replace("\n", "").replace(" ", ""))
    assert [int(i) for i in seen] == list(range(122, -1, -1))  # each once, the newest first
    last = client.get(f"/a/{account.slug}/registry/scaling/?page=999").content.decode()
    assert "page 3 of 3" in last  # past the end: the last page, not an error
    assert 'rel="next"' not in last and 'rel="prev"' in last
