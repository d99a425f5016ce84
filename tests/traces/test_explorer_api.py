"""X1–X4: the trace list (every column filter and operator, AND/OR, m:s:ms, search, keyset pages,
tenancy), one trace in full, and the summary. The data helpers are shared with the export tests."""
import re
from datetime import datetime, timedelta, timezone

from traces.services import feedback_record, trace_ingest_batch

NOW = datetime.now(timezone.utc).replace(microsecond=0)
SOURCES = ["ticket-bot", "crm_sync", "Billing 100%", "ticket-bot", "nightly-eval"]
SOURCE_TYPES = ["workflow", "prompt", "api_key", "agent", "other"]
RESPONSE_TIMES = [250.0, 1250.4, 1250.0, 1251.0, 61000.0, 999.9, 30500.0, 1249.99]
VERSIONS = ["v1", "v2", "v10", None]


def item(i, **overrides):
    hosted = i % 3 != 0
    version = VERSIONS[i % 4] if hosted else None
    base = {
        "request_id": f"req-{i:03d}", "executed_at": (NOW - timedelta(hours=3 * i + 1)).isoformat(),
        "model": "support-llama-ft" if hosted else "gpt-4o",
        "model_type": "fine_tuned" if hosted else "external",
        "status": "failure" if i % 5 == 0 else "success",
        "response_time_ms": RESPONSE_TIMES[i % len(RESPONSE_TIMES)],
        "source_type": SOURCE_TYPES[i % len(SOURCE_TYPES)], "source": SOURCES[i % len(SOURCES)],
        "input": f"Question {i}: how do I get a refund for order #{1000 + i}?" if i % 2 else f"Question {i}: reset password",
        "output": f"Answer {i}: open Settings → Billing." if i % 4 else f"Answer {i}: REFUND approved",
        "input_tokens": 10 + i, "output_tokens": 5 + i, "credits": 0.5 if hosted else None,
        "user_id": f"user-{i % 7}",
    }
    if hosted:
        base.update(deployment="support-prod", base_model="llama-3.1-8b")
        if version:
            base["version"] = version
    else:
        base.update(connection="openai-prod", provider="openai")
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def ingest_world(account, n=40, **overrides):
    items = [item(i, **overrides) for i in range(n)]
    result = trace_ingest_batch(account, items)
    assert not result.errors, result.errors
    return items


def with_feedback(account, request_id):
    feedback_record(account, {"request_id": request_id, "rating": 4, "thumbs": "up", "comment": "helpful"})


# -- the tests -------------------------------------------------------------------------------

import math  # noqa: E402
from urllib.parse import parse_qs, urlparse  # noqa: E402

import pytest  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import Role  # noqa: E402
from traces.explorer.filters import format_duration, parse_duration  # noqa: E402
from traces.explorer.query import page_cursor  # noqa: E402
from traces.models import Trace  # noqa: E402

URL = "/api/v1/traces"


@pytest.fixture
def world(account):
    return ingest_world(account)


@pytest.fixture
def api(account, key_client):
    return key_client(account, ["read"])


def ids(response):
    assert response.status_code == 200, response.content
    return [row["request_id"] for row in response.json()["results"]]


def get_all(client, params, page_size=500):
    response = client.get(URL, {**params, "page_size": page_size})
    return ids(response)


def newest_first(items):
    return [i["request_id"] for i in sorted(items, key=lambda i: i["executed_at"], reverse=True)]


def test_lists_newest_first_with_the_ingestion_names(world, api):
    response = api.get(URL)
    body = response.json()
    assert set(body) == {"results", "next", "previous"} and body["next"] is None and body["previous"] is None
    assert ids(response) == newest_first(world)
    row = body["results"][0]
    src = next(i for i in world if i["request_id"] == row["request_id"])
    for key in ("model", "model_type", "status", "source_type", "source", "response_time_ms", "input_tokens",
                "output_tokens", "user_id", "input", "output"):
        assert row[key] == src[key], key
    assert "request_payload" not in row and "metadata" not in row and "id" not in row
    assert (row["deployment"], row["version"], row["connection"]) == (None, None, "openai-prod")
    hosted = body["results"][1]  # req-001
    assert (hosted["deployment"], hosted["version"], hosted["connection"]) == ("support-prod", "v2", None)


def test_default_range_is_the_last_30_days(account, api, world):
    ingest_world(account, n=1, request_id="old-one", executed_at=(NOW - timedelta(days=31)).isoformat())
    assert "old-one" not in get_all(api, {})
    assert "old-one" in get_all(api, {"preset": "all_time"})
    assert "old-one" in get_all(api, {"start": (NOW - timedelta(days=40)).date().isoformat()})
    assert get_all(api, {"preset": "last_30d"}) == newest_first(world)


def test_metrics_filters_status_and_sort(world, api):
    assert get_all(api, {"model": "gpt-4o"}) == newest_first([i for i in world if i["model"] == "gpt-4o"])
    assert get_all(api, {"version": "v10"}) == newest_first([i for i in world if i.get("version") == "v10"])
    assert get_all(api, {"connection": "openai-prod", "status": "failure"}) == newest_first(
        [i for i in world if i.get("connection") == "openai-prod" and i["status"] == "failure"])
    assert get_all(api, {"sort": "executed_at"}) == list(reversed(newest_first(world)))
    assert get_all(api, {"model": "no-such-model"}) == []


def expected(world, column, op, value):
    def match(i):
        if column == "response_time":
            v, rt = parse_duration(value, "x"), i["response_time_ms"]
            shown = math.floor(rt)
            return {"eq": shown == v, "ne": shown != v, "gt": shown > v, "lt": shown < v, "gte": shown >= v,
                    "lte": shown <= v}[op]
        actual = i.get(column) or ""
        if op == "contains":
            return value.lower() in actual.lower()
        return (actual == value) if op == "eq" else (actual != value)
    return [i for i in world if match(i)]


CASES = [
    ("status", "eq", "failure"), ("status", "ne", "failure"), ("status", "eq", "success"),
    ("request_id", "eq", "req-007"), ("request_id", "ne", "req-007"), ("request_id", "contains", "-01"),
    ("response_time", "eq", "0:1:250"), ("response_time", "ne", "0:1:250"), ("response_time", "gt", "0:1:250"),
    ("response_time", "lt", "0:1:250"), ("response_time", "gte", "0:1:250"), ("response_time", "lte", "0:1:250"),
    ("response_time", "gt", "1:0:0"), ("response_time", "lte", "0:0:999"),
    ("version", "eq", "v1"), ("version", "ne", "v1"), ("version", "contains", "V1"),
    ("source_type", "eq", "api_key"), ("source_type", "ne", "workflow"), ("source_type", "contains", "PROMPT"),
    ("source", "eq", "ticket-bot"), ("source", "ne", "ticket-bot"), ("source", "contains", "BOT"),
    ("source", "contains", "100%"), ("source", "contains", "_"),
]


@pytest.mark.parametrize("column,op,value", CASES, ids=[f"{c}-{o}-{v}" for c, o, v in CASES])
def test_every_column_filter_and_operator(world, api, column, op, value):
    want = newest_first(expected(world, column, op, value))
    got = get_all(api, {"filter": f"{column}:{op}:{value}"})
    assert got == want
    assert 0 < len(got) < len(world) or (column, op) in {("source", "contains")}, "the case should discriminate"


def test_listed_values_accept_their_labels(world, api):
    assert get_all(api, {"filter": "status:eq:Failed"}) == get_all(api, {"filter": "status:eq:failure"})
    assert get_all(api, {"filter": "source_type:eq:API Key"}) == get_all(api, {"filter": "source_type:eq:api_key"})
    assert get_all(api, {"filter": "source_type:eq:Prompts"}) == newest_first(
        [i for i in world if i["source_type"] == "prompt"])


def test_filters_join_by_and_or_by_or(world, api):
    a = {i["request_id"] for i in expected(world, "status", "eq", "failure")}
    b = {i["request_id"] for i in expected(world, "response_time", "gt", "0:30:0")}
    both = get_all(api, {"filter": ["status:eq:failure", "and:response_time:gt:0:30:0"]})
    assert set(both) == a & b and both
    implicit = get_all(api, {"filter": ["status:eq:failure", "response_time:gt:0:30:0"]})
    assert implicit == both
    either = get_all(api, {"filter": ["status:eq:failure", "or:response_time:gt:0:30:0"]})
    assert set(either) == a | b and len(either) > len(a)
    three = get_all(api, {"filter": ["source:eq:crm_sync", "or:source:eq:nightly-eval", "or:request_id:eq:req-000"]})
    assert set(three) == {i["request_id"] for i in world
                          if i["source"] in ("crm_sync", "nightly-eval") or i["request_id"] == "req-000"}


def test_mixing_and_with_or_is_a_400_that_says_so(world, api):
    response = api.get(URL, {"filter": ["status:eq:failure", "or:source:eq:crm_sync", "and:request_id:contains:1"]})
    assert response.status_code == 400
    body = response.json()
    assert "not both" in body["errors"]["filter"][0] and "AND" in body["errors"]["filter"][0]
    # Leaving out the join means AND, so it mixes with an explicit OR too.
    response = api.get(URL, {"filter": ["status:eq:failure", "or:source:eq:crm_sync", "request_id:contains:1"]})
    assert response.status_code == 400


@pytest.mark.parametrize("step,reason", [
    ("response_time:gt:1:2", "m:s:ms"),
    ("response_time:gt:0:75:0", "seconds must be 0–59"),
    ("response_time:gt:a:b:c", "m:s:ms"),
    ("response_time:contains:0:1:0", "does not apply to response_time"),
    ("status:contains:fail", "does not apply to status"),
    ("status:eq:maybe", "status must be one of"),
    ("source_type:eq:robot", "source type must be one of"),
    ("colour:eq:red", "unknown column"),
    ("source:like:x", "unknown operator"),
    ("source:eq:", "value is required"),
    ("source", "column:operator:value"),
    ("xor:source:eq:a", "unknown column"),
])
def test_bad_filters_are_400_with_the_step_and_reason(world, api, step, reason):
    response = api.get(URL, {"filter": ["status:eq:success", step] if step != "source" else step})
    assert response.status_code == 400, response.content
    message = response.json()["errors"]["filter"][0]
    assert reason in message, message
    assert message.startswith("step ")


def test_durations_parse_and_print_as_m_s_ms():
    assert parse_duration("0:1:250", "x") == 1250
    assert parse_duration("2:05:007", "x") == 125007
    assert parse_duration(" 10:0:0 ", "x") == 600000
    assert format_duration(61000) == "1:01:000" and format_duration(1250.9) == "0:01:250"


@pytest.mark.parametrize("params,field", [
    ({"page_size": "0"}, "page_size"), ({"page_size": "501"}, "page_size"), ({"page_size": "ten"}, "page_size"),
    ({"cursor": "garbage"}, "cursor"), ({"sort": "request_id"}, "sort"), ({"status": "ok"}, "status"),
    ({"preset": "forever"}, "preset"), ({"preset": "today", "start": "2026-01-01"}, "preset"),
    ({"start": "yesterday"}, "start"), ({"start": "2026-02-01", "end": "2026-01-01"}, "end"),
    ({"search": "x" * 201}, "search"), ({"model": "m" * 201}, "model"),
])
def test_bad_parameters_are_400_naming_the_field(world, api, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()


def test_search_by_request_id_or_text(account, other_account, world, api):
    assert get_all(api, {"search": "req-017"}) == ["req-017"]
    assert get_all(api, {"search": "REQ-01"}) == newest_first([i for i in world if "req-01" in i["request_id"]])
    refund = [i for i in world if "refund" in (i["input"] + " " + i["output"]).lower()]
    assert get_all(api, {"search": "Refund"}) == newest_first(refund) and len(refund) > 5
    assert get_all(api, {"search": "#1013"}) == ["req-013"]
    assert get_all(api, {"search": "Billing."}) == newest_first([i for i in world if "Billing." in i["output"]])
    assert get_all(api, {"search": "100%"}) == []  # % is a character, not a wildcard
    # Another account's identical text never appears.
    ingest_world(other_account, n=5)
    assert set(get_all(api, {"search": "Question"})) == {i["request_id"] for i in world}
    # Search combines with filters.
    assert get_all(api, {"search": "refund", "filter": "status:eq:failure"}) == newest_first(
        [i for i in refund if i["status"] == "failure"])


def test_search_text_is_the_trigram_index_expression(account, world):
    """The explorer's search expression must be the index's, or every search reads the account's rows."""
    from traces.explorer.query import SEARCH_TEXT

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if not cur.fetchone()[0]:
            # An embedded server without contrib extensions: no index, search still answers (above).
            cur.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'trace_search_trgm'")
            assert cur.fetchone()[0] == 0
            return
        cur.execute("SET LOCAL enable_seqscan = off")
        # Without the account condition only the trigram index can serve the query.
        cur.execute(f"EXPLAIN SELECT t.id FROM traces_trace t WHERE {SEARCH_TEXT} ILIKE %s", ["%refund%"])
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "trace_search_trgm" in plan, plan


def test_pages_walk_forwards_and_back_without_gaps_or_repeats(account, api):
    # 237 traces, many sharing a timestamp, so the id tie-break matters.
    items = [item(i, request_id=f"p-{i:04d}", executed_at=(NOW - timedelta(minutes=i // 3)).isoformat())
             for i in range(237)]
    assert not trace_ingest_batch(account, items).errors
    order = list(Trace.objects.for_account(account).order_by("-executed_at", "-id")
                 .values_list("request_id", flat=True))
    for sort, want in (("-executed_at", order), ("executed_at", order[::-1])):
        pages, url = [], f"{URL}?page_size=10&sort={sort}"
        while url:
            body = api.get(url).json()
            pages.append([r["request_id"] for r in body["results"]])
            url = body["next"]
            assert url is None or urlparse(url).path == URL
        assert len(pages) == 24 and [r for p in pages for r in p] == want
        # And back from the last page with the previous links.
        back, url = [], f"{URL}?{urlparse(api.get(f'{URL}?page_size=10&sort={sort}').json()['next']).query}"
        body = api.get(url).json()
        assert [r["request_id"] for r in body["results"]] == pages[1]
        first = api.get(body["previous"]).json()
        assert [r["request_id"] for r in first["results"]] == pages[0] and first["previous"] is None


def test_previous_links_rebuild_every_page(account, api):
    items = [item(i, request_id=f"q-{i:03d}") for i in range(45)]
    trace_ingest_batch(account, items)
    url, forwards = f"{URL}?page_size=7&filter=status:eq:success", []
    while True:
        body = api.get(url).json()
        forwards.append(([r["request_id"] for r in body["results"]], body["previous"]))
        if not body["next"]:
            break
        url = body["next"]
    backwards = [forwards[-1][0]]
    url = forwards[-1][1]
    while url:
        body = api.get(url).json()
        backwards.append([r["request_id"] for r in body["results"]])
        url = body["previous"]
    assert backwards[::-1] == [page for page, _ in forwards]
    assert parse_qs(urlparse(forwards[1][1]).query)["filter"] == ["status:eq:success"]


def test_new_traces_never_shift_a_walk(account, api, world):
    first = api.get(URL, {"page_size": 10}).json()
    trace_ingest_batch(account, [item(900 + k, request_id=f"late-{k}",
                                      executed_at=(NOW + timedelta(minutes=1)).isoformat()) for k in range(3)])
    second = api.get(first["next"]).json()
    assert [r["request_id"] for r in second["results"]] == newest_first(world)[10:20]


def test_one_trace_in_full(account, api, world):
    trace_ingest_batch(account, [item(500, request_id="full/1", request_payload={"model": "x", "messages": [1]},
                                      response_payload={"choices": [{"text": "ok"}]}, metadata={"region": "eu"},
                                      http_status=200, ttft_ms=12.5, cost_usd=0.25)])
    with_feedback(account, "full/1")
    response = api.get(f"{URL}/full/1")
    assert response.status_code == 200
    body = response.json()
    assert body["request_payload"] == {"model": "x", "messages": [1]}
    assert body["response_payload"] == {"choices": [{"text": "ok"}]} and body["metadata"] == {"region": "eu"}
    assert body["feedback"]["rating"] == 4 and body["feedback"]["comment"] == "helpful"
    assert body["base_model"] == "llama-3.1-8b" and body["deployment"] == "support-prod"
    assert body["model_label"] == f"support-llama-ft:{body['version']}" and body["cost_usd"] == 0.25
    assert body["input"] == item(500)["input"] and "id" not in body
    external = api.get(f"{URL}/req-003").json()
    assert external["connection"] == "openai-prod" and external["model_label"] == "gpt-4o (openai-prod)"
    assert external["feedback"] is None


def test_long_text_is_cut_in_lists_and_whole_in_the_detail(account, api):
    long_text = "lorem ipsum " * 200
    trace_ingest_batch(account, [item(1, request_id="long", input=long_text)])
    row = api.get(URL).json()["results"][0]
    assert row["input_truncated"] is True and len(row["input"]) == 500 and long_text.startswith(row["input"])
    assert row["output_truncated"] is False
    assert api.get(f"{URL}/long").json()["input"] == long_text


def test_tenancy_and_scopes(account, other_account, world, api, key_client, session_client, member_of):
    trace_ingest_batch(other_account, [item(1, request_id="theirs-1")])
    other = key_client(other_account, ["read"])
    assert get_all(other, {}) == ["theirs-1"]
    assert other.get(f"{URL}/req-001").status_code == 404
    assert api.get(f"{URL}/theirs-1").status_code == 404
    assert api.get(f"{URL}/no-such-trace").status_code == 404
    assert key_client(account, ["ingest"]).get(URL).status_code == 403
    viewer = session_client(member_of(account, Role.VIEWER), account)
    assert ids(viewer.get(URL, {"page_size": 500})) == newest_first(world)
    outsider = session_client(other_account.memberships.get(role=Role.OWNER).user, account)
    assert outsider.get(URL).status_code == 404 and outsider.get(f"{URL}/req-001").status_code == 404


def test_summary_of_the_selected_model_and_period(account, api, world):
    from analytics.rollups import rollup_process_dirty

    while rollup_process_dirty():  # what beat does every minute
        pass
    hosted = [i for i in world if i["model"] == "support-llama-ft"]
    body = api.get("/api/v1/explorer/summary", {"model": "support-llama-ft", "preset": "last_30d"}).json()
    metrics = body["metrics"]
    assert body["preset"] == "last_30d" and body["filters"] == {"model": "support-llama-ft"}
    assert metrics["total_requests"] == len(hosted)
    failed = sum(1 for i in hosted if i["status"] == "failure")
    assert metrics["failed_requests"] == failed and metrics["failure_rate"] == pytest.approx(100 * failed / len(hosted), abs=1e-4)
    assert metrics["hosting_credits"] == pytest.approx(0.5 * len(hosted))
    # The same percentiles as the dashboards' metrics for the same selection.
    dashboard = api.get("/api/v1/metrics", {"model": "support-llama-ft", "start": body["period"]["start"],
                                            "end": body["period"]["end"]}).json()["metrics"]
    assert metrics["p90_response_time_ms"] == dashboard["p90_latency_ms"]
    assert metrics["p99_response_time_ms"] == dashboard["p99_latency_ms"]
    times = sorted(i["response_time_ms"] for i in hosted)
    assert times[0] <= metrics["p90_response_time_ms"] <= metrics["p99_response_time_ms"] <= times[-1] * 1.01
    external = api.get("/api/v1/explorer/summary", {"model": "gpt-4o"}).json()["metrics"]
    assert external["hosting_credits"] is None and external["total_requests"] == len(world) - len(hosted)
    assert api.get("/api/v1/explorer/summary", {"preset": "never"}).status_code == 400


def _plan_of_the_page(api, params):
    """The JSON plan of the statement that read the page's traces."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert api.get(URL, params).status_code == 200
    page = [q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]
            and "traces_trace" in q["sql"]]
    assert len(page) == 1, [q["sql"][:120] for q in queries.captured_queries]
    # Explained under the settings the product reads the page with.
    with page_cursor(one="MATERIALIZED" in page[0]) as cur:
        cur.execute("EXPLAIN (FORMAT JSON) " + page[0])
        plan = cur.fetchone()[0]
    return plan[0]["Plan"] if isinstance(plan, list) else __import__("json").loads(plan)[0]["Plan"]


def _nodes(node):
    """The plan's nodes; a partition of traces_trace (traces_trace_pYYYYMM) and its indexes
    (<index>_pYYYYMM) are named as the partitioned table and index they belong to."""
    node = {**node, **{key: re.sub(r"_p\d{6}$", "", node[key]) for key in ("Relation Name", "Index Name")
                       if node.get(key)}}
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


@pytest.mark.parametrize("params", [{}, {"feature": "x"}, {"filter": "status:eq:failure"},
                                    {"model": "gpt-4o", "source": "crm_sync"}])
def test_first_page_limits_traces_before_joining_names_whatever_the_statistics(account, other_account, api, params):
    """Statistics taken before a bulk load say the account has no traces; the page must still
    be a walk of the account's index under a LIMIT, with the registry joined to those rows."""
    ingest_world(other_account, n=30)
    with connection.cursor() as cur:
        cur.execute("ANALYZE traces_trace")
    ingest_world(account, n=300)
    plan = _plan_of_the_page(api, params)
    limits = [n for n in _nodes(plan) if n["Node Type"] == "Limit"]
    assert limits, plan
    below = {n.get("Relation Name") for n in _nodes(limits[-1])} - {None}
    assert below == {"traces_trace"}, below
    assert not [n for n in _nodes(limits[-1]) if n["Node Type"] in ("Sort", "Hash", "Seq Scan")], limits[-1]
    above = {n.get("Relation Name") for n in _nodes(plan)} - below - {None}
    assert "models_registry_model" in above


def test_search_for_a_request_id_reads_its_matches_not_the_time_index(account, world, api):
    assert get_all(api, {"search": "req-017"}) == ["req-017"]
    plan = _plan_of_the_page(api, {"search": "req-017"})
    scans = {n.get("Index Name") for n in _nodes(plan) if n.get("Relation Name") == "traces_trace"}
    assert "trace_account_time" not in scans, scans
