"""Issue 20: the span shapes of each library family, built by hand to cover what the real
libraries in test_otlp_libraries.py do not send in one run (older releases' span events,
OpenInference chains, Langfuse's usage names and levels, Basic auth, error types)."""
import base64
import gzip
import json

import pytest
from django.test import Client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                    ExportTraceServiceResponse)

from accounts.services import Actor, api_key_create
from traces.models import Trace

OTLP, LANGFUSE = "/api/v1/otlp/v1/traces", "/api/public/otel/v1/traces"
START = 1_763_800_000_000_000_000


def _set(kv, key, value):
    kv.key = key
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    else:
        kv.value.string_value = value


def export(*spans):
    """spans: dicts of attributes, with optional `_events` [(name, attrs)], `_error` (status message)."""
    message = ExportTraceServiceRequest()
    scope = message.resource_spans.add().scope_spans.add()
    for i, spec in enumerate(spans):
        span = scope.spans.add()
        span.trace_id, span.span_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c"), (i + 1).to_bytes(8, "big")
        span.name, span.start_time_unix_nano, span.end_time_unix_nano = f"span {i}", START, START + 80_000_000
        for key, value in spec.items():
            if not key.startswith("_"):
                _set(span.attributes.add(), key, value)
        for name, attrs in spec.get("_events", []):
            event = span.events.add()
            event.name = name
            for key, value in attrs.items():
                _set(event.attributes.add(), key, value)
        if "_error" in spec:
            span.status.code, span.status.message = 2, spec["_error"]
    return message.SerializeToString()


def send(body, key, path=OTLP, auth=None, **headers):
    response = Client().post(path, data=body, content_type="application/x-protobuf",
                             HTTP_AUTHORIZATION=auth or f"Bearer {key}", **headers)
    parsed = ExportTraceServiceResponse()
    if response.status_code == 200:
        parsed.ParseFromString(response.content)
    return response, parsed.partial_success


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def key(account):
    return api_key_create(account, Actor.system(), scopes=["ingest"])[1]


def stored(account):
    return {t.model.name: t for t in Trace.objects.for_account(account).select_related("model")}


@pytest.mark.django_db
def test_older_releases_span_events_carry_the_text(account, key):
    body = export(
        {"gen_ai.system": "openai", "gen_ai.request.model": "events-model", "_events": [
            ("gen_ai.system.message", {"content": "Be brief."}),
            ("gen_ai.user.message", {"content": "Capital of Peru?"}),
            ("gen_ai.choice", {"index": 0, "finish_reason": "stop",
                               "message": json.dumps({"role": "assistant", "content": "Lima."})})]},
        {"gen_ai.system": "openai", "gen_ai.request.model": "openlit-old", "_events": [
            ("gen_ai.content.prompt", {"gen_ai.prompt": "user: Capital of Chile?"}),
            ("gen_ai.content.completion", {"gen_ai.completion": "Santiago."})]},
    )
    response, partial = send(body, key)
    assert response.status_code == 200 and partial.rejected_spans == 0
    traces = stored(account)
    events = traces["events-model"]
    assert (events.input, events.output) == ("Capital of Peru?", "Lima.")
    assert [m["role"] for m in events.request_payload["messages"]] == ["system", "user"]
    assert events.response_payload["messages"][0]["content"] == "Lima."
    assert (traces["openlit-old"].input, traces["openlit-old"].output) == ("user: Capital of Chile?", "Santiago.")


@pytest.mark.django_db
def test_openinference_llm_spans_stored_chains_skipped_and_rejections_explained(account, key):
    body = export(
        {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.provider": "azure",
         "llm.system": "openai", "llm.token_count.prompt": 30, "llm.token_count.completion": 4,
         "input.value": json.dumps({"messages": [{"role": "user", "content": "Hi there"}]}),
         "output.value": "Hello!", "session.id": "s-1", "user.id": "u-1"},
        {"openinference.span.kind": "CHAIN", "input.value": "Hi there"},  # not a model call
        {"openinference.span.kind": "RETRIEVER"},
        {"http.request.method": "POST"},
        {"openinference.span.kind": "LLM", "llm.system": "openai"},  # a model call without a model
        {"openinference.span.kind": "EMBEDDING", "embedding.model_name": "text-embedding-3-small",
         "llm.token_count.prompt": 5},
    )
    response, partial = send(body, key)
    assert response.status_code == 200
    assert partial.rejected_spans == 1
    assert "span 0af7651916cd43dd8448eb211c80319c-0000000000000005: model" in partial.error_message
    assert "3 span(s) skipped: not model calls" in partial.error_message
    traces = stored(account)
    assert set(traces) == {"gpt-4o", "text-embedding-3-small"}
    llm = traces["gpt-4o"]
    assert (llm.provider, llm.input_tokens, llm.output_tokens, llm.user_id, llm.session_id) == \
        ("azure", 30, 4, "u-1", "s-1")
    assert (llm.input, llm.output, llm.response_time_ms) == ("Hi there", "Hello!", 80)
    assert llm.metadata["llm.system"] == "openai" and "input.value" not in llm.metadata


@pytest.mark.django_db
def test_langfuse_path_basic_auth_gzip_and_attributes(account, other_account, key):
    generation = {
        "langfuse.observation.type": "generation", "langfuse.observation.model.name": "claude-3-5-sonnet",
        "langfuse.observation.usage_details": json.dumps({"input": 21, "output": 9, "total": 30}),
        "langfuse.observation.input": json.dumps([{"role": "user", "content": "Summarise this"}]),
        "langfuse.observation.output": json.dumps({"role": "assistant", "content": "A summary."}),
        "langfuse.observation.completion_start_time": json.dumps("2025-11-22T08:26:40.030000Z"),
        "user.id": "u-9", "session.id": "s-9", "langfuse.trace.name": "summarise",
    }
    failed = {"langfuse.observation.type": "generation", "langfuse.observation.model.name": "gpt-4o",
              "langfuse.observation.level": "ERROR",
              "langfuse.observation.status_message": "Error code: 429 - rate limited"}
    body = gzip.compress(export(generation, failed, {"langfuse.observation.type": "span"}))
    # The user name is ignored: a team keeps its Langfuse public key and sets the secret to an API key.
    response, partial = send(body, key, LANGFUSE, basic("pk-lf-anything", key), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200 and partial.rejected_spans == 0, partial.error_message
    traces = stored(account)
    assert not Trace.objects.for_account(other_account).exists()
    ok, bad = traces["claude-3-5-sonnet"], traces["gpt-4o"]
    assert (ok.provider, ok.input_tokens, ok.output_tokens, ok.status) == ("anthropic", 21, 9, "success")
    assert (ok.input, ok.output, ok.user_id, ok.session_id) == ("Summarise this", "A summary.", "u-9", "s-9")
    assert ok.ttft_ms == pytest.approx(30, abs=0.01)
    assert ok.metadata["langfuse.trace.name"] == "summarise"
    assert (bad.status, bad.error_type, bad.http_status, bad.provider) == ("failure", "rate_limit", 429, "openai")
    # Bearer works on that path too, and JSON bodies as on /api/v1/otlp.
    response = Client().post(LANGFUSE, data=b"{}", content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200 and response.json() == {}


@pytest.mark.django_db
def test_basic_auth_refusals_are_clear(account, key):
    body = export({"gen_ai.request.model": "m"})
    for auth in ("Basic !!!", "Basic", basic("pk", "mp_00000000_wrong"), "Basic " + base64.b64encode(key.encode()).decode()):
        response, _ = send(body, key, LANGFUSE, auth)
        assert response.status_code == 401 and "API key" in response.json()["message"], auth
    read_only = api_key_create(account, Actor.system(), scopes=["read"])[1]
    response, _ = send(body, key, LANGFUSE, basic("pk", read_only))
    assert response.status_code == 403 and "ingest" in response.json()["message"]
    response, _ = send(body, key, OTLP, basic("pk", key))  # Basic is accepted on the v1 path too
    assert response.status_code == 200
    assert not Trace.objects.for_account(account).exclude(model__name="m").exists()


@pytest.mark.django_db
def test_error_types_user_and_session_from_every_naming(account, key):
    body = export(
        {"gen_ai.request.model": "timeout", "error.type": "openai.APITimeoutError", "_error": "Request timed out."},
        {"gen_ai.request.model": "status-429", "error.type": "APIStatusError", "_error": "",
         "_events": [("exception", {"exception.type": "anthropic.APIStatusError",
                                    "exception.message": "Error code: 429 - {'type': 'rate_limit_error'}"})]},
        {"gen_ai.request.model": "status-503", "_error": "",
         "_events": [("exception", {"exception.type": "openai.InternalServerError",
                                    "exception.message": "Error code: 503 - overloaded"})]},
        {"gen_ai.request.model": "traceloop", "traceloop.association.properties.user_id": "u-t",
         "traceloop.association.properties.session_id": "s-t", "gen_ai.server.time_to_first_token": 0.125},
        {"gen_ai.request.model": "conversation", "gen_ai.conversation.id": "conv-3", "gen_ai.request.user": "u-r"},
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},  # agent step: skipped
    )
    response, partial = send(body, key)
    assert partial.rejected_spans == 0 and "1 span(s) skipped" in partial.error_message
    traces = stored(account)
    assert (traces["timeout"].error_type, traces["timeout"].http_status) == ("timeout", None)
    assert (traces["status-429"].error_type, traces["status-429"].http_status) == ("rate_limit", 429)
    assert (traces["status-503"].error_type, traces["status-503"].http_status) == ("llm_error", 503)
    assert (traces["traceloop"].user_id, traces["traceloop"].session_id, traces["traceloop"].ttft_ms) == \
        ("u-t", "s-t", 125)
    assert (traces["conversation"].user_id, traces["conversation"].session_id) == ("u-r", "conv-3")


ODD_VALUES = [("list", None), ("kvlist", None), (True, None), (1.5e300, None), (-7, None), ("x" * 300, None),
              ("{\"messages\": 5}", None), ("[1, null, {\"role\": 3}]", None)]
KNOWN_KEYS = [
    "gen_ai.request.model", "gen_ai.provider.name", "gen_ai.usage.input_tokens", "gen_ai.input.messages",
    "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.server.time_to_first_token",
    "http.response.status_code", "user.id", "session.id", "error.type", "llm.model_name",
    "llm.invocation_parameters", "llm.token_count.prompt", "input.value", "output.value",
    "langfuse.observation.model.name", "langfuse.observation.usage_details", "langfuse.observation.input",
    "langfuse.observation.completion_start_time", "langfuse.observation.level",
]


def _odd_span(scope, index, dialect, key, value):
    span = scope.spans.add()
    span.trace_id, span.span_id = b"\x01" * 16, index.to_bytes(8, "big")
    span.start_time_unix_nano, span.end_time_unix_nano = START, START + 1
    span.status.code = 2
    for k, v in ({"openinference.span.kind": "LLM"} if dialect == "oi" else
                 {"langfuse.observation.type": "generation"} if dialect == "lf" else {"gen_ai.system": "x"}).items():
        _set(span.attributes.add(), k, v)
    kv = span.attributes.add()
    kv.key = key
    if value == "list":
        kv.value.array_value.values.add().string_value = "a"
    elif value == "kvlist":
        inner = kv.value.kvlist_value.values.add()
        inner.key, inner.value.int_value = "role", 1
    else:
        _set(kv, key, value)
    event = span.events.add()
    event.name = "exception"
    _set(event.attributes.add(), "exception.message", str(value))


@pytest.mark.django_db
def test_odd_attribute_values_never_fail_the_request(account, key):
    """Every known name with every kind of value: each span is stored or rejected with a reason."""
    message = ExportTraceServiceRequest()
    scope = message.resource_spans.add().scope_spans.add()
    index = 0
    for dialect in ("genai", "oi", "lf"):
        for name in KNOWN_KEYS:
            for value, _ in ODD_VALUES:
                index += 1
                _odd_span(scope, index, dialect, name, value)
    response, partial = send(message.SerializeToString(), key)
    assert response.status_code == 200
    assert Trace.objects.for_account(account).count() + partial.rejected_spans == index
