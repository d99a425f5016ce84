"""Comparison of up to 3 prompts, models or versions with a winner per metric (D5, seed 003)."""
from dataclasses import replace

from rest_framework.exceptions import ValidationError

from analytics.selectors import metrics_summary
from models_registry.models import Deployment, DeploymentVersion, Model

DIMENSIONS = ("prompt", "prompt_version", "model", "version", "deployment", "feature")
# (metric, better): the judged metrics of seed 003's table; requests are shown, not judged.
JUDGED = (("success_rate", "higher"), ("p95_latency_ms", "lower"), ("avg_tokens", "lower"),
          ("cost_per_request_usd", "lower"))
REGISTRY = {"model": (Model, "name"), "version": (DeploymentVersion, "version"), "deployment": (Deployment, "name")}


def _ranks(values: list, better: str) -> list:
    """Competition ranks (1, 2, 2, 4); items without a value rank last."""
    present = [v for v in values if v is not None]
    ranks = []
    for v in values:
        if v is None:
            ranks.append(len(values))
            continue
        ahead = sum(1 for o in present if (o > v if better == "higher" else o < v))
        ranks.append(ahead + 1)
    return ranks


def compare(sel, dimension: str, items: list[str]) -> dict:
    if dimension not in DIMENSIONS:
        raise ValidationError({"dimension": [f"must be one of {', '.join(DIMENSIONS)}"]})
    if not 2 <= len(items) <= 3 or len(set(items)) != len(items):
        raise ValidationError({"items": ["give 2 or 3 different items, separated by commas"]})
    if dimension in REGISTRY:
        model, attr = REGISTRY[dimension]
        known = set(model.objects.for_account(sel.account).filter(**{f"{attr}__in": items})
                    .values_list(attr, flat=True))
        missing = [i for i in items if i not in known]
        if missing:
            raise ValidationError({"items": [f"no {dimension} named {', '.join(missing)} in this account"]})
    rows = []
    for item in items:
        m = metrics_summary(replace(sel, filters={**sel.filters, dimension: item}), sketches="latency",
                            users=False)
        n = m["total_requests"]
        rows.append({"item": item, "requests": n, "success_rate": m["success_rate"] if n else None,
                     "p95_latency_ms": m["p95_latency_ms"], "avg_tokens": m["total_tokens"] / n if n else None,
                     "cost_per_request_usd": m["cost_per_request_usd"] if n else None,
                     "total_cost_usd": m["total_cost_usd"], "error_rate": m["error_rate"]})
    winners, totals = {}, [0] * len(rows)
    for metric, better in JUDGED:
        ranks = _ranks([r[metric] for r in rows], better)
        for i, rank in enumerate(ranks):
            rows[i].setdefault("ranks", {})[metric] = rank
            totals[i] += rank
        best = [rows[i]["item"] for i, rank in enumerate(ranks) if rank == 1 and rows[i][metric] is not None]
        winners[metric] = best[0] if len(best) == 1 else None  # a tie has no winner
    # Overall: the lowest sum of ranks; ties broken by success rate, then requests.
    order = sorted(range(len(rows)), key=lambda i: (totals[i], -(rows[i]["success_rate"] or 0),
                                                    -rows[i]["requests"]))
    for place, i in enumerate(order, start=1):
        rows[i]["overall_rank"] = place
        rows[i]["rank_points"] = totals[i]
    return {"dimension": dimension, "items": rows, "winners": winners, "overall_winner": rows[order[0]]["item"]}
