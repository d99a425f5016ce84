"""Decision 0006: the partial hours at the edges of a range come from minute totals and
minute slices when every trace of those minutes is rolled up, and from raw traces
otherwise (traces ingested or feedback given since the last pass, days retention cut
into). Every figure equals the raw rows in Asia/Kolkata, whichever way it was read."""
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from analytics.models import MinuteSlice, MinuteTotal
from analytics.selectors.metrics import Selection, _edge_splitter, _plan
from tests.analytics.test_metrics_exact import assert_matches, expected, generate, roll_all
from traces.models import Trace
from traces.services import feedback_record

UTC = timezone.utc
KOLKATA = ZoneInfo("Asia/Kolkata")
# Both ends cut a local hour (:30 UTC in Kolkata) and a minute.
START, END = "2026-11-20T04:47:13Z", "2026-11-21T21:12:41Z"
FILTERS = ({}, {"feature": "Chatbot"}, {"model": "claude"}, {"model": "claude", "feature": "Search"})


@pytest.fixture
def busy(make_account):
    account = make_account("edges", tz="Asia/Kolkata")
    generate(account, datetime(2026, 11, 19, 22, 0, tzinfo=UTC), hours=26, n=4000, seed=21)
    roll_all()
    return account


def _bounds():
    return datetime.fromisoformat(START), datetime.fromisoformat(END)


def _sources(account, filters, keys=()):
    s, e = _bounds()
    sel = Selection(account, s, e, dict(filters))
    return [source for source, _, _ in _plan(sel, True, _edge_splitter(sel, keys))]


def _check_everything(account, api):
    s, e = _bounds()
    traces = list(Trace.objects.for_account(account).filter(executed_at__gte=s, executed_at__lt=e)
                  .select_related("model"))
    for filters in FILTERS:
        body = api.get("/api/v1/metrics", {"start": START, "end": END, **filters}).json()
        assert_matches(body["metrics"], expected(account, s, e, **filters))
    rows = api.get("/api/v1/metrics/breakdown", {"start": START, "end": END, "by": "model"}).json()["rows"]
    for row in rows:
        mine = [t for t in traces if t.model.name == row["key"]]
        assert_matches(row, expected(account, s, e, model=row["key"]))
        assert row["peak_rpm"] == max(Counter(int(t.executed_at.timestamp() // 60) for t in mine).values())
    series = api.get("/api/v1/metrics/timeseries", {"start": START, "end": END, "granularity": "hour",
                                                    "feature": "Search"}).json()["points"]
    by_hour = Counter()
    for t in traces:
        if t.feature == "Search":
            local = t.executed_at.astimezone(KOLKATA).replace(minute=0, second=0, microsecond=0)
            by_hour[local.astimezone(UTC)] += 1
    assert {datetime.fromisoformat(p["period"]): p["total_requests"] for p in series} == dict(by_hour)


def test_edges_read_minute_rows_and_equal_the_raw_rows(busy, key_client):
    assert MinuteTotal.objects.filter(account=busy).count() > 1000
    assert MinuteSlice.objects.filter(account=busy, slice="feature").exists()
    # Totals and one sliced dimension read whole minutes; two dimensions stay raw.
    assert _sources(busy, {}) == ["raw", "minute", "hourly", "daily", "hourly", "minute", "raw"]
    assert "minute" in _sources(busy, {"feature": "Chatbot"})
    assert "minute" not in _sources(busy, {"model": "claude", "feature": "Search"})
    _check_everything(busy, key_client(busy, ["read"]))


def test_traces_and_feedback_since_the_last_pass_count_at_once(busy, key_client):
    """Nothing rolled up after these writes: the marked minutes onwards are read raw."""
    api = key_client(busy, ["read"])
    s, _ = _bounds()
    generate(busy, s + timedelta(minutes=10), hours=0.2, n=90, seed=22, prefix="since")
    old = Trace.objects.for_account(busy).filter(executed_at__gte=s + timedelta(minutes=8),
                                                 executed_at__lt=s + timedelta(minutes=15)) \
        .exclude(request_id__startswith="since").first()
    feedback_record(busy, {"request_id": old.request_id, "rating": 5, "accepted": True})
    assert _sources(busy, {})[:2] == ["raw", "minute"]  # the whole minutes before the first new trace
    _check_everything(busy, api)
    roll_all()
    assert _sources(busy, {})[:2] == ["raw", "minute"]
    _check_everything(busy, api)


def test_days_retention_cut_into_read_their_edges_raw(busy, key_client):
    """Retention leaves a day it cut into as it was; such a day may lack minute rows (built
    before them), so its edges are raw, and the result is still the raw rows."""
    s, e = _bounds()
    busy.traces_deleted_before = s - timedelta(hours=1)
    busy.save(update_fields=["traces_deleted_before"])
    day_end = datetime(2026, 11, 20, 18, 30, tzinfo=UTC)  # the end of that local day
    MinuteTotal.objects.filter(account=busy, minute_start__lt=day_end).delete()
    MinuteSlice.objects.filter(account=busy, minute_start__lt=day_end).delete()
    assert _sources(busy, {})[:2] == ["raw", "hourly"]
    _check_everything(busy, key_client(busy, ["read"]))


def test_minute_rows_belong_to_their_account(busy, make_account, key_client):
    other = make_account("edges-other", tz="Asia/Kolkata")
    generate(other, datetime(2026, 11, 20, 4, 0, tzinfo=UTC), hours=2, n=300, seed=23, prefix="other")
    roll_all()
    s, e = _bounds()
    api = key_client(busy, ["read"])
    assert_matches(api.get("/api/v1/metrics", {"start": START, "end": END}).json()["metrics"], expected(busy, s, e))
    mine = MinuteTotal.objects.filter(account=other)
    assert sum(r.requests for r in mine) == 300


def test_day_user_hours_hold_each_users_local_hours(busy):
    """DayUserHours: bit i of a user's hours is set when the user made a request in the
    day's local hour i; the account's row and each feature's row equal the raw rows."""
    from analytics.models import DayUserHours

    day = datetime(2026, 11, 20).date()
    start = datetime(2026, 11, 20, tzinfo=KOLKATA)
    expected_hours = {}
    for t in Trace.objects.for_account(busy).filter(executed_at__gte=start, executed_at__lt=start + timedelta(days=1)):
        bit = 1 << int((t.executed_at - start).total_seconds() // 3600)
        for key in (("", ""), ("feature", t.feature)):
            users = expected_hours.setdefault(key, {})
            users[t.user_id] = users.get(t.user_id, 0) | bit
    rows = DayUserHours.objects.filter(account=busy, day=day, slice__in=["", "feature"])
    got = {(r.slice, r.feature): dict(zip(r.user_ids, r.hours)) for r in rows}
    assert got == expected_hours and len(got) == 1 + 3


SKETCH_CASES = [({}, ()), ({}, ("day",)), ({"feature": "Chatbot"}, ()), ({}, ("model",)),
                ({"model": "claude", "feature": "Search"}, ()), ({}, ("model", "feature"))]


def test_merged_sketches_equal_the_sketch_of_the_raw_rows(busy):
    """Days, running sketches of partial days, minute arrays and raw edges merge into exactly
    the sketch of the raw latencies and TTFTs (bucket by bucket), for totals, slices and pairs."""
    from analytics import sketch
    from analytics.selectors.metrics import COLUMN_OF, _collect

    s, e = _bounds()
    rows = list(Trace.objects.for_account(busy).filter(executed_at__gte=s, executed_at__lt=e).select_related("model"))
    for filters, keys in SKETCH_CASES:
        got = _collect(Selection(busy, s, e, dict(filters)), keys)
        expected = {}
        for t in rows:
            if filters.get("feature", t.feature) != t.feature or filters.get("model", t.model.name) != t.model.name:
                continue
            key = tuple(t.executed_at.astimezone(KOLKATA).date() if k == "day" else getattr(t, COLUMN_OF.get(k, k))
                        for k in keys)
            latency, ttft = expected.setdefault(key, (Counter(), Counter()))
            latency[sketch.bucket_of(t.response_time_ms)] += 1
            if t.ttft_ms is not None:
                ttft[sketch.bucket_of(t.ttft_ms)] += 1
        assert {k: (+agg.latency, +agg.ttft) for k, agg in got.items()} == expected, (filters, keys)
