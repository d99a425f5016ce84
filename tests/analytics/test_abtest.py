"""D11: A/B test results equal scipy on the raw rows — two-proportion test (as a 2×2 chi-square
without correction), Mann–Whitney U (asymptotic) for latency, Welch's t-test and interval for
latency means and cost — for prompts, prompt versions and versions of a deployment, over ranges
that cut hours, in Asia/Kolkata; a winner only when significant."""
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy import stats

from accounts.models import Role
from analytics.params import selection_from_query
from analytics.rollups import rollup_process_dirty
from analytics.screens.abtest import ab_test
from traces.models import Trace
from traces.services import trace_ingest_batch

UTC = timezone.utc
START = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)

# prompt -> (failure share, latency lognormal mu, cost mean)
PROMPTS = {"checkout-a": (0.06, 6.6, 0.020), "checkout-b": (0.03, 6.45, 0.015), "checkout-c": (0.058, 6.6, 0.0201)}


def generate(account, seed=3):
    rng = random.Random(seed)
    items = []
    for i in range(4200):
        prompt = rng.choice(list(PROMPTS))
        fail, mu, cost = PROMPTS[prompt]
        at = START + timedelta(seconds=rng.uniform(0, 5 * 86400))
        failed = rng.random() < fail
        item = {"request_id": f"ab-{i}", "executed_at": at.isoformat(), "model": "llama-ft",
                "status": "failure" if failed else "success", "prompt": prompt,
                "prompt_version": rng.choice(["1", "2"]) if prompt == "checkout-a" else "1",
                # Whole milliseconds: many ties, which the rank test must handle.
                "response_time_ms": float(round(rng.lognormvariate(mu, 0.5))),
                "cost_usd": round(max(0.0, rng.gauss(cost, 0.006)), 6),
                "model_type": "fine_tuned", "deployment": "prod", "version": rng.choice(["v1", "v2"])}
        if failed:
            item["error_type"] = "timeout"
        items.append(item)
    for i in range(0, len(items), 1000):
        assert not trace_ingest_batch(account, items[i:i + 1000], now=START + timedelta(days=6)).errors
    while rollup_process_dirty():
        pass


def raw(account, start, end, by, value, **filters):
    lookups = {"prompt": "prompt", "prompt_version": "prompt_version", "version": "version__version",
               "deployment": "deployment__name"}
    qs = Trace.objects.for_account(account).filter(executed_at__gte=start, executed_at__lt=end,
                                                   **{lookups[by]: value},
                                                   **{lookups[k]: v for k, v in filters.items()})
    rows = list(qs.values_list("status", "response_time_ms", "cost_usd"))
    return {"ok": np.array([s == "success" for s, _, _ in rows]), "x": np.array([x for _, x, _ in rows]),
            "c": np.array([float(c or 0) for _, _, c in rows])}


def check_pair(pair, a, b):
    m = pair["metrics"]
    # Success rate: the pooled two-proportion z-test is the 2×2 chi-square without continuity correction.
    table = [[a["ok"].sum(), (~a["ok"]).sum()], [b["ok"].sum(), (~b["ok"]).sum()]]
    assert m["success_rate"]["p_value"] == pytest.approx(stats.chi2_contingency(table, correction=False)[1],
                                                         rel=1e-9)
    pa, pb = a["ok"].mean(), b["ok"].mean()
    assert m["success_rate"]["difference"] == pytest.approx(100 * (pb - pa), rel=1e-12)
    half = 1.959963984540054 * np.sqrt(pa * (1 - pa) / len(a["ok"]) + pb * (1 - pb) / len(b["ok"]))
    assert (m["success_rate"]["ci_low"], m["success_rate"]["ci_high"]) == \
        pytest.approx((100 * (pb - pa - half), 100 * (pb - pa + half)), rel=1e-9)
    # Latency: Mann–Whitney U of a, asymptotic with tie and continuity corrections; Welch interval.
    mw = stats.mannwhitneyu(a["x"], b["x"], method="asymptotic", use_continuity=True, alternative="two-sided")
    assert m["latency_ms"]["u_statistic"] == pytest.approx(mw.statistic, rel=1e-12)
    assert m["latency_ms"]["p_value"] == pytest.approx(mw.pvalue, rel=1e-7, abs=1e-300)
    for metric, key in (("latency_ms", "x"), ("cost_per_request_usd", "c")):
        welch = stats.ttest_ind(b[key], a[key], equal_var=False)
        ci = welch.confidence_interval(0.95)
        assert m[metric]["difference"] == pytest.approx(b[key].mean() - a[key].mean(), rel=1e-9, abs=1e-12)
        assert (m[metric]["ci_low"], m[metric]["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-6, abs=1e-12)
        if metric == "cost_per_request_usd":
            assert m[metric]["p_value"] == pytest.approx(welch.pvalue, rel=1e-6, abs=1e-300)
    for metric, result in m.items():
        assert result["significant"] == (result["p_value"] < pair["alpha"])
        assert (result["better"] is None) == (not result["significant"])


@pytest.fixture
def kolkata(make_account):
    account = make_account("abtests", tz="Asia/Kolkata")
    generate(account)
    return account


RANGES = [  # [start, end): cutting hours in Kolkata (hours start at :30 UTC), and whole local days
    (START + timedelta(minutes=17), START + timedelta(days=4, hours=5, minutes=41)),
    (START + timedelta(hours=20, minutes=30), START + timedelta(days=3, hours=20, minutes=30)),
]


@pytest.mark.parametrize("start,end", RANGES)
def test_prompts_equal_scipy_on_the_raw_rows(kolkata, start, end):
    sel = selection_from_query(kolkata, {"start": start.isoformat(), "end": end.isoformat()})
    names = list(PROMPTS)
    result = ab_test(sel, "prompt", names)
    data = {n: raw(kolkata, start, end, "prompt", n) for n in names}
    for row in result["variants"]:
        d = data[row["variant"]]
        assert row["requests"] == len(d["ok"]) and row["successes"] == int(d["ok"].sum())
        assert row["success_rate"] == pytest.approx(100 * d["ok"].mean(), abs=1e-4)
        assert row["avg_latency_ms"] == pytest.approx(d["x"].mean(), rel=1e-12)
        assert row["p95_latency_ms"] == pytest.approx(np.quantile(d["x"], 0.95, method="inverted_cdf"), rel=0.011)
    assert len(result["comparisons"]) == 3
    for pair in result["comparisons"]:
        assert pair["alpha"] == pytest.approx(0.05 / 3)
        check_pair(pair, data[pair["a"]], data[pair["b"]])
    # B is faster and cheaper than A and C by design; C and A differ only by noise.
    ac = next(p for p in result["comparisons"] if (p["a"], p["b"]) == ("checkout-a", "checkout-c"))
    assert not ac["metrics"]["cost_per_request_usd"]["significant"]
    assert result["winners"]["cost_per_request_usd"] == "checkout-b"
    assert result["winners"]["latency_ms"] == "checkout-b"
    for metric, winner in result["winners"].items():
        if winner is not None:
            assert all(p["metrics"][metric]["better"] == winner for p in result["comparisons"]
                       if winner in (p["a"], p["b"]))


def test_prompt_versions_and_deployment_versions(kolkata):
    start, end = RANGES[0]
    sel = selection_from_query(kolkata, {"start": start.isoformat(), "end": end.isoformat(), "prompt": "checkout-a"})
    result = ab_test(sel, "prompt_version", ["1", "2"])
    check_pair(result["comparisons"][0], raw(kolkata, start, end, "prompt_version", "1", prompt="checkout-a"),
               raw(kolkata, start, end, "prompt_version", "2", prompt="checkout-a"))
    # Two halves of one population: no winner on anything.
    assert result["winners"] == {"success_rate": None, "latency_ms": None, "cost_per_request_usd": None}
    sel = selection_from_query(kolkata, {"start": start.isoformat(), "end": end.isoformat(), "deployment": "prod"})
    result = ab_test(sel, "version", ["v1", "v2"])
    assert result["comparisons"][0]["alpha"] == 0.05
    check_pair(result["comparisons"][0], raw(kolkata, start, end, "version", "v1", deployment="prod"),
               raw(kolkata, start, end, "version", "v2", deployment="prod"))


def test_endpoint_errors_and_empty_variants(kolkata, session_client):
    client = session_client(kolkata.memberships.get(role=Role.OWNER).user, kolkata)
    url = "/api/v1/analytics/ab-test"
    bad = [({"variants": "checkout-a"}, "variants"), ({"variants": "a,a"}, "variants"),
           ({"variants": "a,b,c,d"}, "variants"), ({"variants": "a,b", "by": "colour"}, "by"),
           ({"variants": "v1,v2", "by": "version"}, "deployment"),
           ({"variants": "v1,v9", "by": "version", "deployment": "prod"}, "variants"),
           ({"variants": "a,b", "start": "yesterday"}, "start")]
    for params, field in bad:
        r = client.get(url, params)
        assert r.status_code == 400 and field in r.json()["errors"], (params, r.status_code, r.content[:200])
    r = client.get(url, {"variants": "checkout-a,nothing-here", "start": "2026-11-02", "end": "2026-11-05"})
    assert r.status_code == 200
    body = r.json()
    assert body["variants"][1]["requests"] == 0 and body["comparisons"][0]["metrics"] == {}
    assert body["winners"]["success_rate"] is None
