"""I1/I6/I7: the REST ingestion contract of API.md, hostile input, redaction."""
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from accounts.models import Role
from models_registry.models import Connection, Deployment, DeploymentVersion, Model, ModelPrice
from traces.models import DirtyBucket, RedactionRule, Trace

URL = "/api/v1/traces/ingest"
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def trace(i=0, **overrides):
    item = {"request_id": f"r-{i}", "executed_at": (NOW - timedelta(minutes=i)).isoformat(), "model": "gpt-4o",
            "status": "success", "response_time_ms": 100 + i}
    item.update(overrides)
    return item


def post(client, items=None, raw=None, content_type="application/json"):
    body = raw if raw is not None else json.dumps({"traces": items})
    return client.post(URL, data=body, content_type=content_type)


@pytest.fixture
def api(account, key_client):
    return key_client(account, ["ingest"])


def test_accepts_a_batch_and_stores_every_field(account, api):
    item = trace(0, model_type="fine_tuned", base_model="llama-3", deployment="support", version="v4",
                 source_type="workflow", source="ticket-triage", module="Support", feature="Chatbot",
                 prompt="p-123", prompt_version="3", user_id="u1", session_id="s1", http_status=200,
                 ttft_ms=35.5, queue_time_ms=3, network_time_ms=7.25, input_tokens=120, output_tokens=45,
                 cost_usd=0.0123, credits=1.5, cache_hit=True, input="hello", output="hi there",
                 request_payload={"messages": [{"role": "user", "content": "hello"}]},
                 response_payload={"choices": [1, 2]}, metadata={"region": "eu"})
    response = post(api, [item])
    assert response.status_code == 200 and response.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    t = Trace.objects.for_account(account).get(request_id="r-0")
    assert t.executed_at == NOW and t.model.name == "gpt-4o" and t.model_type == "fine_tuned"
    assert (t.deployment.name, t.version.version, t.source_type, t.source, t.module, t.feature) == \
        ("support", "v4", "workflow", "ticket-triage", "Support", "Chatbot")
    assert (t.prompt, t.prompt_version, t.user_id, t.session_id, t.http_status) == ("p-123", "3", "u1", "s1", 200)
    assert (t.ttft_ms, t.queue_time_ms, t.network_time_ms, t.input_tokens, t.output_tokens) == (35.5, 3, 7.25, 120, 45)
    assert t.cost_usd == Decimal("0.0123") and t.credits == Decimal("1.5") and t.cache_hit is True
    assert (t.input, t.output, t.metadata) == ("hello", "hi there", {"region": "eu"})
    assert t.request_payload == {"messages": [{"role": "user", "content": "hello"}]}


def test_partial_failure_is_207_with_index_field_and_message(account, api):
    items = [trace(0), trace(1, response_time_ms=-5), trace(2), {"request_id": "r-3"}, "nope",
             trace(5, status="maybe")]
    response = post(api, items)
    assert response.status_code == 207
    body = response.json()
    assert body["accepted"] == 2 and body["duplicates"] == 0
    errors = {e["index"]: e for e in body["errors"]}
    assert errors[1]["field"] == "response_time_ms" and ">= 0" in errors[1]["message"]
    assert errors[1]["request_id"] == "r-1"
    assert errors[3]["field"] == "executed_at" and errors[3]["message"] == "is required"
    assert errors[4]["field"] == "" and "object" in errors[4]["message"]
    assert errors[5]["field"] == "status"
    assert set(Trace.objects.for_account(account).values_list("request_id", flat=True)) == {"r-0", "r-2"}


def test_duplicates_in_batch_and_on_retry_are_counted_not_failed(account, api):
    response = post(api, [trace(0), trace(1), trace(0, response_time_ms=999)])
    assert response.json() == {"accepted": 2, "duplicates": 1, "errors": []}
    retry = post(api, [trace(0), trace(1), trace(2)])
    assert retry.status_code == 200 and retry.json() == {"accepted": 1, "duplicates": 2, "errors": []}
    assert Trace.objects.for_account(account).count() == 3
    assert Trace.objects.for_account(account).get(request_id="r-0").response_time_ms == 100


def test_unknown_names_register_with_a_bounded_number_of_queries(account, api, django_assert_max_num_queries):
    items = [trace(i, model=f"m-{i % 40}", deployment=f"d-{i % 7}", version=f"v{i % 3}", connection=f"c-{i % 5}",
                   provider="openai") for i in range(400)]
    with django_assert_max_num_queries(40):
        response = post(api, items)
    assert response.json()["accepted"] == 400
    assert Model.objects.for_account(account).count() == 40
    assert Connection.objects.for_account(account).count() == 5
    assert DeploymentVersion.objects.for_account(account).count() == len({(i % 40, i % 7, i % 3) for i in range(400)})
    # The same names again: nothing new is registered.
    post(api, [trace(1000 + i, model=f"m-{i % 40}") for i in range(40)])
    assert Model.objects.for_account(account).count() == 40


def test_cost_from_the_price_in_force_when_absent(account, api):
    model = Model.objects.create(account=account, name="gpt-4o")
    ModelPrice.objects.create(account=account, model=model, effective_from=NOW - timedelta(days=30),
                              input_per_million_usd=Decimal("5"), output_per_million_usd=Decimal("15"))
    ModelPrice.objects.create(account=account, model=model, effective_from=NOW - timedelta(minutes=30),
                              input_per_million_usd=Decimal("2.5"), output_per_million_usd=Decimal("10"))
    post(api, [trace(60, input_tokens=1000, output_tokens=2000),       # an hour ago: old price
               trace(1, input_tokens=1000, output_tokens=2000),        # now: new price
               trace(2, input_tokens=1000, output_tokens=2000, cost_usd=0.5)])
    costs = dict(Trace.objects.for_account(account).values_list("request_id", "cost_usd"))
    assert costs == {"r-60": Decimal("0.035"), "r-1": Decimal("0.0225"), "r-2": Decimal("0.5")}


def test_dirty_hours_are_recorded_with_the_batch(account, api):
    base = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
    post(api, [trace(0, executed_at="2026-11-20T10:59:59+00:00"), trace(1, executed_at="2026-11-20T16:31:00+05:30"),
               trace(2, executed_at="2026-11-20T09:00:00Z")])
    hours = sorted(DirtyBucket.objects.for_account(account).values_list("hour_start", flat=True))
    assert hours == [base - timedelta(hours=1), base, base + timedelta(hours=1)]


HOSTILE = [
    ("NUL byte in text", trace(0, input="a\x00b"), "input", "NUL"),
    ("NUL in request id", trace(0, request_id="r\x00"), "request_id", "NUL"),
    ("NUL inside payload", trace(0, metadata={"k": "v\x00"}), "metadata", "NUL"),
    ("tokens beyond int32", trace(0, input_tokens=2**31), "input_tokens", "<="),
    ("huge number", trace(0, output_tokens=10**40), "output_tokens", ""),
    ("negative latency", trace(0, response_time_ms=-1), "response_time_ms", ">= 0"),
    ("negative cost", trace(0, cost_usd=-0.01), "cost_usd", ">= 0"),
    ("string number", trace(0, input_tokens="12"), "input_tokens", "int"),
    ("bool as number", trace(0, response_time_ms=True), "response_time_ms", "float"),
    ("no offset", trace(0, executed_at="2026-11-20T10:00:00"), "executed_at", "timezone"),
    ("far future", trace(0, executed_at=(NOW + timedelta(days=2)).isoformat()), "executed_at", "future"),
    ("not a date", trace(0, executed_at="yesterday"), "executed_at", ""),
    ("request id too long", trace(0, request_id="x" * 129), "request_id", "length"),
    ("empty request id", trace(0, request_id=""), "request_id", "length"),
    ("bad enum", trace(0, error_type="cosmic_ray", status="failure"), "error_type", ""),
    ("error type on success", trace(0, error_type="timeout"), "error_type", "failures"),
    ("http status range", trace(0, http_status=999), "http_status", "<="),
    ("payload not an object", trace(0, request_payload=[1, 2]), "request_payload", "object"),
]


@pytest.mark.parametrize("name,item,field,words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_items_are_rejected_and_the_rest_stored(account, api, name, item, field, words):
    response = post(api, [item, trace(7)])
    assert response.status_code == 207, response.content
    (error,) = response.json()["errors"]
    assert error["index"] == 0 and error["field"] == field and words in error["message"], error
    assert list(Trace.objects.for_account(account).values_list("request_id", flat=True)) == ["r-7"]


def test_deep_nesting_is_rejected_per_item(account, api):
    deep = {}
    node = deep
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    response = post(api, [trace(0, metadata=deep), trace(1)])
    assert response.json()["errors"][0]["field"] == "metadata" and "deeper" in response.json()["errors"][0]["message"]
    assert response.json()["accepted"] == 1


def test_nan_and_infinity_literals_are_rejected_per_item(account, api):
    raw = '{"traces": [%s, %s, %s]}' % (
        json.dumps(trace(0)).replace('"response_time_ms": 100', '"response_time_ms": NaN'),
        json.dumps(trace(1)).replace('"response_time_ms": 101', '"response_time_ms": Infinity'),
        json.dumps(trace(2)))
    response = post(api, raw=raw)
    assert response.status_code == 207
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "response_time_ms"),
                                                                          (1, "response_time_ms")]
    assert response.json()["accepted"] == 1


def test_invalid_utf8_is_rejected_per_item(account, api):
    good = json.dumps(trace(1)).encode()
    bad = json.dumps(trace(0, input="PLACEHOLDER")).encode().replace(b"PLACEHOLDER", b"caf\xe9 \xff")
    response = post(api, raw=b'{"traces": [' + bad + b", " + good + b"]}")
    assert response.status_code == 207
    (error,) = response.json()["errors"]
    assert error["field"] == "input" and "UTF-8" in error["message"]
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize("raw,status,words", [
    ("not json", 400, "JSON"), ("", 400, "JSON"), ("[]", 400, "traces"), ('{"traces": {}}', 400, "traces"),
    ('{"trace": []}', 400, "traces"), ("[" * 100000, 400, "JSON"),
])
def test_malformed_bodies_are_400(api, raw, status, words):
    response = post(api, raw=raw)
    assert response.status_code == status and words in response.json()["message"]


def test_more_than_1000_items_is_413(api):
    response = post(api, [trace(i) for i in range(1001)])
    assert response.status_code == 413 and "1000" in response.json()["message"]


def test_over_10_mib_is_413_from_content_length(api):
    response = post(api, [trace(0, input="x" * (10 * 1024 * 1024))])
    assert response.status_code == 413


def test_empty_batch_is_fine(api):
    assert post(api, []).json() == {"accepted": 0, "duplicates": 0, "errors": []}


def test_scopes_roles_and_rate_limit(account, key_client, member_of, session_client, settings):
    assert post(key_client(account, ["read"]), [trace(0)]).status_code == 403
    assert post(session_client(member_of(account, Role.VIEWER), account), [trace(0)]).status_code == 403
    assert post(session_client(member_of(account, Role.MEMBER), account), [trace(0)]).status_code == 200
    settings.INGEST_RATE_LIMIT_PER_MINUTE = 2
    limited = key_client(account, ["ingest"])
    assert post(limited, [trace(1)]).status_code == 200
    assert post(limited, [trace(2)]).status_code == 200
    response = post(limited, [trace(3)])
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 60
    # Another key has its own budget.
    assert post(key_client(account, ["ingest"]), [trace(4)]).status_code == 200


def test_redaction_rules_apply_before_storage(account, api, member_of, session_client):
    admin = session_client(member_of(account, Role.ADMIN), account)
    for body in [{"kind": "email"}, {"kind": "phone"}, {"kind": "card"},
                 {"kind": "regex", "pattern": r"ACCT-\d+", "replacement": "[ACCOUNT]"}]:
        assert admin.post("/api/v1/redaction-rules", body, format="json").status_code == 201
    bad = admin.post("/api/v1/redaction-rules", {"kind": "regex", "pattern": "(unclosed"}, format="json")
    assert bad.status_code == 400 and "pattern" in bad.json()["errors"]
    text = "mail ana@example.com or +1 (415) 555-0132, card 4111 1111 1111 1111, ref ACCT-991"
    post(api, [trace(0, input=text, output=text, request_payload={"m": [text]})])
    t = Trace.objects.for_account(account).get()
    expected = ("mail [REDACTED:email] or [REDACTED:phone], card [REDACTED:card], ref [ACCOUNT]")
    assert t.input == expected and t.output == expected and t.request_payload == {"m": [expected]}


def test_no_text_is_stored_when_the_account_says_so(account, api):
    account.store_text = False
    account.save()
    post(api, [trace(0, input="secret", output="secret", request_payload={"a": 1}, response_payload={"b": 2})])
    t = Trace.objects.for_account(account).get()
    assert (t.input, t.output, t.request_payload, t.response_payload) == (None, None, None, None)


def test_a_key_writes_only_into_its_own_account(account, other_account, key_client):
    post(key_client(other_account, ["ingest"]), [trace(0, model="theirs")])
    assert not Trace.objects.for_account(account).exists()
    assert not Model.objects.for_account(account).filter(name="theirs").exists()
    assert Trace.objects.for_account(other_account).count() == 1
