"""/api/v1/budgets: CRUD with field errors, tenancy of referenced rows, roles, the status
endpoints, and the console pages."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.services import Actor
from alerts.services import rules as rule_services
from budgets.models import Budget
from models_registry.models import Model
from tests.alerts.conftest import ingest, roll_all

UTC = timezone.utc


@pytest.fixture
def owner_client(account, session_client):
    return session_client(account.memberships.get(role=Role.OWNER).user, account)


def test_crud_and_field_errors(account, other_account, owner_client, settings):
    settings.MODELPULSE_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the channel below is on loopback
    model = Model.objects.create(account=account, name="gpt-4o", model_type="external")
    foreign = Model.objects.create(account=other_account, name="theirs", model_type="external")
    channel = rule_services.channel_create(account, Actor.system(), name="hook", kind="webhook",
                                           url="http://127.0.0.1:9/budget")
    r = owner_client.post("/api/v1/budgets", {"name": "Account", "scope": "account", "amount_usd": 1000},
                          format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["amount_usd"] == 1000.0 and r.json()["model"] is None
    r = owner_client.post("/api/v1/budgets", {"name": "Model", "scope": "model", "model": model.pk,
                                              "amount_usd": "250.50", "channels": [channel.pk]}, format="json")
    assert r.status_code == 201 and r.json()["channels"] == [channel.pk]
    model_budget = r.json()["id"]

    bad = [
        ({"name": "x", "scope": "model", "amount_usd": 5}, "model"),
        ({"name": "x", "scope": "model", "model": foreign.pk, "amount_usd": 5}, "model"),
        ({"name": "x", "scope": "prompt", "amount_usd": 5}, "prompt"),
        ({"name": "x", "scope": "account", "prompt": "p", "amount_usd": 5}, "prompt"),
        ({"name": "x", "scope": "account", "amount_usd": 0}, "amount_usd"),
        ({"name": "x", "scope": "account", "amount_usd": "lots"}, "amount_usd"),
        ({"name": "x", "scope": "galaxy", "amount_usd": 5}, "scope"),
        ({"name": "Account", "scope": "prompt", "prompt": "p", "amount_usd": 5}, "name"),
        ({"name": "Second", "scope": "account", "amount_usd": 5}, "scope"),  # one budget per target
        ({"name": "x", "scope": "prompt", "prompt": "p", "amount_usd": 5, "channels": [10 ** 9]}, "channels"),
    ]
    for body, field in bad:
        r = owner_client.post("/api/v1/budgets", body, format="json")
        assert r.status_code == 400, (body, r.status_code)
        assert field in r.json()["errors"], (body, r.json())

    r = owner_client.patch(f"/api/v1/budgets/{model_budget}", {"amount_usd": 300}, format="json")
    assert r.status_code == 200 and r.json()["amount_usd"] == 300.0
    r = owner_client.patch(f"/api/v1/budgets/{model_budget}", {"scope": "prompt", "prompt": "checkout"},
                           format="json")
    assert r.status_code == 200 and r.json()["model"] is None and r.json()["prompt"] == "checkout"
    assert "limit" in owner_client.get("/api/v1/budgets?limit=1000").json()["errors"]  # past the cap of 200
    listed = owner_client.get("/api/v1/budgets?limit=200").json()
    assert listed["count"] == 2 and len(listed["results"]) == 2
    assert owner_client.delete(f"/api/v1/budgets/{model_budget}").status_code == 204
    assert Budget.objects.for_account(account).count() == 1


def test_roles_and_keys(account, member_of, session_client, key_client):
    viewer = member_of(account, Role.VIEWER)
    client = session_client(viewer.user if hasattr(viewer, "user") else viewer, account)
    assert client.post("/api/v1/budgets", {"name": "a", "scope": "account", "amount_usd": 5},
                       format="json").status_code == 403
    assert client.get("/api/v1/budgets").status_code == 200
    reader = key_client(account, ("read",))
    assert reader.get("/api/v1/budgets/status").status_code == 200
    assert reader.post("/api/v1/budgets", {"name": "a", "scope": "account", "amount_usd": 5},
                       format="json").status_code == 403


def test_status_endpoints(account, owner_client):
    now = datetime.now(UTC)
    ingest(account, [{"request_id": f"s-{k}", "executed_at": (now - timedelta(minutes=k + 1)).isoformat(),
                      "model": "gpt-4o", "status": "success", "response_time_ms": 50.0, "prompt": "checkout",
                      "cost_usd": 0.25} for k in range(4)], now=now)
    roll_all()
    budget = owner_client.post("/api/v1/budgets", {"name": "Checkout", "scope": "prompt", "prompt": "checkout",
                                                   "amount_usd": 10}, format="json").json()
    one = owner_client.get(f"/api/v1/budgets/{budget['id']}/status")
    assert one.status_code == 200
    body = one.json()
    # The requests of the last minutes are this month's unless the month began within them.
    assert body["spent_usd"] in (1.0, 0.75, 0.5, 0.25, 0.0) and body["amount_usd"] == 10.0
    assert body["month"] == now.strftime("%Y-%m") or account.timezone != "UTC"
    all_ = owner_client.get("/api/v1/budgets/status?limit=5").json()
    assert all_["count"] == 1 and all_["results"][0]["budget"] == budget["id"] and "days" in all_["results"][0]
    for bad in ("2026-13", "26-11", "tomorrow", "2999-01"):
        r = owner_client.get(f"/api/v1/budgets/{budget['id']}/status?month={bad}")
        assert r.status_code == 400 and "month" in r.json()["errors"], bad
    past = owner_client.get(f"/api/v1/budgets/{budget['id']}/status?month=2020-02").json()
    assert past["spent_usd"] == 0.0 and past["days_in_month"] == 29 and past["projected_usd"] == 0.0


def test_console_pages(account, client, other_account):
    owner = account.memberships.get(role=Role.OWNER).user
    client.force_login(owner)
    url = reverse("budgets", kwargs={"account_slug": account.slug})
    r = client.post(url, {"name": "Whole account", "scope": "account", "amount_usd": "1200"})
    assert r.status_code == 302
    budget = Budget.objects.for_account(account).get()
    page = client.get(url)
    assert page.status_code == 200 and b"Whole account" in page.content
    r = client.post(url, {"name": "Broken", "scope": "model", "amount_usd": "5"})
    assert r.status_code == 200 and b"required when scope is model" in r.content
    detail = client.get(reverse("budget", kwargs={"account_slug": account.slug, "pk": budget.pk}))
    assert detail.status_code == 200 and b"Burn rate" in detail.content
    theirs = Budget.objects.create(account=other_account, name="Theirs", scope="account", amount_usd=Decimal(5))
    assert client.get(reverse("budget", kwargs={"account_slug": account.slug, "pk": theirs.pk})).status_code == 404
