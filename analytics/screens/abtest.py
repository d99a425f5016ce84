"""A/B test results (D11): two or three prompts, prompt versions or versions of a deployment over
a range; per metric each variant's value, every pair's difference with a 95 % confidence
interval and a significance test, and a winner only when it is significant.

Where each figure comes from:
- requests, success rate (two-proportion z-test, Wald interval on the difference), p50/p95
  latency: the exact metrics layer (rollups for whole hours and days, raw traces at the edges);
- latency (Mann–Whitney U, asymptotic with tie and continuity corrections; interval on the
  difference of means by Welch) and cost per request (Welch's t-test and interval): the raw
  traces of the range, reduced in PostgreSQL to counts, means, variances and rank sums — a
  rank test and a variance need the individual requests, which rollups do not keep.
Pairs are tested at α = 0.05 with a Bonferroni correction for the number of pairs (1 or 3).
"""
import math
from dataclasses import replace
from itertools import combinations

from rest_framework.exceptions import ValidationError
from scipy import stats

from analytics.selectors import metrics_summary
from analytics.selectors.metrics import selection_where
from config.replica_reads import read_connection
from models_registry.models import DeploymentVersion

BY = {"prompt": "t.prompt", "prompt_version": "t.prompt_version", "version": "t.version_id"}
ALPHA = 0.05
CONFIDENCE = 0.95
# metric -> (label, better, unit, test)
METRICS = {
    "success_rate": ("Success rate", "higher", "percent", "two-proportion z-test"),
    "latency_ms": ("Latency", "lower", "ms", "Mann–Whitney U"),
    "cost_per_request_usd": ("Cost per request", "lower", "usd", "Welch's t-test"),
}


def _variants(sel, by, values):
    """[(label, SQL values)] — version names map to the ids of that deployment's versions."""
    if by != "version":
        return [(v, [v]) for v in values]
    if "deployment" not in sel.filters:
        raise ValidationError({"deployment": ["required to compare versions: versions of which deployment"]})
    found = {}
    for pk, name in (DeploymentVersion.objects.for_account(sel.account)
                     .filter(deployment__name=sel.filters["deployment"], version__in=values)
                     .values_list("pk", "version")):
        found.setdefault(name, []).append(pk)
    missing = [v for v in values if v not in found]
    if missing:
        raise ValidationError({"variants": [f"no version {', '.join(missing)} of deployment "
                                            f"{sel.filters['deployment']}"]})
    return [(v, found[v]) for v in values]


def _raw_base(sel, by, variants):
    """SQL of (grp, latency, cost, ok) rows of the range, grp = the variant's index, and its parameters."""
    where, params = selection_where(replace(sel, filters={k: v for k, v in sel.filters.items() if k != by}), "t.")
    cases = " ".join(f"WHEN {BY[by]} = ANY(%(v{i})s) THEN {i}" for i in range(len(variants)))
    params.update({f"v{i}": ids for i, (_, ids) in enumerate(variants)},
                  account=sel.account.pk, start=sel.start, end=sel.end)
    sql = (f"SELECT CASE {cases} END AS grp, t.response_time_ms AS x, coalesce(t.cost_usd, 0)::float8 AS c "
           f"FROM traces_trace t WHERE t.account_id = %(account)s AND t.executed_at >= %(start)s "
           f"AND t.executed_at < %(end)s{where}")
    return f"SELECT * FROM ({sql}) AS base WHERE grp IS NOT NULL", params


def _moments(cursor, base, params) -> dict:
    cursor.execute(f"SELECT grp, count(*), avg(x), var_samp(x), avg(c), var_samp(c) FROM ({base}) b GROUP BY grp",
                   params)
    return {row[0]: {"n": row[1], "x_mean": row[2], "x_var": row[3] or 0.0, "c_mean": row[4],
                     "c_var": row[5] or 0.0} for row in cursor.fetchall()}


def _rank_sum(cursor, base, params, i, j) -> tuple[float, float]:
    """Rank sum of variant i among i and j (mid-ranks for ties), and Σ(t³ − t) over tied groups."""
    cursor.execute(
        f"WITH s AS (SELECT grp, x FROM ({base}) b WHERE grp IN (%(gi)s, %(gj)s)), "
        f"r AS (SELECT grp, rank() OVER (ORDER BY x) + (count(*) OVER (PARTITION BY x) - 1) / 2.0 AS r FROM s) "
        f"SELECT (SELECT coalesce(sum(r), 0) FROM r WHERE grp = %(gi)s), "
        f"(SELECT coalesce(sum(c * c * c - c), 0) FROM (SELECT count(*)::float8 AS c FROM s GROUP BY x) t)",
        {**params, "gi": i, "gj": j})
    rank_sum, ties = cursor.fetchone()
    return float(rank_sum), float(ties)


def mann_whitney(rank_sum_a: float, n_a: int, n_b: int, ties: float) -> tuple[float, float]:
    """(U of a, two-sided p) as scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=True)."""
    u_a = rank_sum_a - n_a * (n_a + 1) / 2
    n = n_a + n_b
    mu = n_a * n_b / 2
    sigma = math.sqrt(n_a * n_b / 12 * ((n + 1) - ties / (n * (n - 1)))) if n > 1 else 0.0
    u = max(u_a, n_a * n_b - u_a)
    if sigma == 0:
        return u_a, 1.0
    z = (u - mu - 0.5) / sigma
    return u_a, float(min(1.0, 2 * stats.norm.sf(z)))


def welch(mean_a, var_a, n_a, mean_b, var_b, n_b, confidence=CONFIDENCE):
    """(difference b − a, interval, two-sided p) of Welch's unequal-variance t-test."""
    diff = mean_b - mean_a
    se2 = var_a / n_a + var_b / n_b if n_a >= 2 and n_b >= 2 else 0.0
    if se2 <= 0:
        return diff, (None, None), None  # one request, or no spread at all: nothing to test
    se = math.sqrt(se2)
    df = se2 ** 2 / ((var_a / n_a) ** 2 / (n_a - 1) + (var_b / n_b) ** 2 / (n_b - 1))
    t = diff / se
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    return diff, (diff - half, diff + half), float(2 * stats.t.sf(abs(t), df))


def two_proportions(x_a, n_a, x_b, n_b, confidence=CONFIDENCE):
    """(difference b − a in points, Wald interval, two-sided p of the pooled z-test)."""
    p_a, p_b = x_a / n_a, x_b / n_b
    diff = p_b - p_a
    pooled = (x_a + x_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    p = 1.0 if se0 == 0 else float(2 * stats.norm.sf(abs(diff) / se0))
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    half = stats.norm.ppf(0.5 + confidence / 2) * se
    return 100 * diff, (100 * (diff - half), 100 * (diff + half)), p


def ab_test(sel, by: str, values: list[str]) -> dict:
    if by not in BY:
        raise ValidationError({"by": [f"must be one of {', '.join(BY)}"]})
    if not 2 <= len(values) <= 3 or len(set(values)) != len(values):
        raise ValidationError({"variants": ["give 2 or 3 different variants"]})
    variants = _variants(sel, by, values)
    rows = []
    for label, _ in variants:
        m = metrics_summary(replace(sel, filters={**sel.filters, by: label}), sketches="latency", users=False)
        rows.append({"variant": label, "requests": m["total_requests"], "successes": m["successful_requests"],
                     "success_rate": m["success_rate"] if m["total_requests"] else None,
                     "p50_latency_ms": m["p50_latency_ms"], "p95_latency_ms": m["p95_latency_ms"],
                     "avg_latency_ms": m["avg_latency_ms"], "cost_per_request_usd":
                     m["cost_per_request_usd"] if m["total_requests"] else None,
                     "total_cost_usd": m["total_cost_usd"]})
    base, params = _raw_base(sel, by, variants)
    with read_connection().cursor() as cursor:
        moments = _moments(cursor, base, params)
        pairs = list(combinations(range(len(variants)), 2))
        alpha = ALPHA / len(pairs)
        comparisons = []
        for i, j in pairs:
            a, b = rows[i], rows[j]
            ma, mb = moments.get(i), moments.get(j)
            pair = {"a": a["variant"], "b": b["variant"], "alpha": alpha, "metrics": {}}
            if not ma or not mb:
                comparisons.append(pair)
                continue
            diff, ci, p = two_proportions(a["successes"], a["requests"], b["successes"], b["requests"])
            pair["metrics"]["success_rate"] = _result(diff, ci, p, alpha, "higher", a, b)
            rank_sum, ties = _rank_sum(cursor, base, params, i, j)
            u, p = mann_whitney(rank_sum, ma["n"], mb["n"], ties)
            diff, ci, _ = welch(ma["x_mean"], ma["x_var"], ma["n"], mb["x_mean"], mb["x_var"], mb["n"])
            # The rank test decides; the direction is which variant's requests tend to be faster.
            shift = "lower" if u > ma["n"] * mb["n"] / 2 else "higher" if u < ma["n"] * mb["n"] / 2 else None
            res = _result(diff, ci, p, alpha, "lower", a, b, b_direction=shift)
            res["u_statistic"] = u
            pair["metrics"]["latency_ms"] = res
            diff, ci, p = welch(ma["c_mean"], ma["c_var"], ma["n"], mb["c_mean"], mb["c_var"], mb["n"])
            pair["metrics"]["cost_per_request_usd"] = _result(diff, ci, p, alpha, "lower", a, b)
            comparisons.append(pair)
    winners = {name: _winner(name, comparisons, [r["variant"] for r in rows]) for name in METRICS}
    return {"by": by, "confidence": CONFIDENCE, "alpha": ALPHA, "correction": "bonferroni",
            "metrics": [{"name": k, "label": v[0], "better": v[1], "unit": v[2], "test": v[3]}
                        for k, v in METRICS.items()],
            "variants": rows, "comparisons": comparisons, "winners": winners}


def _result(diff, ci, p, alpha, better, a, b, b_direction=None):
    """One pair's figure; `better_variant` only when significant."""
    significant = p is not None and p < alpha
    if b_direction is None and diff is not None and diff != 0:
        b_direction = "higher" if diff > 0 else "lower"
    better_variant = None
    if significant and b_direction:
        better_variant = b["variant"] if b_direction == better else a["variant"]
    return {"difference": diff, "ci_low": ci[0], "ci_high": ci[1], "p_value": p, "significant": significant,
            "better": better_variant}


def _winner(metric, comparisons, names):
    """The variant significantly better than every other one on this metric, else None."""
    for name in names:
        theirs = [c for c in comparisons if name in (c["a"], c["b"])]
        if theirs and all(c["metrics"].get(metric, {}).get("better") == name for c in theirs):
            return name
    return None
