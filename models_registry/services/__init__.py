"""Registry services: credits, prices, name resolution for ingestion, and writes."""
from models_registry.services.credits import account_deployment_credits, deployment_credits, replica_series
from models_registry.services.pricing import cost_from_prices, price_in_force, prices_for_models, request_cost_usd
from models_registry.services.resolve import registry_resolve
from models_registry.services.writes import registry_create, registry_delete, registry_update

__all__ = [
    "account_deployment_credits", "deployment_credits", "replica_series",
    "cost_from_prices", "price_in_force", "prices_for_models", "request_cost_usd",
    "registry_resolve", "registry_create", "registry_delete", "registry_update",
]
