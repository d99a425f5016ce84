"""Map OpenTelemetry GenAI spans onto ModelPulse's trace fields (API.md, OTLP section).

Current and older semantic-convention names are both accepted. Spans without any
`gen_ai.*` attribute are not model calls: they are skipped and counted.
"""
import json
from datetime import datetime, timezone

STATUS_ERROR = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR

FIRST_OF = {
    "model": ("gen_ai.response.model", "gen_ai.request.model"),
    "provider": ("gen_ai.provider.name", "gen_ai.system"),
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
    "cache_read": ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"),
    "ttft_s": ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token"),
    "http_status": ("http.response.status_code", "http.status_code"),
    "user_id": ("user.id", "enduser.id", "gen_ai.user.id"),
    "session_id": ("gen_ai.conversation.id", "session.id"),
    "prompt": ("gen_ai.prompt.name", "gen_ai.prompt.id"),
    "feature": ("app.feature", "modelpulse.feature"),
    "module": ("app.module", "modelpulse.module"),
}
# Message text goes to input/output and the payloads (redacted), never to metadata.
TEXT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.prompt.", "gen_ai.completion.")
ERROR_TYPES = [  # (substring of error.type, our error_type) — first match wins
    ("timeout", "timeout"), ("timed out", "timeout"), ("429", "rate_limit"), ("ratelimit", "rate_limit"),
    ("rate_limit", "rate_limit"), ("validation", "validation"), ("invalid", "validation"), ("400", "validation"),
    ("internalserver", "llm_error"), ("servererror", "llm_error"), ("apistatus", "llm_error"),
    ("connection", "network"), ("network", "network"), ("dns", "network"), ("api", "llm_error"),
    ("llm", "llm_error"), ("500", "llm_error"), ("502", "llm_error"), ("503", "llm_error"),
]


def attribute_value(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [attribute_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: attribute_value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


def attributes(key_values) -> dict:
    return {kv.key: attribute_value(kv.value) for kv in key_values}


def _first(attrs, names):
    for name in names:
        if attrs.get(name) not in (None, ""):
            return attrs[name]
    return None


def error_type_of(raw) -> str:
    text = str(raw or "").lower()
    for needle, error_type in ERROR_TYPES:
        if needle in text:
            return error_type
    return "system"


def is_genai(attrs: dict) -> bool:
    return any(key.startswith("gen_ai.") for key in attrs)


def _parts_text(message) -> str:
    """The readable text of one GenAI message: its text parts (or a plain `content`)."""
    if isinstance(message.get("content"), str):
        return message["content"]
    parts = message.get("parts") if isinstance(message.get("parts"), list) else []
    return "\n".join(str(p["content"]) for p in parts
                     if isinstance(p, dict) and p.get("type", "text") == "text" and p.get("content") is not None)


def genai_messages(attrs: dict, current: str, legacy: str) -> list:
    """Messages from `gen_ai.input/output.messages` (JSON), else the older indexed attributes."""
    raw = attrs.get(current)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if isinstance(raw, list):
        return [m for m in raw if isinstance(m, dict)]
    messages, index = [], 0
    while f"{legacy}.{index}.content" in attrs or f"{legacy}.{index}.role" in attrs:
        messages.append({"role": attrs.get(f"{legacy}.{index}.role") or "",
                         "content": str(attrs.get(f"{legacy}.{index}.content") or "")})
        index += 1
    return messages


def _add_text(item: dict, attrs: dict):
    """input = the last user message, output = the answer; payloads keep every message.
    Redaction and the account's store-text setting apply at ingestion, as for REST."""
    sent = genai_messages(attrs, "gen_ai.input.messages", "gen_ai.prompt")
    received = genai_messages(attrs, "gen_ai.output.messages", "gen_ai.completion")
    if sent:
        users = [m for m in sent if m.get("role") == "user"] or sent
        item["input"] = _parts_text(users[-1])
        item["request_payload"] = {"messages": sent}
    if received:
        item["output"] = "\n".join(_parts_text(m) for m in received)
        item["response_payload"] = {"messages": received}


def span_to_trace(span, resource_attrs: dict, attrs: dict) -> dict:
    """One GenAI span as an ingestion item (validated afterwards like any REST item)."""
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    item = {
        "request_id": f"{span.trace_id.hex()}-{span.span_id.hex()}",
        "executed_at": datetime.fromtimestamp(start // 1_000_000_000, tz=timezone.utc)
        .replace(microsecond=(start % 1_000_000_000) // 1000).isoformat(),
        "response_time_ms": (end - start) / 1e6 if end >= start else -1.0,
        "status": "failure" if span.status.code == STATUS_ERROR else "success",
        "source": str(resource_attrs.get("service.name") or ""),
        "model": _first(attrs, FIRST_OF["model"]),
    }
    if item["model"] is None:
        item.pop("model")  # reported as a missing field by validation
    provider = _first(attrs, FIRST_OF["provider"])
    if provider:
        item["provider"] = str(provider)
    for field in ("input_tokens", "output_tokens", "http_status"):
        value = _first(attrs, FIRST_OF[field])
        if value is not None:
            item[field] = value
    for field in ("user_id", "session_id", "prompt", "feature", "module"):
        value = _first(attrs, FIRST_OF[field])
        if value is not None:
            item[field] = str(value)
    ttft = _first(attrs, FIRST_OF["ttft_s"])
    if isinstance(ttft, (int, float)) and not isinstance(ttft, bool):
        item["ttft_ms"] = ttft * 1000.0
    cache_read = _first(attrs, FIRST_OF["cache_read"])
    if isinstance(cache_read, int) and not isinstance(cache_read, bool):
        item["cache_hit"] = cache_read > 0
    if item["status"] == "failure":
        item["error_type"] = error_type_of(attrs.get("error.type") or span.status.message)
    _add_text(item, attrs)
    item["metadata"] = {
        "span_name": span.name,
        "parent_span_id": span.parent_span_id.hex() or None,
        **{k: v for k, v in attrs.items() if k.startswith("gen_ai.") and not k.startswith(TEXT_KEYS) and isinstance(v, (str, int, float, bool))},
    }
    return item


def export_request_items(message) -> tuple[list, int]:
    """(ingestion items of the GenAI spans, number of non-GenAI spans skipped)."""
    items, skipped = [], 0
    for resource_spans in message.resource_spans:
        resource_attrs = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attrs = attributes(span.attributes)
                if not is_genai(attrs):
                    skipped += 1
                    continue
                items.append(span_to_trace(span, resource_attrs, attrs))
    return items, skipped
