"""A3/A4: every range is exact — metrics from rollups + raw edges equal an independent
computation over the raw rows (statistics over the traces), for many ranges and filters,
in Asia/Kolkata and across a DST change in America/New_York."""
import math
import random
import statistics
import threading
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from analytics.models import DailyRollup, DailySlice, HourlyRollup
from analytics.rollups import rollup_process_dirty
from traces.models import Feedback, Trace
from traces.services import feedback_record, trace_ingest_batch

UTC = timezone.utc
MODELS = ["gpt-4o", "claude", "llama-ft"]
FEATURES = ["Chatbot", "Summarizer", "Search"]


def generate(account, start, hours, n, seed, prefix="t"):
    rng = random.Random(seed)
    items = []
    for i in range(n):
        at = start + timedelta(seconds=rng.uniform(0, hours * 3600))
        model = rng.choice(MODELS)
        failed = rng.random() < 0.1
        item = {
            "request_id": f"{prefix}-{seed}-{i}", "executed_at": at.isoformat(), "model": model,
            "status": "failure" if failed else "success", "response_time_ms": round(rng.lognormvariate(6.5, 0.8), 3),
            "feature": rng.choice(FEATURES), "prompt": rng.choice(["p1", "p2"]), "user_id": f"u{rng.randint(1, 60)}",
            "input_tokens": rng.randint(0, 3000), "output_tokens": rng.randint(0, 800),
            "cost_usd": round(rng.uniform(0, 0.05), 6), "credits": round(rng.uniform(0, 2), 4),
            "ttft_ms": round(rng.uniform(5, 400), 3), "cache_hit": rng.random() < 0.2,
            "http_status": rng.choice([429, 500, 503, 400]) if failed else 200,
        }
        if model == "llama-ft":
            item.update(model_type="fine_tuned", deployment="prod", version=rng.choice(["v1", "v2"]))
        if failed:
            item["error_type"] = rng.choice(["timeout", "rate_limit", "llm_error", "validation", "system", "network"])
        items.append(item)
    for i in range(0, n, 1000):
        result = trace_ingest_batch(account, items[i:i + 1000], now=start + timedelta(hours=hours + 1))
        assert not result.errors
    for item in rng.sample(items, n // 5):
        feedback_record(account, {"request_id": item["request_id"], "rating": rng.randint(1, 5),
                                  "accepted": rng.random() < 0.6, "task_success": rng.random() < 0.7})
    return items


def roll_all():
    while rollup_process_dirty():
        pass


def expected(account, start, end, **filters):
    qs = Trace.objects.for_account(account).filter(executed_at__gte=start, executed_at__lt=end)
    lookups = {"model": "model__name", "feature": "feature", "prompt": "prompt", "deployment": "deployment__name",
               "version": "version__version"}
    qs = qs.filter(**{lookups[k]: v for k, v in filters.items()})
    rows = list(qs.values("request_id", "status", "response_time_ms", "ttft_ms", "input_tokens", "output_tokens",
                          "cost_usd", "credits", "user_id", "cache_hit", "error_type"))
    ratings = dict(Feedback.objects.for_account(account).filter(rating__isnull=False)
                   .values_list("request_id", "rating"))
    n = len(rows)
    latencies = sorted(r["response_time_ms"] for r in rows)
    ok = sum(r["status"] == "success" for r in rows)
    rated = [ratings[r["request_id"]] for r in rows if r["request_id"] in ratings]
    return {
        "total_requests": n, "successful_requests": ok, "failed_requests": n - ok,
        "input_tokens": sum(r["input_tokens"] for r in rows), "output_tokens": sum(r["output_tokens"] for r in rows),
        "total_cost_usd": sum((r["cost_usd"] for r in rows), Decimal(0)),
        "total_credits": sum((r["credits"] for r in rows), Decimal(0)),
        "avg_latency_ms": statistics.fmean(latencies) if latencies else None,
        "active_users": len({r["user_id"] for r in rows}),
        "timeouts": sum(r["error_type"] == "timeout" for r in rows),
        "cache_hits": sum(bool(r["cache_hit"]) for r in rows),
        "avg_rating": statistics.fmean(rated) if rated else None,
        "latencies": latencies,
    }


def assert_matches(got, exp):
    for key in ("total_requests", "successful_requests", "failed_requests", "input_tokens", "output_tokens",
                "active_users"):
        assert got[key] == exp[key], (key, got[key], exp[key])
    assert Decimal(str(got["total_cost_usd"])) == exp["total_cost_usd"].normalize() or \
        math.isclose(got["total_cost_usd"], float(exp["total_cost_usd"]), rel_tol=1e-12)
    assert math.isclose(got["total_credits"], float(exp["total_credits"]), rel_tol=1e-12)
    assert got["failures_by_type"]["timeout"] == exp["timeouts"]
    n = exp["total_requests"]
    if not n:
        assert got["p50_latency_ms"] is None and got["avg_latency_ms"] is None
        return
    assert math.isclose(got["avg_latency_ms"], exp["avg_latency_ms"], rel_tol=1e-9)
    if exp["avg_rating"] is not None:
        assert math.isclose(got["avg_rating"], exp["avg_rating"], rel_tol=1e-12)
    for q, key in ((0.5, "p50_latency_ms"), (0.9, "p90_latency_ms"), (0.95, "p95_latency_ms"),
                   (0.99, "p99_latency_ms")):
        exact = exp["latencies"][math.floor(q * (n - 1))]
        assert abs(got[key] - exact) <= 0.01 * exact + 1e-9, (key, got[key], exact)


@pytest.fixture
def kolkata(make_account):
    account = make_account("kol", tz="Asia/Kolkata")
    generate(account, datetime(2026, 11, 10, 3, 10, tzinfo=UTC), hours=24 * 5, n=1500, seed=1)
    roll_all()
    return account


RANGES = [
    ("2026-11-11", "2026-11-13"),                                   # whole local days
    ("2026-11-11T05:17:00Z", "2026-11-13T13:45:30Z"),               # cuts hours at both ends
    ("2026-11-12", "2026-11-12"),                                   # a single local day
    ("2026-11-12T07:05:00+05:30", "2026-11-12T07:55:00+05:30"),     # inside one hour: raw only
    ("2026-11-10T00:00:00Z", "2026-11-16T00:00:00Z"),               # everything, with empty edges
    ("2026-11-11T18:30:00Z", "2026-11-12T18:30:00Z"),               # exactly one Kolkata day in UTC terms
]
FILTERS = [{}, {"model": "gpt-4o"}, {"feature": "Chatbot"}, {"model": "claude", "feature": "Search"},
           {"prompt": "p2"}, {"deployment": "prod", "version": "v2"}, {"model": "no-such-model"}]


def _bounds(account, start, end):
    tz = ZoneInfo(account.timezone)
    s = datetime.fromisoformat(start) if "T" in start else datetime.fromisoformat(start).replace(tzinfo=tz)
    e = datetime.fromisoformat(end) if "T" in end else (datetime.fromisoformat(end) + timedelta(days=1)).replace(tzinfo=tz)
    return s, e


@pytest.mark.parametrize("start,end", RANGES)
def test_summary_is_exact_for_ranges_and_filters(kolkata, key_client, start, end):
    api = key_client(kolkata, ["read"])
    s, e = _bounds(kolkata, start, end)
    for filters in FILTERS:
        response = api.get("/api/v1/metrics", {"start": start, "end": end, **filters})
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["filters"] == filters and body["as_of"]
        assert_matches(body["metrics"], expected(kolkata, s, e, **filters))


def test_prompt_id_alias_and_empty_selection(kolkata, key_client):
    api = key_client(kolkata, ["read"])
    a = api.get("/api/v1/metrics", {"start": "2026-11-11", "end": "2026-11-12", "prompt_id": "p1"}).json()
    b = api.get("/api/v1/metrics", {"start": "2026-11-11", "end": "2026-11-12", "prompt": "p1"}).json()
    assert a["metrics"] == b["metrics"] and a["filters"] == {"prompt": "p1"}
    empty = api.get("/api/v1/metrics", {"start": "2025-01-01", "end": "2025-01-02"}).json()["metrics"]
    assert empty["total_requests"] == 0 and empty["p99_latency_ms"] is None and empty["success_rate"] == 0.0


def test_timeseries_points_are_local_periods_and_exact(kolkata, key_client):
    api = key_client(kolkata, ["read"])
    tz = ZoneInfo("Asia/Kolkata")
    daily = api.get("/api/v1/metrics/timeseries", {"start": "2026-11-11T05:17:00Z", "end": "2026-11-14T09:40:00Z"})
    body = daily.json()
    assert body["granularity"] == "day"
    rows = Trace.objects.for_account(kolkata).filter(
        executed_at__gte=datetime(2026, 11, 11, 5, 17, tzinfo=UTC), executed_at__lt=datetime(2026, 11, 14, 9, 40,
                                                                                            tzinfo=UTC))
    by_day = {}
    for t in rows:
        by_day.setdefault(t.executed_at.astimezone(tz).date().isoformat(), []).append(t)
    assert [p["period"] for p in body["points"]] == sorted(by_day)
    for point in body["points"]:
        traces = by_day[point["period"]]
        assert point["total_requests"] == len(traces)
        assert point["input_tokens"] == sum(t.input_tokens for t in traces)
    hourly = api.get("/api/v1/metrics/timeseries", {"start": "2026-11-12", "end": "2026-11-12"}).json()
    assert hourly["granularity"] == "hour"
    starts = [datetime.fromisoformat(p["period"]) for p in hourly["points"]]
    assert all(s.astimezone(tz).minute == 0 for s in starts)  # local hours: :30 UTC in Kolkata
    assert sum(p["total_requests"] for p in hourly["points"]) == \
        expected(kolkata, *_bounds(kolkata, "2026-11-12", "2026-11-12"))["total_requests"]


def test_breakdown_by_feature_and_model(kolkata, key_client):
    api = key_client(kolkata, ["read"])
    params = {"start": "2026-11-11T05:17:00Z", "end": "2026-11-13T13:45:30Z"}
    s, e = _bounds(kolkata, params["start"], params["end"])
    for by in ("feature", "model"):
        rows = api.get("/api/v1/metrics/breakdown", {**params, "by": by}).json()["rows"]
        assert {r["key"] for r in rows} == set(FEATURES if by == "feature" else MODELS)
        for row in rows:
            assert_matches(row, expected(kolkata, s, e, **{by: row["key"]}))
    assert api.get("/api/v1/metrics/breakdown", {**params, "by": "colour"}).status_code == 400


def test_one_dimension_reads_come_from_daily_slices_and_stay_exact(kolkata, key_client):
    """Breakdowns by (and filters on) only the model, the feature or the prompt read the
    daily slices; they equal the raw rows, also after late data changes a day."""
    day = date(2026, 11, 12)
    for name, column in (("model_id", "model_id"), ("deployment_id", "deployment_id"), ("feature", "feature"),
                         ("prompt", "prompt")):
        sliced = {getattr(r, column): r.requests for r in DailySlice.objects.filter(account=kolkata, day=day,
                                                                                      slice=name)}
        full = {}
        for r in DailyRollup.objects.filter(account=kolkata, day=day):
            full[getattr(r, column)] = full.get(getattr(r, column), 0) + r.requests
        assert sliced == full and sum(sliced.values()) > 0
    api = key_client(kolkata, ["read"])
    params = {"start": "2026-11-10T20:05:00Z", "end": "2026-11-14T02:41:00Z"}
    s, e = _bounds(kolkata, params["start"], params["end"])
    generate(kolkata, datetime(2026, 11, 12, 4, 0, tzinfo=UTC), hours=3, n=120, seed=11, prefix="slice-late")
    roll_all()
    rows = api.get("/api/v1/metrics/breakdown", {**params, "by": "prompt"}).json()["rows"]
    assert {r["key"] for r in rows} == {"p1", "p2"}
    per_minute = Counter((t.prompt, int(t.executed_at.timestamp() // 60)) for t in
                         Trace.objects.for_account(kolkata).filter(executed_at__gte=s, executed_at__lt=e))
    for row in rows:
        assert_matches(row, expected(kolkata, s, e, prompt=row["key"]))
        assert row["peak_rpm"] == max(n for (prompt, _), n in per_minute.items() if prompt == row["key"])
    # Deployment: external models have none, a group of its own in the slices and bitmaps.
    traces = list(Trace.objects.for_account(kolkata).filter(executed_at__gte=s, executed_at__lt=e))
    rows = api.get("/api/v1/metrics/breakdown", {**params, "by": "deployment"}).json()["rows"]
    assert {r["deployment_id"] for r in rows} == {t.deployment_id for t in traces} and len(rows) == 2
    for row in rows:
        mine = [t for t in traces if t.deployment_id == row["deployment_id"]]
        minutes = Counter(int(t.executed_at.timestamp() // 60) for t in mine)
        assert (row["total_requests"], row["active_users"], row["peak_rpm"]) == \
            (len(mine), len({t.user_id for t in mine}), max(minutes.values()))
    series = api.get("/api/v1/metrics/timeseries", {**params, "feature": "Search"}).json()["points"]
    assert sum(p["total_requests"] for p in series) == expected(kolkata, s, e, feature="Search")["total_requests"]


def test_late_data_and_feedback_are_recomputed_exactly(kolkata, key_client):
    api = key_client(kolkata, ["read"])
    generate(kolkata, datetime(2026, 11, 12, 4, 0, tzinfo=UTC), hours=10, n=400, seed=9, prefix="late")
    late = Trace.objects.for_account(kolkata).filter(request_id__startswith="late").first()
    feedback_record(kolkata, {"request_id": late.request_id, "rating": 1})
    roll_all()
    s, e = _bounds(kolkata, "2026-11-11", "2026-11-13")
    assert_matches(api.get("/api/v1/metrics", {"start": "2026-11-11", "end": "2026-11-13"}).json()["metrics"],
                   expected(kolkata, s, e))


def test_dst_change_in_new_york(make_account, key_client):
    account = make_account("nyc", tz="America/New_York")
    generate(account, datetime(2026, 10, 30, 0, 0, tzinfo=UTC), hours=24 * 5, n=2000, seed=4)
    roll_all()
    api = key_client(account, ["read"])
    for start, end in [("2026-10-31", "2026-11-02"), ("2026-11-01", "2026-11-01"),
                       ("2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00")]:
        s, e = _bounds(account, start, end)
        assert_matches(api.get("/api/v1/metrics", {"start": start, "end": end}).json()["metrics"],
                       expected(account, s, e))
    points = api.get("/api/v1/metrics/timeseries", {"start": "2026-10-31", "end": "2026-11-02"}).json()["points"]
    tz = ZoneInfo("America/New_York")
    nov1 = [t for t in Trace.objects.for_account(account) if t.executed_at.astimezone(tz).date().isoformat()
            == "2026-11-01"]
    assert {p["period"]: p["total_requests"] for p in points}["2026-11-01"] == len(nov1)  # a 25-hour day


def test_bad_parameters_are_400_with_the_field(kolkata, key_client):
    api = key_client(kolkata, ["read"])
    for params, field in [({"start": "yesterday"}, "start"), ({"start": "2026-11-12T00:00:00"}, "start"),
                          ({"start": "2026-11-13", "end": "2026-11-12"}, "end"), ({"model": "x\x00"}, "model"),
                          ({"start": "2026-13-45"}, "start"), ({"granularity": "week"}, "granularity")]:
        url = "/api/v1/metrics/timeseries" if "granularity" in params else "/api/v1/metrics"
        response = api.get(url, params)
        assert response.status_code == 400 and field in response.json()["errors"], (params, response.content)


def test_another_accounts_traces_never_count(kolkata, make_account, key_client):
    other = make_account("oth", tz="Asia/Kolkata")
    body = key_client(other, ["read"]).get("/api/v1/metrics", {"start": "2026-11-10", "end": "2026-11-16"}).json()
    assert body["metrics"]["total_requests"] == 0


def test_rows_are_the_same_after_a_second_rollup(kolkata):
    before = sorted(HourlyRollup.objects.for_account(kolkata).values_list("hour_start", "feature", "requests"))
    Trace.objects.for_account(kolkata).values_list("executed_at", flat=True)
    from analytics.rollups import rollup_rebuild_account
    rollup_rebuild_account(kolkata)
    roll_all()
    after = sorted(HourlyRollup.objects.for_account(kolkata).values_list("hour_start", "feature", "requests"))
    assert before == after and DailyRollup.objects.for_account(kolkata).exists()


def test_ninety_days_in_kolkata_with_filters(make_account, key_client):
    """A 90-day range cut inside hours at both ends, read mostly from daily totals and
    daily rows, equals the raw rows — unfiltered and filtered, summary and daily series."""
    account = make_account("quarter", tz="Asia/Kolkata")
    generate(account, datetime(2026, 8, 1, 0, 0, tzinfo=UTC), hours=24 * 100, n=2500, seed=11, prefix="q")
    roll_all()
    client = key_client(account)
    start, end = "2026-08-05T09:41:00Z", "2026-11-03T17:12:30Z"
    s, e = datetime.fromisoformat(start), datetime.fromisoformat(end)
    for filters in ({}, {"model": "llama-ft"}, {"feature": "Search", "prompt": "p1"}):
        body = client.get("/api/v1/metrics", {"start": start, "end": end, **filters}).json()
        assert_matches(body["metrics"], expected(account, s, e, **filters))
    series = client.get("/api/v1/metrics/timeseries", {"start": start, "end": end}).json()
    assert series["granularity"] == "day"
    tz = ZoneInfo("Asia/Kolkata")
    for point in series["points"][:3] + series["points"][-3:]:
        day = datetime.fromisoformat(point["period"]).date()
        lo = max(s, datetime(day.year, day.month, day.day, tzinfo=tz))
        hi = min(e, datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=1))
        assert_matches(point, expected(account, lo, hi))


def test_users_per_value_stay_exact_across_months_after_late_data(make_account, key_client):
    """Distinct users per feature and per deployment over whole days come from one row per
    value and month (SliceMonthUsers). Late data on the two days around a month boundary
    rewrites both months' rows: the other days' users stay, the new ones are added."""
    account = make_account("months", tz="Asia/Kolkata")
    generate(account, datetime(2026, 9, 10, 0, 0, tzinfo=UTC), hours=24 * 45, n=1500, seed=21, prefix="m")
    roll_all()
    client = key_client(account)
    start, end = "2026-09-12", "2026-10-20"
    s, e = _bounds(account, start, end)

    def check():
        for by, key in (("feature", "feature"), ("deployment", "deployment_id")):
            rows = client.get("/api/v1/metrics/breakdown", {"start": start, "end": end, "by": by}).json()["rows"]
            traces = list(Trace.objects.for_account(account).filter(executed_at__gte=s, executed_at__lt=e))
            assert {r[key] for r in rows} == {getattr(t, key) for t in traces}
            for row in rows:
                mine = [t for t in traces if getattr(t, key) == row[key]]
                assert (row["total_requests"], row["active_users"]) == (len(mine), len({t.user_id for t in mine}))

    check()
    generate(account, datetime(2026, 9, 30, 12, 0, tzinfo=UTC), hours=30, n=200, seed=22, prefix="m-late")
    # And users never seen before, on each side of the boundary (local 30 September, 1 October).
    late = [{"request_id": f"new-{i}", "executed_at": at, "model": "gpt-4o", "status": "success",
             "response_time_ms": 100, "feature": feature, "user_id": f"newcomer-{i}"}
            for i, (at, feature) in enumerate([("2026-09-30T20:00:00+05:30", "Search"),
                                               ("2026-10-01T03:00:00+05:30", "Chatbot")])]
    assert not trace_ingest_batch(account, late, now=datetime(2026, 10, 25, tzinfo=UTC)).errors
    roll_all()
    check()


DENSE_RANGES = [("2026-11-20T01:07:00Z", "2026-11-21T22:41:00Z"),      # cuts hours and both local days
                ("2026-11-20T03:30:00Z", "2026-11-21T20:30:00Z"),      # whole Kolkata hours, partial days
                ("2026-11-19T23:59:00+05:30", "2026-11-21T00:01:00+05:30")]


def test_dense_hours_stay_exact_on_partial_days(make_account, key_client):
    """A busy account's shape: many traces an hour from few users and combinations. The
    partial days at the edges read the hours' user sets and partial hours raw; every figure,
    the active users of each local day included, matches the raw rows."""
    account = make_account("dense", tz="Asia/Kolkata")
    generate(account, datetime(2026, 11, 19, 20, 0, tzinfo=UTC), hours=50, n=3000, seed=9)
    roll_all()
    api = key_client(account, ["read"])
    tz = ZoneInfo("Asia/Kolkata")
    for start, end in DENSE_RANGES:
        s, e = _bounds(account, start, end)
        for filters in ({}, {"feature": "Chatbot"}, {"model": "claude", "feature": "Search"}):
            body = api.get("/api/v1/metrics", {"start": start, "end": end, **filters}).json()
            assert_matches(body["metrics"], expected(account, s, e, **filters))
        series = api.get("/api/v1/metrics/timeseries", {"start": start, "end": end, "granularity": "day"}).json()
        users = {}
        for t in Trace.objects.for_account(account).filter(executed_at__gte=s, executed_at__lt=e):
            users.setdefault(t.executed_at.astimezone(tz).date().isoformat(), set()).add(t.user_id)
        assert {p["period"]: p["active_users"] for p in series["points"]} == {d: len(u) for d, u in users.items()}
