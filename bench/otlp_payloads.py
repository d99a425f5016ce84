"""The benchmark's traces as OTLP protobuf export requests (1000 GenAI spans each)."""
from datetime import datetime

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


def _set(span, key, value):
    attr = span.attributes.add()
    attr.key = key
    if isinstance(value, bool):
        attr.value.bool_value = value
    elif isinstance(value, int):
        attr.value.int_value = value
    else:
        attr.value.string_value = str(value)


def encode_batches(items, size=1000):
    bodies = []
    for start in range(0, len(items), size):
        message = ExportTraceServiceRequest()
        resource_spans = message.resource_spans.add()
        _set(resource_spans.resource, "service.name", "bench")
        spans = resource_spans.scope_spans.add()
        for i, item in enumerate(items[start:start + size], start):
            span = spans.spans.add()
            span.trace_id = i.to_bytes(16, "big")
            span.span_id = (i + 1).to_bytes(8, "big")
            span.name = f"chat {item['model']}"
            begin = int(datetime.fromisoformat(item["executed_at"]).timestamp() * 1e9)
            span.start_time_unix_nano = begin
            span.end_time_unix_nano = begin + int(item["response_time_ms"] * 1e6)
            if item["status"] == "failure":
                span.status.code = 2
                _set(span, "error.type", "timeout")
            for key, value in (("gen_ai.provider.name", item["provider"]), ("gen_ai.request.model", item["model"]),
                               ("gen_ai.usage.input_tokens", item["input_tokens"]),
                               ("gen_ai.usage.output_tokens", item["output_tokens"]), ("user.id", item["user_id"]),
                               ("gen_ai.conversation.id", item["session_id"])):
                _set(span, key, value)
        bodies.append(message.SerializeToString())
    return bodies, len(items)
