"""T4/T5: prices in force and per-batch name resolution."""
from datetime import datetime, timezone
from decimal import Decimal

from models_registry.models import Connection, Deployment, DeploymentVersion, Model, ModelPrice
from models_registry.services import prices_for_models, price_in_force, registry_resolve, request_cost_usd

UTC = timezone.utc


def test_price_in_force_and_request_cost(account):
    model = Model.objects.create(account=account, name="gpt-4o")
    ModelPrice.objects.create(account=account, model=model, effective_from=datetime(2026, 1, 1, tzinfo=UTC),
                              input_per_million_usd=Decimal("5"), output_per_million_usd=Decimal("15"))
    ModelPrice.objects.create(account=account, model=model, effective_from=datetime(2026, 6, 1, tzinfo=UTC),
                              input_per_million_usd=Decimal("2.5"), output_per_million_usd=Decimal("10"))
    assert price_in_force(account, model, datetime(2025, 12, 31, tzinfo=UTC)) is None
    assert request_cost_usd(account, model, datetime(2025, 12, 31, tzinfo=UTC), 100, 100) is None
    assert request_cost_usd(account, model, datetime(2026, 3, 1, tzinfo=UTC), 1000, 2000) == Decimal("0.035")
    # At the boundary the new price is in force.
    assert request_cost_usd(account, model, datetime(2026, 6, 1, tzinfo=UTC), 1000, 2000) == Decimal("0.0225")
    assert set(prices_for_models(account, [model.pk])) == {model.pk}


def test_resolve_registers_unknown_names_once_per_kind(account, django_assert_max_num_queries):
    Model.objects.create(account=account, name="known", model_type="external")
    seen = datetime(2026, 11, 20, 10, tzinfo=UTC)
    with django_assert_max_num_queries(20):
        out = registry_resolve(
            account,
            models={"known": {}, **{f"m{i}": {"model_type": "open_source", "provider": "meta"} for i in range(50)}},
            deployments={("ft", "support"): seen},
            versions={("ft", "support", "v1"), ("ft", "support", "v2")},
            connections={"openai-prod": "openai"},
        )
    assert len(out.models) == 52
    assert Model.objects.for_account(account).get(name="m7").provider == "meta"
    dep = Deployment.objects.for_account(account).get(name="support")
    assert dep.deployed_at == seen and out.deployments[("ft", "support")] == dep.pk
    assert DeploymentVersion.objects.for_account(account).filter(deployment=dep).count() == 2
    assert Connection.objects.for_account(account).get(name="openai-prod").provider == "openai"
    # Resolving again finds the same rows and creates nothing.
    again = registry_resolve(account, models={"m7": {}}, versions={("ft", "support", "v1")})
    assert again.models["m7"] == out.models["m7"]
    assert again.versions[("ft", "support", "v1")] == out.versions[("ft", "support", "v1")]
    assert Model.objects.for_account(account).count() == 52


def test_resolve_picks_the_deployment_in_force_and_stays_in_its_account(account, other_account):
    model = Model.objects.create(account=account, name="ft", model_type="fine_tuned")
    old = Deployment.objects.create(account=account, model=model, name="d", deployed_at=datetime(2026, 1, 1, tzinfo=UTC))
    new = Deployment.objects.create(account=account, model=model, name="d", deployed_at=datetime(2026, 6, 1, tzinfo=UTC))
    out = registry_resolve(account, deployments={("ft", "d"): datetime(2026, 3, 1, tzinfo=UTC)})
    assert out.deployments[("ft", "d")] == old.pk
    out = registry_resolve(account, deployments={("ft", "d"): datetime(2026, 7, 1, tzinfo=UTC)})
    assert out.deployments[("ft", "d")] == new.pk
    foreign = registry_resolve(other_account, models={"ft": {}})
    assert foreign.models["ft"] != model.pk
    assert Model.objects.get(pk=foreign.models["ft"]).account == other_account
