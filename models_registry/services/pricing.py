"""Model prices per 1M tokens with effective dates; cost of a request at its time (T5)."""
from bisect import bisect_right
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from models_registry.models import ModelPrice

MILLION = Decimal(1_000_000)


def price_in_force(account, model, at: datetime) -> ModelPrice | None:
    return (
        ModelPrice.objects.for_account(account)
        .filter(model=model, effective_from__lte=at)
        .order_by("-effective_from")
        .first()
    )


def prices_for_models(account, model_ids) -> dict:
    """{model_id: [(effective_from, input_per_1M, output_per_1M), …] sorted} in one query,
    so a whole ingestion batch is priced without a query per trace."""
    table = defaultdict(list)
    rows = (
        ModelPrice.objects.for_account(account)
        .filter(model_id__in=list(model_ids))
        .order_by("effective_from")
        .values_list("model_id", "effective_from", "input_per_million_usd", "output_per_million_usd")
    )
    for model_id, effective_from, price_in, price_out in rows:
        table[model_id].append((effective_from, price_in, price_out))
    return dict(table)


def cost_from_prices(prices: dict, model_id, at: datetime, input_tokens: int, output_tokens: int) -> Decimal | None:
    entries = prices.get(model_id)
    if not entries:
        return None
    i = bisect_right([e[0] for e in entries], at)
    if not i:
        return None
    _, price_in, price_out = entries[i - 1]
    return (Decimal(input_tokens) * price_in + Decimal(output_tokens) * price_out) / MILLION


def request_cost_usd(account, model, at: datetime, input_tokens: int, output_tokens: int) -> Decimal | None:
    model_id = getattr(model, "pk", model)
    return cost_from_prices(prices_for_models(account, [model_id]), model_id, at, input_tokens, output_tokens)
