"""I2: OTLP/HTTP from the real OpenTelemetry SDK and exporter to a live server."""
import gzip
import json
import time

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                    ExportTraceServiceResponse)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from accounts.services import Actor, account_create, api_key_create
from traces.models import Trace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def otel_account(live_server):
    account, _, _ = account_create(slug="otel", name="OTel", owner_email="o@otel.test")
    key = api_key_create(account, Actor.system(), scopes=["ingest"])[1]
    return account, key


def tracer_for(live_server, key, service="checkout-api"):
    exporter = OTLPSpanExporter(endpoint=f"{live_server.url}/api/v1/otlp/v1/traces",
                                headers={"Authorization": f"Bearer {key}"})
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, provider.get_tracer("tests")


def test_sdk_spans_become_traces(live_server, otel_account):
    account, key = otel_account
    provider, tracer = tracer_for(live_server, key)
    with tracer.start_as_current_span("handle request"):  # not a model call: skipped
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attributes({
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 48,
                "gen_ai.usage.cache_read.input_tokens": 64, "gen_ai.response.time_to_first_chunk": 0.25,
                "http.response.status_code": 200, "user.id": "u-7", "gen_ai.conversation.id": "conv-1",
            })
            time.sleep(0.01)
        with tracer.start_as_current_span("completion legacy") as span:  # older attribute names
            span.set_attributes({"gen_ai.system": "anthropic", "gen_ai.request.model": "claude-3-5-sonnet",
                                 "gen_ai.usage.prompt_tokens": 10, "gen_ai.usage.completion_tokens": 5})
        with tracer.start_as_current_span("chat failed") as span:
            span.set_attributes({"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
                                 "error.type": "openai.RateLimitError"})
            span.set_status(Status(StatusCode.ERROR, "429 Too Many Requests"))
    provider.shutdown()

    traces = {t.metadata["span_name"]: t for t in Trace.objects.for_account(account)}
    assert set(traces) == {"chat gpt-4o", "completion legacy", "chat failed"}
    t = traces["chat gpt-4o"]
    assert t.model.name == "gpt-4o-2024-08-06" and t.provider == "openai" and t.source == "checkout-api"
    assert (t.input_tokens, t.output_tokens, t.cache_hit, t.http_status) == (120, 48, True, 200)
    assert t.ttft_ms == 250 and t.user_id == "u-7" and t.session_id == "conv-1"
    assert t.response_time_ms >= 10 and t.status == "success"
    trace_id, span_id = t.request_id.split("-")
    assert len(trace_id) == 32 and len(span_id) == 16 and t.request_id == t.request_id.lower()
    legacy = traces["completion legacy"]
    assert (legacy.model.name, legacy.provider, legacy.input_tokens, legacy.output_tokens) == \
        ("claude-3-5-sonnet", "anthropic", 10, 5)
    failed = traces["chat failed"]
    assert failed.status == "failure" and failed.error_type == "rate_limit"


def _request(spans_attrs, start=1_763_800_000_000_000_000):
    message = ExportTraceServiceRequest()
    rs = message.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "svc"
    spans = rs.scope_spans.add()
    for i, attrs in enumerate(spans_attrs):
        span = spans.spans.add()
        span.trace_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
        span.span_id = (i + 1).to_bytes(8, "big")
        span.name = f"span {i}"
        span.start_time_unix_nano = start
        span.end_time_unix_nano = start + 1_500_000
        for key, value in attrs.items():
            a = span.attributes.add()
            a.key = key
            if isinstance(value, int):
                a.value.int_value = value
            else:
                a.value.string_value = value
    return message


def post(live_server, key, body, content_type="application/x-protobuf", **headers):
    return requests.post(f"{live_server.url}/api/v1/otlp/v1/traces", data=body, timeout=10,
                         headers={"Authorization": f"Bearer {key}", "Content-Type": content_type, **headers})


def test_json_gzip_and_partial_success(live_server, otel_account):
    account, key = otel_account
    message = _request([{"gen_ai.request.model": "m1"}, {"gen_ai.operation.name": "chat"}, {"http.method": "GET"},
                        {"gen_ai.request.model": "m2", "gen_ai.usage.input_tokens": 2**40}])
    from google.protobuf import json_format

    document = json_format.MessageToDict(message)
    for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:  # OTLP JSON ids are hex
        import base64
        span["traceId"] = base64.b64decode(span["traceId"]).hex()
        span["spanId"] = base64.b64decode(span["spanId"]).hex()
    response = post(live_server, key, gzip.compress(json.dumps(document).encode()), "application/json",
                    **{"Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["partialSuccess"]["rejectedSpans"] == "2"  # no model; tokens out of range
    assert "model" in body["partialSuccess"]["errorMessage"]
    (stored,) = Trace.objects.for_account(account)
    assert stored.request_id == "0af7651916cd43dd8448eb211c80319c-0000000000000001"
    assert stored.response_time_ms == 1.5 and stored.source == "svc"
    # Protobuf response for a protobuf request; re-sending stores nothing twice.
    response = post(live_server, key, message.SerializeToString())
    parsed = ExportTraceServiceResponse()
    parsed.ParseFromString(response.content)
    assert parsed.partial_success.rejected_spans == 2
    assert Trace.objects.for_account(account).count() == 1


def test_bad_bodies_and_tenancy(live_server, otel_account):
    account, key = otel_account
    assert post(live_server, key, b"\x0a\xff\xff\xff").status_code == 400
    assert post(live_server, key, b"{", "application/json").status_code == 400
    assert post(live_server, key, b"x", "text/plain").status_code == 415
    assert post(live_server, key, b"not gzip", **{"Content-Encoding": "gzip"}).status_code == 400
    bomb = gzip.compress(b"\0" * (11 * 1024 * 1024))
    assert post(live_server, key, bomb, **{"Content-Encoding": "gzip"}).status_code == 413
    assert post(live_server, "mp_00000000_bad", b"").status_code == 401
    other, _, _ = account_create(slug="other", name="Other", owner_email="o@other.test")
    other_key = api_key_create(other, Actor.system(), scopes=["ingest"])[1]
    post(live_server, other_key, _request([{"gen_ai.request.model": "m1"}]).SerializeToString())
    assert not Trace.objects.for_account(account).exists()
    assert Trace.objects.for_account(other).count() == 1


def test_message_text_and_payloads_are_redacted_like_rest(live_server, otel_account):
    from traces.models import RedactionRule

    account, key = otel_account
    RedactionRule.objects.create(account=account, kind=RedactionRule.Kind.EMAIL)
    sent = [{"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
            {"role": "user", "parts": [{"type": "text", "content": "Mail ann@example.com"}]}]
    received = [{"role": "assistant", "parts": [{"type": "text", "content": "Sent."}], "finish_reason": "stop"}]
    message = _request([
        {"gen_ai.request.model": "m1", "gen_ai.input.messages": json.dumps(sent),
         "gen_ai.output.messages": json.dumps(received)},
        {"gen_ai.request.model": "m2", "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "Hi bob@x.io",
         "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Hello"},
    ])
    message.resource_spans[0].scope_spans[0].spans[1].status.code = 2
    kv = message.resource_spans[0].scope_spans[0].spans[1].attributes.add()
    kv.key, kv.value.string_value = "error.type", "openai.InternalServerError"
    assert post(live_server, key, message.SerializeToString()).status_code == 200
    current, legacy = sorted(Trace.objects.for_account(account), key=lambda t: t.model.name)
    assert current.input == "Mail [REDACTED:email]" and current.output == "Sent."
    assert current.request_payload["messages"][1]["parts"][0]["content"] == "Mail [REDACTED:email]"
    assert current.response_payload == {"messages": received}
    assert "gen_ai.input.messages" not in current.metadata
    assert (legacy.input, legacy.output) == ("Hi [REDACTED:email]", "Hello")
    assert legacy.error_type == "llm_error"
    account.store_text = False
    account.save()
    message.resource_spans[0].scope_spans[0].spans[0].span_id = (9).to_bytes(8, "big")
    post(live_server, key, message.SerializeToString())
    kept = Trace.objects.for_account(account).get(request_id__endswith="0000000000000009")
    assert kept.input is None and kept.request_payload is None
